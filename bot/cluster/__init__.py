"""Several hubs: one typed event bus, per-conversation locks and the leader lease."""
