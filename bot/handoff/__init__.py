"""The handoff between the bot and people: states and their one transition function, handoffs,
claims, the queue's standing, opening hours, auto-assignment, the handoff's context."""
