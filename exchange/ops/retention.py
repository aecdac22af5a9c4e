"""Retention: drop old monthly audit partitions, sanitise personal data after its period,
delete published outbox rows. docs/retention.md explains the periods and the design.

``plan`` counts what a run would do (the dry run); ``run`` does it in bounded batches, each
its own transaction, and records an audit event per step. Messages with an open (parked)
failure are not sanitised: ops may still need them to replay.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import audit
from exchange.db.engine import transaction
from exchange.ops.config import OpsSettings
from exchange.ops.sanitise import sanitise_message

__all__ = ["RetentionPlan", "plan", "run"]

PARTITION = re.compile(r"^audit_events_p(\d{4})(\d{2})$")
BATCH = 500
MONTHS_AHEAD = 3
ACTOR = "hub/retention"

_DUE_MESSAGES = """
  FROM messages m
  WHERE m.received_at < :cutoff AND m.sanitised_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM failures f
                    WHERE f.message_id = m.message_id AND f.status = 'parked')
"""


def _month(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


@dataclass
class RetentionPlan:
    now: dt.datetime
    personal_cutoff: dt.datetime
    audit_cutoff: dt.date
    outbox_cutoff: dt.datetime
    drop_partitions: list[dict[str, Any]] = field(default_factory=list)
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
            "outbox_before": self.outbox_cutoff.isoformat(),
            "drop_partitions": self.drop_partitions,
            "create_partitions": self.create_partitions,
            "messages_to_sanitise": self.messages_to_sanitise,
            "deliveries_to_sanitise": self.deliveries_to_sanitise,
            "failures_to_sanitise": self.failures_to_sanitise,
            "outbox_to_delete": self.outbox_to_delete,
        }


async def _partitions(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1"
        )
    )
    return [r[0] for r in rows]


async def plan(
    conn: AsyncConnection, settings: OpsSettings, now: dt.datetime | None = None
) -> RetentionPlan:
    now = now or dt.datetime.now(dt.UTC)
    p = RetentionPlan(
        now=now,
        personal_cutoff=now - dt.timedelta(days=settings.retention_personal_days),
        audit_cutoff=_add_months(_month(now.date()), -settings.retention_audit_months),
        outbox_cutoff=now - dt.timedelta(days=settings.retention_outbox_days),
    )
    existing = await _partitions(conn)
    for name in existing:
        match = PARTITION.match(name)
        if not match:
            continue
        start = dt.date(int(match[1]), int(match[2]), 1)
        if _add_months(start, 1) <= p.audit_cutoff:
            count = text(f'SELECT count(*) FROM "{name}"')  # noqa: S608 - name matched PARTITION
            rows = (await conn.execute(count)).scalar_one()
            p.drop_partitions.append({"partition": name, "month": f"{start:%Y-%m}", "rows": rows})
    month = _month(now.date())
    for i in range(MONTHS_AHEAD + 1):
        name = f"audit_events_p{_add_months(month, i):%Y%m}"
        if name not in existing:
            p.create_partitions.append(name)
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
    for name in p.create_partitions:
        await _create_partition(engine, name)
    for part in p.drop_partitions:
        async with transaction(engine) as conn:
            await conn.execute(text(f'DROP TABLE "{part["partition"]}"'))
            await audit.record(conn, "retention.partition_dropped", actor=ACTOR, detail=part)
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


async def _create_partition(engine: AsyncEngine, name: str) -> None:
    match = PARTITION.match(name)
    assert match
    start = dt.date(int(match[1]), int(match[2]), 1)
    async with transaction(engine) as conn:
        await conn.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF audit_events FOR VALUES '
                f"FROM ('{start.isoformat()}') TO ('{_add_months(start, 1).isoformat()}')"
            )
        )


async def _sanitise_messages(engine: AsyncEngine, cutoff: dt.datetime) -> None:
    while True:
        async with transaction(engine) as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT m.message_id, m.canonical"
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
                    "WHERE message_id = :mid"
                ),
                [
                    {
                        "mid": r.message_id,
                        "canonical": orjson.dumps(sanitise_message(r.canonical)).decode()
                        if r.canonical
                        else None,
                    }
                    for r in rows
                ],
            )
