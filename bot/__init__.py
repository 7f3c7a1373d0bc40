"""The hub: neutral message types, router, storage, Rasa supervision, web app and CLI."""
