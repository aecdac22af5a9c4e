"""The append-only, tamper-evident audit trail: one row per thing that happened to a message
or a case, and per use of a token.

Writers only insert (in the transaction of the effect they record), without any hash, so
they never queue behind one another. :func:`seal` later chains the new rows: under an advisory
lock it gives each unsealed row, in id order, the next ``seal_seq``, the previous row's hash
and its own hash = SHA-256(previous hash, the row's canonical fields). :func:`verify`
recomputes the chain. A PostgreSQL trigger (migration 0003) refuses UPDATE, DELETE and
TRUNCATE, except the one update that seals a row without changing it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.db.tables import audit_events

__all__ = [
    "GENESIS",
    "TOKEN_USED",
    "Break",
    "Verification",
    "digest",
    "query",
    "record",
    "record_many",
    "seal",
    "token_use",
    "verify",
]

GENESIS: Final = "0" * 64
# pg advisory lock key for the sealer: one sealer at a time, others skip their turn.
SEAL_LOCK: Final = 0x0A0D17_5EA1
SEAL_BATCH: Final = 5000
TOKEN_USED: Final = "token.used"  # noqa: S105 - an event name, not a secret


async def record(
    conn: AsyncConnection,
    event: str,
    *,
    actor: str,
    message_id: uuid.UUID | None = None,
    case_urn: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction, so it commits with the effect it records.

    Replays and amendments call this too (``event="message.replayed"``, ``"message.amended"``),
    with the ops user as ``actor``."""
    await conn.execute(
        audit_events.insert().values(
            message_id=message_id,
            case_urn=case_urn,
            event=event,
            actor=actor,
            detail=detail or {},
        )
    )


def token_use(token_id: str | None, method: str, path: str, status: int) -> dict[str, Any]:
    """The detail of a ``token.used`` event: which token, which request, which answer."""
    return {"jti": token_id, "method": method, "path": path[:300], "status": status}


async def record_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(audit_events.insert(), rows)


def _canonical(row: Any) -> bytes:
    at: datetime = row.at
    fields = [
        row.id,
        str(row.message_id) if row.message_id is not None else None,
        row.case_urn,
        row.event,
        row.actor,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        row.detail,
    ]
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def digest(previous: str, row: Any) -> str:
    """A row's link in the chain: SHA-256 over the previous hash and its canonical fields."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + _canonical(row)).hexdigest()


_FIELDS = (
    audit_events.c.id,
    audit_events.c.message_id,
    audit_events.c.case_urn,
    audit_events.c.event,
    audit_events.c.actor,
    audit_events.c.at,
    audit_events.c.detail,
)


async def seal(conn: AsyncConnection, *, batch: int = SEAL_BATCH) -> int:
    """Chain every unsealed event; returns how many were sealed (0 if another sealer holds
    the lock). Run it in its own transaction; the worker calls it every second."""
    locked = await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SEAL_LOCK})
    if not locked:
        return 0
    head = (
        await conn.execute(
            select(audit_events.c.seal_seq, audit_events.c.hash)
            .where(audit_events.c.seal_seq.is_not(None))
            .order_by(audit_events.c.seal_seq.desc())
            .limit(1)
        )
    ).first()
    seq, previous = (head.seal_seq, head.hash) if head else (0, GENESIS)
    sealed = 0
    while True:
        rows = (
            await conn.execute(
                select(*_FIELDS)
                .where(audit_events.c.seal_seq.is_(None))
                .order_by(audit_events.c.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return sealed
        links = []
        for row in rows:
            seq += 1
            link = digest(previous, row)
            links.append({"_id": row.id, "_seq": seq, "_prev": previous, "_hash": link})
            previous = link
        await conn.execute(
            update(audit_events)
            .where(audit_events.c.id == bindparam("_id"))
            .values(
                seal_seq=bindparam("_seq"), prev_hash=bindparam("_prev"), hash=bindparam("_hash")
            ),
            links,
        )
        sealed += len(rows)


@dataclass(frozen=True)
class Break:
    """The first broken link: which event, and why."""

    event_id: int
    seal_seq: int
    reason: str


@dataclass(frozen=True)
class Verification:
    checked: int
    unsealed: int
    head: str | None
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


async def _sealed(conn: AsyncConnection, batch: int) -> AsyncIterator[Any]:
    after = 0
    while True:
        rows = (
            await conn.execute(
                select(
                    *_FIELDS, audit_events.c.seal_seq, audit_events.c.prev_hash, audit_events.c.hash
                )
                .where(audit_events.c.seal_seq > after)
                .order_by(audit_events.c.seal_seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].seal_seq


async def verify(conn: AsyncConnection, *, batch: int = 10_000) -> Verification:
    """Recompute the chain in seal order and report the first broken link, if any.

    The first remaining event is the anchor (after retention drops old months it need not be
    seal 1); every later one must follow it without a gap and hash to what it says."""
    checked = 0
    previous: str | None = None
    expected_seq: int | None = None
    broken: Break | None = None
    async for row in _sealed(conn, batch):
        if expected_seq is None and row.seal_seq == 1 and row.prev_hash != GENESIS:
            broken = Break(row.id, row.seal_seq, "the first event does not start the chain")
        elif expected_seq is not None and row.seal_seq != expected_seq:
            broken = Break(
                row.id,
                row.seal_seq,
                f"events sealed {expected_seq} to {row.seal_seq - 1} are missing",
            )
        elif previous is not None and row.prev_hash != previous:
            broken = Break(row.id, row.seal_seq, "it does not link to the event sealed before it")
        elif digest(row.prev_hash, row) != row.hash:
            broken = Break(row.id, row.seal_seq, "its content does not match its hash")
        if broken is not None:
            break
        checked += 1
        previous = row.hash
        expected_seq = row.seal_seq + 1
    unsealed = await conn.scalar(
        select(audit_events.c.id).where(audit_events.c.seal_seq.is_(None)).limit(1)
    )
    count = 0
    if unsealed is not None:
        count = int(
            await conn.scalar(text("SELECT count(*) FROM audit_events WHERE seal_seq IS NULL")) or 0
        )
    return Verification(checked=checked, unsealed=count, head=previous, broken=broken)


async def query(
    conn: AsyncConnection,
    *,
    message_id: uuid.UUID | None = None,
    case_urn: str | None = None,
    actor: str | None = None,
    event: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Events matching every given filter, oldest first, after ``after_id`` (cursor)."""
    stmt = select(*_FIELDS, audit_events.c.seal_seq, audit_events.c.hash).where(
        audit_events.c.id > after_id
    )
    if message_id is not None:
        stmt = stmt.where(audit_events.c.message_id == message_id)
    if case_urn is not None:
        stmt = stmt.where(audit_events.c.case_urn == case_urn)
    if actor is not None:
        stmt = stmt.where(audit_events.c.actor == actor)
    if event is not None:
        stmt = stmt.where(audit_events.c.event == event)
    if since is not None:
        stmt = stmt.where(audit_events.c.at >= since)
    if until is not None:
        stmt = stmt.where(audit_events.c.at < until)
    rows = (await conn.execute(stmt.order_by(audit_events.c.id).limit(limit))).all()
    return [
        {
            "id": r.id,
            "event": r.event,
            "actor": r.actor,
            "message_id": str(r.message_id) if r.message_id else None,
            "case_urn": r.case_urn,
            "at": r.at.isoformat(),
            "detail": r.detail,
            "sealed": r.seal_seq is not None,
            "hash": r.hash,
        }
        for r in rows
    ]
