"""The Slack agent desk: agents claim, answer and resolve handoffs from a Slack channel."""
