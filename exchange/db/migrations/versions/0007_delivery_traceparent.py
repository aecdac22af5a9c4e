"""deliveries.traceparent: a webhook push continues the trace of the message it delivers

Revision ID: 0007
Revises: 0006

The consumer that makes a delivery records the W3C trace context of its span; the webhook
pusher, which runs later and elsewhere, starts its client span as that span's child.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("traceparent", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "traceparent")
