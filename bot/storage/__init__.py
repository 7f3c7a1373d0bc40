"""Persistence: SQLAlchemy 2 (async) models, Alembic migrations and a small repository."""

from bot.storage.db import Database
from bot.storage.models import Conversation, Gap, Message

__all__ = ["Conversation", "Database", "Gap", "Message"]
