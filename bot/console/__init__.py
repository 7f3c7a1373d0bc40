"""The agents' console and API: logins and passwords, the live socket's events and presence, the
inbox, typing, customer profiles and merges, routing profiles."""
