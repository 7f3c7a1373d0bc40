"""The writers' page: article drafts built from resolved handoffs, and the history of article
saves (who, when, which fields changed).

Revision ID: 0006_writers
Revises: 0005_gaps
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_writers"
down_revision = "0005_gaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handoff_id", sa.Integer(), sa.ForeignKey("handoffs.id"), unique=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("article_id", sa.String(128), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_as", sa.String(160), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "article_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.String(128), nullable=False, index=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("article_changes")
    op.drop_table("article_drafts")
