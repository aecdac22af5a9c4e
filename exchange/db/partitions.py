"""Monthly range partitions of the hub's large tables: their names, their bounds, and keeping
the coming months' partitions in place. docs/retention.md explains the design.

A partition of table ``t`` for the month starting ``2026-11-01`` is ``t_p202611``; rows whose
month has no partition land in ``t_default``. Nothing here drops a partition: that is the
retention job's decision (``exchange/ops/retention.py``), taken with its audit event.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

MONTHS_AHEAD = 3
# pg advisory lock key: one process creates partitions at a time (worker or retention job).
PARTITION_LOCK = 0x434A5350  # "CJSP"


@dataclass(frozen=True)
class Partitioned:
    table: str
    column: str  # the partition key, a timestamptz
    retention: str  # which retention period applies: "audit" or "messages"
    # The unpartitioned table holding this table's global uniqueness, and its own time
    # column: rows for a dropped month are deleted from it in the same transaction.
    keys_table: str | None = None
    keys_column: str | None = None


PARTITIONED = (
    Partitioned("audit_events", "at", "audit"),
    Partitioned("messages", "received_at", "messages", "message_keys", "received_at"),
    Partitioned("deliveries", "created_at", "messages", "delivery_keys", "created_at"),
)


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y%m}"


def partition_month(table: str, name: str) -> dt.date | None:
    """The month a partition holds, or None for the default partition and anything else."""
    match = re.fullmatch(rf"{re.escape(table)}_p(\d{{4}})(\d{{2}})", name)
    return dt.date(int(match[1]), int(match[2]), 1) if match else None


def create_sql(table: str, month: dt.date) -> str:
    """DDL for one month's partition. Both names are the hub's own, never user input."""
    return (
        f'CREATE TABLE IF NOT EXISTS "{partition_name(table, month)}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ('{month.isoformat()}') TO ('{add_months(month, 1).isoformat()}')"
    )


async def partitions_of(conn: AsyncConnection, table: str) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:table AS regclass) ORDER BY 1"
        ),
        {"table": table},
    )
    return [r[0] for r in rows]


def wanted_months(today: dt.date) -> list[dt.date]:
    """This month and the next ``MONTHS_AHEAD``: new rows never have to land in the default."""
    first = month_start(today)
    return [add_months(first, i) for i in range(MONTHS_AHEAD + 1)]


async def missing(conn: AsyncConnection, today: dt.date) -> list[tuple[str, dt.date]]:
    """(table, month) for every wanted partition that does not exist yet."""
    gaps: list[tuple[str, dt.date]] = []
    for p in PARTITIONED:
        existing = set(await partitions_of(conn, p.table))
        gaps += [
            (p.table, m) for m in wanted_months(today) if partition_name(p.table, m) not in existing
        ]
    return gaps


async def ensure(conn: AsyncConnection, today: dt.date | None = None) -> list[str]:
    """Create the wanted partitions that are missing; returns their names. Idempotent; when
    another process holds the lock it is doing the same, and this call creates nothing."""
    locked = await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PARTITION_LOCK})
    if not locked:
        return []
    today = today or dt.datetime.now(dt.UTC).date()
    made: list[str] = []
    for table, month in await missing(conn, today):
        await conn.execute(text(create_sql(table, month)))
        made.append(partition_name(table, month))
    return made
