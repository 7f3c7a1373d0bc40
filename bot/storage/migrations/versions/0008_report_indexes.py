"""Reports at scale: the knowledge base's decision and article of a customer message as plain
columns (`messages.kb_decision`, `messages.kb_article`: the article answered, else the first
candidate), copied from the `kb` JSON (existing rows here; new ones by the model whenever `kb`
is set), because parsing the JSON of a million messages takes seconds; and an index that
covers what the reports read of a conversation's messages (who wrote, when, the decision, the
article, the id): PostgreSQL reads it instead of the table.

Revision ID: 0008_report_indexes
Revises: 0007_reports
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_report_indexes"
down_revision = "0007_reports"
branch_labels = None
depends_on = None

BACKFILL = {
    "postgresql": (
        "UPDATE messages SET kb_decision = left(kb ->> 'decision', 16), "
        "kb_article = left(coalesce(kb ->> 'article', kb -> 'candidates' -> 0 ->> 'id'), 128) "
        "WHERE kb IS NOT NULL AND json_typeof(kb) = 'object' AND kb ->> 'decision' <> ''"
    ),
    "sqlite": (
        "UPDATE messages SET kb_decision = substr(json_extract(kb, '$.decision'), 1, 16), "
        "kb_article = substr(coalesce(json_extract(kb, '$.article'), "
        "json_extract(kb, '$.candidates[0].id')), 1, 128) "
        "WHERE json_valid(kb) AND json_type(kb) = 'object' "
        "AND json_extract(kb, '$.decision') <> ''"
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("kb_decision", sa.String(16), nullable=True))
        batch.add_column(sa.Column("kb_article", sa.String(128), nullable=True))
    backfill = BACKFILL.get(op.get_bind().dialect.name)
    if backfill:
        op.execute(backfill)
    op.create_index(
        "ix_messages_report",
        "messages",
        ["conversation_id", "sender", "created_at", "kb_decision", "kb_article", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_messages_report", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("kb_article")
        batch.drop_column("kb_decision")
