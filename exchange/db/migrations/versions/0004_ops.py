"""ops: search indexes, retention bookkeeping, audit_events partitioned by month

Revision ID: 0004
Revises: 0003

Why each piece (docs/retention.md has the long form):
- search indexes, so every ops query is an index scan: message error codes (GIN over the
  ``errors`` array), correlation and causation links, per-organisation figures, deliveries by
  status, failures by consumer;
- ``sanitised_at`` on messages, deliveries and failures: when personal data was replaced;
- ``audit_events`` becomes a table partitioned by month on ``at``: it is append-only and has
  no uniqueness but its id, so the primary key can take the partition key, and retention drops
  a month instead of deleting rows. ``messages`` and ``deliveries`` stay unpartitioned: their
  unique keys ((client_id, idempotency_key) for ingest, (message_id, destination) for the
  consumers) would have to include the month, and a retry in a later month would then no
  longer be seen as a duplicate. They are sanitised in place instead.

The audit table is rebuilt generically (``LIKE`` plus the old table's own index and trigger
definitions), so columns, indexes and triggers that revision 0003 adds survive the move.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3


def _month(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _next_month(d: dt.date) -> dt.date:
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_messages_errors ON messages USING gin (errors jsonb_path_ops) "
        "WHERE errors IS NOT NULL"
    )
    op.create_index("ix_messages_correlation_id", "messages", ["correlation_id"])
    op.execute(
        "CREATE INDEX ix_messages_causation ON messages "
        "(((canonical -> 'envelope' ->> 'causation_id'))) "
        "WHERE canonical -> 'envelope' ->> 'causation_id' IS NOT NULL"
    )
    op.create_index(
        "ix_messages_source_org", "messages", ["source_agency", "source_org", "received_at"]
    )
    op.create_index("ix_deliveries_status_created_at", "deliveries", ["status", "created_at"])
    op.create_index("ix_deliveries_destination_org", "deliveries", ["destination_org", "seq"])
    op.create_index("ix_failures_consumer_created_at", "failures", ["consumer", "created_at"])
    for table in ("messages", "deliveries", "failures"):
        op.add_column(table, sa.Column("sanitised_at", sa.DateTime(timezone=True)))
    _partition_audit_events()


def _partition_audit_events() -> None:
    bind = op.get_bind()
    # Definitions read before the rename name ``audit_events``: they apply to the new table.
    indexes = bind.execute(
        sa.text(
            "SELECT pg_get_indexdef(x.indexrelid) AS definition FROM pg_index x "
            "WHERE x.indrelid = 'audit_events'::regclass AND NOT x.indisprimary"
        )
    ).scalars()
    triggers = bind.execute(
        sa.text(
            "SELECT pg_get_triggerdef(oid) AS definition FROM pg_trigger "
            "WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal"
        )
    ).scalars()
    index_defs, trigger_defs = list(indexes), list(triggers)
    first = bind.execute(sa.text("SELECT min(at)::date FROM audit_events")).scalar()
    op.execute("ALTER TABLE audit_events RENAME TO audit_events_unpartitioned")
    op.execute(
        "CREATE TABLE audit_events (LIKE audit_events_unpartitioned INCLUDING DEFAULTS "
        "INCLUDING IDENTITY INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING COMMENTS) "
        "PARTITION BY RANGE (at)"
    )
    op.execute("CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT")
    today = dt.datetime.now(dt.UTC).date()
    month = _month(first or today)
    stop = _month(today)
    for _ in range(MONTHS_AHEAD):
        stop = _next_month(stop)
    while month <= stop:
        end = _next_month(month)
        op.execute(
            f"CREATE TABLE audit_events_p{month:%Y%m} PARTITION OF audit_events "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{end.isoformat()}')"
        )
        month = end
    op.execute(
        "INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT * FROM audit_events_unpartitioned"
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
        "coalesce((SELECT max(id) FROM audit_events), 0) + 1, false)"
    )
    op.execute("DROP TABLE audit_events_unpartitioned")
    op.execute("ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (id, at)")
    # A unique index of 0003 without ``at`` fails here, loudly: it cannot hold across months.
    for definition in index_defs + trigger_defs:
        op.execute(definition)


def downgrade() -> None:
    bind = op.get_bind()
    definitions = [
        d.replace(" ON ONLY ", " ON ")
        for d in bind.execute(
            sa.text(
                "SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x "
                "WHERE x.indrelid = 'audit_events'::regclass AND NOT x.indisprimary "
                "UNION ALL SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal "
                "AND tgparentid = 0"
            )
        ).scalars()
    ]
    op.execute("ALTER TABLE audit_events RENAME TO audit_events_partitioned")
    op.execute(
        "CREATE TABLE audit_events (LIKE audit_events_partitioned INCLUDING DEFAULTS "
        "INCLUDING IDENTITY INCLUDING GENERATED INCLUDING CONSTRAINTS)"
    )
    op.execute(
        "INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT * FROM audit_events_partitioned"
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
        "coalesce((SELECT max(id) FROM audit_events), 0) + 1, false)"
    )
    op.execute("DROP TABLE audit_events_partitioned CASCADE")
    op.execute("ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (id)")
    for definition in definitions:
        op.execute(definition)
    for table in ("messages", "deliveries", "failures"):
        op.drop_column(table, "sanitised_at")
    op.drop_index("ix_failures_consumer_created_at", table_name="failures")
    op.drop_index("ix_deliveries_destination_org", table_name="deliveries")
    op.drop_index("ix_deliveries_status_created_at", table_name="deliveries")
    op.drop_index("ix_messages_source_org", table_name="messages")
    op.execute("DROP INDEX ix_messages_causation")
    op.drop_index("ix_messages_correlation_id", table_name="messages")
    op.execute("DROP INDEX ix_messages_errors")
