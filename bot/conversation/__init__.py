"""The message path: a customer's message stored, routed to Rasa or a person, answered (router),
what is sent outside a turn (outbox), frustration, surveys, the widget's sessions."""
