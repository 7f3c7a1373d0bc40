"""The agents' inbox: labels on conversations (`conversation_labels`: one row per label, who
added it and when), filtered by label and listed per conversation.

Revision ID: 0009_inbox
Revises: 0008_report_indexes
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_inbox"
down_revision = "0008_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_labels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("label", sa.String(32), nullable=False, index=True),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id", "label", name="uq_conversation_labels"),
    )


def downgrade() -> None:
    op.drop_table("conversation_labels")
