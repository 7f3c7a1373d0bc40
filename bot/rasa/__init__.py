"""Rasa as the hub runs it: the HTTP client, the supervised child process, training."""
