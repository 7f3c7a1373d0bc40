"""Slack agent desk: which Slack message (channel, ts) shows which handoff.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_desk_messages",
        sa.Column("handoff_id", sa.Integer(), sa.ForeignKey("handoffs.id"), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "ts"),
    )


def downgrade() -> None:
    op.drop_table("slack_desk_messages")
