"""Routing and customer profiles.

- agents: `languages` and `skills` (JSON lists of tags), `max_open` (capacity: open
  conversations at once; NULL = the ROUTING_MAX_OPEN default), `team`;
- handoffs: `team` it was routed to, `out_of_hours` (queued while the team was closed),
  `offered_to` / `offered_at` (the agent the router picked);
- customers: `attributes` (what the shop passes to the widget: plan, order number, page URL),
  `merged_into` (an explicit, reversible merge of the same person across channels);
- customer_notes: agents' notes on the customer (not on one conversation);
- customer_merges: who merged which profiles when, and when it was undone.

Revision ID: 0010_routing_profiles
Revises: 0009_inbox
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_routing_profiles"
down_revision = "0009_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as t:
        t.add_column(sa.Column("languages", sa.JSON(), nullable=True))
        t.add_column(sa.Column("skills", sa.JSON(), nullable=True))
        t.add_column(sa.Column("max_open", sa.Integer(), nullable=True))
        t.add_column(sa.Column("team", sa.String(64), nullable=True))
    with op.batch_alter_table("handoffs") as t:
        t.add_column(sa.Column("team", sa.String(64), nullable=True))
        t.add_column(
            sa.Column("out_of_hours", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        t.add_column(sa.Column("offered_to", sa.Integer(), nullable=True))
        t.add_column(sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True))
        t.create_foreign_key("fk_handoffs_offered_to", "agents", ["offered_to"], ["id"])
    with op.batch_alter_table("customers") as t:
        t.add_column(sa.Column("attributes", sa.JSON(), nullable=True))
        t.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        t.create_foreign_key("fk_customers_merged_into", "customers", ["merged_into"], ["id"])
        t.create_index("ix_customers_merged_into", ["merged_into"])
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False, index=True
        ),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "customer_merges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "survivor_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False, index=True
        ),
        sa.Column("merged_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("customer_merges")
    op.drop_table("customer_notes")
    with op.batch_alter_table("customers") as t:
        t.drop_index("ix_customers_merged_into")
        t.drop_constraint("fk_customers_merged_into", type_="foreignkey")
        t.drop_column("merged_into")
        t.drop_column("attributes")
    with op.batch_alter_table("handoffs") as t:
        t.drop_constraint("fk_handoffs_offered_to", type_="foreignkey")
        t.drop_column("offered_at")
        t.drop_column("offered_to")
        t.drop_column("out_of_hours")
        t.drop_column("team")
    with op.batch_alter_table("agents") as t:
        t.drop_column("team")
        t.drop_column("max_open")
        t.drop_column("skills")
        t.drop_column("languages")
