"""Retention: drop old monthly partitions (audit events; messages and deliveries), sanitise
personal data after its period, delete published outbox rows. docs/retention.md explains the
periods and the design.

``plan`` counts what a run would do (the dry run); ``run`` does it in bounded batches, each
its own transaction, and records an audit event per step. Messages with an open (parked)
failure are neither sanitised nor dropped: ops may still need them to replay. A month of
messages or deliveries holding one is kept and reported as held.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import audit
from exchange.db import partitions
from exchange.db.engine import transaction
from exchange.ops.config import OpsSettings
from exchange.ops.sanitise import sanitise_message

__all__ = ["RetentionPlan", "plan", "run"]

BATCH = 500
ACTOR = "hub/retention"

_DUE_MESSAGES = """
  FROM messages m
  WHERE m.received_at < :cutoff AND m.sanitised_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM failures f
                    WHERE f.message_id = m.message_id AND f.status = 'parked')
"""


@dataclass
class RetentionPlan:
    now: dt.datetime
    personal_cutoff: dt.datetime
    audit_cutoff: dt.date
    messages_cutoff: dt.date
    outbox_cutoff: dt.datetime
    drop_partitions: list[dict[str, Any]] = field(default_factory=list)
    held_partitions: list[dict[str, Any]] = field(default_factory=list)
    create_partitions: list[str] = field(default_factory=list)
    messages_to_sanitise: int = 0
    deliveries_to_sanitise: int = 0
    failures_to_sanitise: int = 0
    outbox_to_delete: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "personal_data_before": self.personal_cutoff.isoformat(),
            "audit_before": self.audit_cutoff.isoformat(),
            "messages_before": self.messages_cutoff.isoformat(),
            "outbox_before": self.outbox_cutoff.isoformat(),
            "drop_partitions": self.drop_partitions,
            "held_partitions": self.held_partitions,
            "create_partitions": self.create_partitions,
            "messages_to_sanitise": self.messages_to_sanitise,
            "deliveries_to_sanitise": self.deliveries_to_sanitise,
            "failures_to_sanitise": self.failures_to_sanitise,
            "outbox_to_delete": self.outbox_to_delete,
        }


async def plan(
    conn: AsyncConnection, settings: OpsSettings, now: dt.datetime | None = None
) -> RetentionPlan:
    now = now or dt.datetime.now(dt.UTC)
    this_month = partitions.month_start(now.date())
    p = RetentionPlan(
        now=now,
        personal_cutoff=now - dt.timedelta(days=settings.retention_personal_days),
        audit_cutoff=partitions.add_months(this_month, -settings.retention_audit_months),
        messages_cutoff=partitions.add_months(this_month, -settings.retention_message_months),
        outbox_cutoff=now - dt.timedelta(days=settings.retention_outbox_days),
    )
    cutoffs = {"audit": p.audit_cutoff, "messages": p.messages_cutoff}
    for table in partitions.PARTITIONED:
        for name in await partitions.partitions_of(conn, table.table):
            start = partitions.partition_month(table.table, name)
            if start is None or partitions.add_months(start, 1) > cutoffs[table.retention]:
                continue
            # Names are the hub's own partitions (matched above), never user input.
            rows = (await conn.execute(text(f'SELECT count(*) FROM "{name}"'))).scalar_one()  # noqa: S608
            entry = {
                "table": table.table,
                "partition": name,
                "month": f"{start:%Y-%m}",
                "rows": rows,
            }
            parked = await _parked_in(conn, table, name)
            if parked:
                p.held_partitions.append(entry | {"parked": parked})
            else:
                p.drop_partitions.append(entry)
    p.create_partitions = [
        partitions.partition_name(t, m) for t, m in await partitions.missing(conn, now.date())
    ]
    args = {"cutoff": p.personal_cutoff}
    p.messages_to_sanitise = (
        await conn.execute(text("SELECT count(*)" + _DUE_MESSAGES), args)
    ).scalar_one()
    p.deliveries_to_sanitise = (
        await conn.execute(
            text(
                "SELECT count(*) FROM deliveries WHERE created_at < :cutoff "
                "AND sanitised_at IS NULL AND status = 'acknowledged'"
            ),
            args,
        )
    ).scalar_one()
    p.failures_to_sanitise = (
        await conn.execute(
            text(
                "SELECT count(*) FROM failures WHERE created_at < :cutoff "
                "AND sanitised_at IS NULL AND status <> 'parked'"
            ),
            args,
        )
    ).scalar_one()
    p.outbox_to_delete = (
        await conn.execute(
            text("SELECT count(*) FROM outbox WHERE published_at < :cutoff"),
            {"cutoff": p.outbox_cutoff},
        )
    ).scalar_one()
    return p


async def run(
    engine: AsyncEngine,
    settings: OpsSettings,
    *,
    dry_run: bool = True,
    now: dt.datetime | None = None,
) -> RetentionPlan:
    """Plan, and unless ``dry_run`` carry the plan out. Returns the plan."""
    async with transaction(engine) as conn:
        p = await plan(conn, settings, now)
    if dry_run:
        return p
    async with transaction(engine) as conn:
        await partitions.ensure(conn, p.now.date())
    for part in p.drop_partitions:
        async with transaction(engine) as conn:
            await _drop_partition(conn, part)
    await _sanitise_messages(engine, p.personal_cutoff)
    async with transaction(engine) as conn:
        done = await conn.execute(
            text(
                "UPDATE deliveries SET payload = jsonb_build_object('sanitised', true), "
                "sanitised_at = now() WHERE created_at < :cutoff AND sanitised_at IS NULL "
                "AND status = 'acknowledged'"
            ),
            {"cutoff": p.personal_cutoff},
        )
        deliveries = done.rowcount
        done = await conn.execute(
            text(
                "UPDATE failures SET record_value = '\\x'::bytea, sanitised_at = now() "
                "WHERE created_at < :cutoff AND sanitised_at IS NULL AND status <> 'parked'"
            ),
            {"cutoff": p.personal_cutoff},
        )
        failed = done.rowcount
        done = await conn.execute(
            text("DELETE FROM outbox WHERE published_at < :cutoff"), {"cutoff": p.outbox_cutoff}
        )
        await audit.record(
            conn,
            "retention.run",
            actor=ACTOR,
            detail={
                **p.to_dict(),
                "deliveries_sanitised": deliveries,
                "failures_sanitised": failed,
                "outbox_deleted": done.rowcount,
            },
        )
    return p


async def _parked_in(conn: AsyncConnection, table: partitions.Partitioned, name: str) -> int:
    """Parked failures whose message lives in this partition (audit partitions hold none)."""
    if table.keys_table is None:
        return 0
    found = text(
        f'SELECT count(*) FROM "{name}" t JOIN failures f '  # noqa: S608 - our partition name
        "ON f.message_id = t.message_id WHERE f.status = 'parked'"
    )
    return int((await conn.execute(found)).scalar_one())


async def _drop_partition(conn: AsyncConnection, part: dict[str, Any]) -> None:
    """Drop one month, and in the same transaction its rows' idempotency keys: a key table
    row without its message would answer a retry with a message that no longer exists."""
    table = next(t for t in partitions.PARTITIONED if t.table == part["table"])
    if table.keys_table:
        start = dt.date.fromisoformat(part["month"] + "-01")
        await conn.execute(
            text(
                f'DELETE FROM "{table.keys_table}" WHERE {table.keys_column} >= :start '  # noqa: S608
                f"AND {table.keys_column} < :end"
            ),
            {"start": start, "end": partitions.add_months(start, 1)},
        )
    await conn.execute(text(f'DROP TABLE "{part["partition"]}"'))
    await audit.record(conn, "retention.partition_dropped", actor=ACTOR, detail=part)


async def _sanitise_messages(engine: AsyncEngine, cutoff: dt.datetime) -> None:
    while True:
        async with transaction(engine) as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT m.message_id, m.received_at, m.canonical"
                        + _DUE_MESSAGES
                        + " ORDER BY m.received_at LIMIT :n FOR UPDATE SKIP LOCKED"
                    ),
                    {"cutoff": cutoff, "n": BATCH},
                )
            ).all()
            if not rows:
                return
            await conn.execute(
                text(
                    "UPDATE messages SET raw = '\\x'::bytea, "
                    "canonical = CAST(:canonical AS jsonb), sanitised_at = now() "
                    "WHERE message_id = :mid AND received_at = :at"
                ),
                [
                    {
                        "mid": r.message_id,
                        "at": r.received_at,
                        "canonical": orjson.dumps(sanitise_message(r.canonical)).decode()
                        if r.canonical
                        else None,
                    }
                    for r in rows
                ],
            )
