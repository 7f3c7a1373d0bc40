"""The gap log that tells the truth: gaps linked to their message, the answer that did not
help and a cluster of gaps asking the same thing; clusters with status and centroid; article
usage events.

Revision ID: 0005_gaps
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_gaps"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gap_clusters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("language", sa.String(16), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("covered_by", sa.String(128), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_gap_clusters_status_count", "gap_clusters", ["status", "count"])
    op.create_table(
        "article_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.String(128), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("conversation_key", sa.String(300), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_article_events_article", "article_events", ["article_id", "language", "kind"]
    )
    with op.batch_alter_table("gaps") as batch:
        batch.add_column(sa.Column("message_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("article_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("cluster_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_gaps_message_id", "messages", ["message_id"], ["id"])
        batch.create_foreign_key("fk_gaps_cluster_id", "gap_clusters", ["cluster_id"], ["id"])
        batch.create_index("ix_gaps_message_id", ["message_id"])
        batch.create_index("ix_gaps_cluster_id", ["cluster_id"])


def downgrade() -> None:
    with op.batch_alter_table("gaps") as batch:
        batch.drop_index("ix_gaps_cluster_id")
        batch.drop_index("ix_gaps_message_id")
        batch.drop_constraint("fk_gaps_cluster_id", type_="foreignkey")
        batch.drop_constraint("fk_gaps_message_id", type_="foreignkey")
        batch.drop_column("cluster_id")
        batch.drop_column("article_id")
        batch.drop_column("message_id")
    op.drop_index("ix_article_events_article", "article_events")
    op.drop_table("article_events")
    op.drop_index("ix_gap_clusters_status_count", "gap_clusters")
    op.drop_table("gap_clusters")
