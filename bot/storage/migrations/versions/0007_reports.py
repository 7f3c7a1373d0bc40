"""Reports and satisfaction surveys: what a rating is about (`kind`: csat after a resolved
handoff, answer after a bot answer, nps), the follow-up comment for low scores, the article a
bot answer rating is about; a handoff resolved without a survey; when a customer was last
surveyed (a customer is surveyed at most once per N days); the time indexes the reports use.

Revision ID: 0007_reports
Revises: 0006_writers
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_reports"
down_revision = "0006_writers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="csat"))
        batch.add_column(sa.Column("comment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("message_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("article_id", sa.String(128), nullable=True))
        batch.create_foreign_key("fk_ratings_message_id", "messages", ["message_id"], ["id"])
        batch.create_index("ix_ratings_kind_created_at", ["kind", "created_at"])
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(
            sa.Column("survey_skipped", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_handoffs_created_at", ["created_at"])
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("last_surveyed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_conversations_created_at", "conversations", ["created_at"])
    op.create_index("ix_messages_created_at", "messages", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_created_at", "messages")
    op.drop_index("ix_conversations_created_at", "conversations")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("last_surveyed_at")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_index("ix_handoffs_created_at")
        batch.drop_column("survey_skipped")
    with op.batch_alter_table("ratings") as batch:
        batch.drop_index("ix_ratings_kind_created_at")
        batch.drop_constraint("fk_ratings_message_id", type_="foreignkey")
        batch.drop_column("article_id")
        batch.drop_column("message_id")
        batch.drop_column("comment")
        batch.drop_column("kind")
