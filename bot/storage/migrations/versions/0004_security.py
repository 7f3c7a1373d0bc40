"""Web sessions with a server-issued token, verified customers, agent lockout and disabling,
bounded messages (stored length) and the Rasa hand-off bookkeeping that keeps a turn single.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("session", sa.String(128), nullable=False, index=True),
        sa.Column("verified_user", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("address", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("verified_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("email", sa.String(255), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("length", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rasa_sent_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_messages_status", "messages", ["status"])


def downgrade() -> None:
    op.drop_index("ix_messages_status", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("rasa_sent_at")
        batch.drop_column("length")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("email")
        batch.drop_column("verified_id")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("disabled")
    op.drop_table("login_failures")
    op.drop_table("web_sessions")
