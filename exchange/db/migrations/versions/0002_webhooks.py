"""webhook subscriptions and delivery retry state

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("destination", sa.String(length=20), nullable=False),
        sa.Column("organisation", sa.String(length=16), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sa.UniqueConstraint(
            "destination", "organisation", name=op.f("uq_webhooks_destination_organisation")
        ),
    )
    op.add_column("deliveries", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("deliveries", sa.Column("last_error", sa.String(length=1000)))
    op.create_index(
        "ix_deliveries_available",
        "deliveries",
        ["seq"],
        postgresql_where=sa.text("status = 'available'"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_available", table_name="deliveries")
    op.drop_column("deliveries", "last_error")
    op.drop_column("deliveries", "next_attempt_at")
    op.drop_table("webhooks")
