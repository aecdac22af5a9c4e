"""messages and deliveries partitioned by month; their uniqueness moves to key tables

Revision ID: 0006
Revises: 0005

PostgreSQL wants the partition key in every unique constraint of a partitioned table, but the
hub's two idempotency guards must hold across months:
- ingest: one message per ``(client_id, idempotency_key)``, however late a retry comes;
- consumers: one delivery per ``(message_id, destination)``.
Each guard moves to a small unpartitioned table written in the same transaction as the row it
guards (``message_keys``, ``delivery_keys``), and ``messages`` and ``deliveries`` become
partitioned by month on ``received_at`` and ``created_at``, so retention drops a month of
them instead of deleting rows.

The tables are rebuilt as revision 0004 rebuilt ``audit_events``: ``LIKE`` the old table, then
its own index and trigger definitions, then the rows. On a large live database this copies
every row: run it in a maintenance window.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3
TS = sa.DateTime(timezone=True)

# (table, partition key, new primary key, unique constraints that move to a key table)
TABLES = (
    (
        "messages",
        "received_at",
        ("message_id", "received_at"),
        ("uq_messages_client_id_idempotency_key",),
    ),
    ("deliveries", "created_at", ("seq", "created_at"), ("uq_deliveries_message_id_destination",)),
)


def _month(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _next_month(d: dt.date) -> dt.date:
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def upgrade() -> None:
    op.create_table(
        "message_keys",
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("received_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "idempotency_key", name="pk_message_keys"),
        sa.UniqueConstraint("message_id", name="uq_message_keys_message_id"),
    )
    op.create_index("ix_message_keys_received_at", "message_keys", ["received_at"])
    op.execute(
        "INSERT INTO message_keys (client_id, idempotency_key, message_id, received_at) "
        "SELECT client_id, idempotency_key, message_id, received_at FROM messages"
    )
    op.create_table(
        "delivery_keys",
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("destination", sa.String(20), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "destination", name="pk_delivery_keys"),
    )
    op.create_index("ix_delivery_keys_created_at", "delivery_keys", ["created_at"])
    op.execute(
        "INSERT INTO delivery_keys (message_id, destination, created_at) "
        "SELECT message_id, destination, created_at FROM deliveries"
    )
    for table, column, primary_key, moved in TABLES:
        _partition_by_month(table, column, primary_key, moved)


def _definitions(table: str, skip: tuple[str, ...]) -> list[str]:
    bind = op.get_bind()
    indexes = bind.execute(
        sa.text(
            "SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = CAST(:t AS regclass) AND NOT x.indisprimary "
            "AND NOT (i.relname = ANY(:skip))"
        ),
        {"t": table, "skip": list(skip)},
    ).scalars()
    triggers = bind.execute(
        sa.text(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal AND tgparentid = 0"
        ),
        {"t": table},
    ).scalars()
    return [d.replace(" ON ONLY ", " ON ") for d in list(indexes) + list(triggers)]


def _partition_by_month(
    table: str, column: str, primary_key: tuple[str, ...], moved: tuple[str, ...]
) -> None:
    bind = op.get_bind()
    definitions = _definitions(table, moved)
    first = bind.execute(sa.text(f"SELECT min({column})::date FROM {table}")).scalar()  # noqa: S608
    old = f"{table}_unpartitioned"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY "
        f"INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING COMMENTS) "
        f"PARTITION BY RANGE ({column})"
    )
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    today = dt.datetime.now(dt.UTC).date()
    month, stop = _month(first or today), _month(today)
    for _ in range(MONTHS_AHEAD):
        stop = _next_month(stop)
    while month <= stop:
        end = _next_month(month)
        op.execute(
            f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{end.isoformat()}')"
        )
        month = end
    op.execute(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {old}")  # noqa: S608
    _restart_identity(table)
    op.execute(f"DROP TABLE {old}")
    op.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(primary_key)})"
    )
    for definition in definitions:
        op.execute(definition)


def _restart_identity(table: str) -> None:
    bind = op.get_bind()
    identity = bind.execute(
        sa.text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attidentity <> '' AND NOT attisdropped"
        ),
        {"t": table},
    ).scalar()
    if identity:
        restart = (
            f"SELECT setval(pg_get_serial_sequence('{table}', '{identity}'), "  # noqa: S608
            f"coalesce((SELECT max({identity}) FROM {table}), 0) + 1, false)"
        )
        op.execute(restart)


def downgrade() -> None:
    restored = {
        "messages": (
            ("message_id",),
            "uq_messages_client_id_idempotency_key",
            ("client_id", "idempotency_key"),
        ),
        "deliveries": (
            ("seq",),
            "uq_deliveries_message_id_destination",
            ("message_id", "destination"),
        ),
    }
    for table, (primary_key, unique, unique_columns) in restored.items():
        definitions = _definitions(table, ())
        old = f"{table}_partitioned"
        op.execute(f"ALTER TABLE {table} RENAME TO {old}")
        op.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING COMMENTS)"
        )
        op.execute(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {old}")  # noqa: S608
        _restart_identity(table)
        op.execute(f"DROP TABLE {old} CASCADE")
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(primary_key)})"
        )
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {unique} UNIQUE ({', '.join(unique_columns)})"
        )
        for definition in definitions:
            op.execute(definition)
    op.drop_table("delivery_keys")
    op.drop_table("message_keys")
