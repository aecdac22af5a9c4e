"""Finding messages and failures on indexed columns, newest first, with keyset pagination.

Every filter maps to an index (revisions 0001 and 0004): PTIURN (``case_urn``), ASN (GIN over
``asns``), source agency, message type, status and time (btree with ``received_at``), message
error codes (GIN ``jsonb_path_ops`` over ``errors``), failure error code and consumer. The
cursor is the last row's (time, id), so a page never skips or repeats rows as new ones arrive.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Select, and_, cast, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from exchange.db.tables import failures, messages
from exchange.domain.errors import ExchangeError

__all__ = [
    "BadCursor",
    "FailureFilter",
    "MessageFilter",
    "Page",
    "failure_query",
    "message_query",
    "search_failures",
    "search_messages",
]

MAX_LIMIT = 500


class BadCursor(ExchangeError):
    code = "CURSOR_INVALID"
    http_status = 422


@dataclass(frozen=True)
class MessageFilter:
    case_urn: str | None = None
    asn: str | None = None
    agency: str | None = None
    message_type: str | None = None
    status: str | None = None
    error_code: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class FailureFilter:
    case_urn: str | None = None
    message_id: uuid.UUID | None = None
    consumer: str | None = None
    error_code: str | None = None
    status: str | None = "parked"
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _encode_cursor(at: dt.datetime, key: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at.isoformat(), str(key)])).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        at, key = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(at), str(key)
    except (ValueError, TypeError) as exc:
        raise BadCursor(f"cursor {cursor[:40]!r} is not one this API gave out") from exc


def message_query(f: MessageFilter) -> Select[Any]:
    """The filtered query over messages, newest first, without the cursor and the limit."""
    m = messages.c
    cond: list[ColumnElement[bool]] = []
    if f.case_urn:
        cond.append(m.case_urn == f.case_urn.strip().upper())
    if f.asn:
        cond.append(m.asns.contains([f.asn.strip().upper()]))
    if f.agency:
        cond.append(m.source_agency == f.agency)
    if f.message_type:
        cond.append(m.message_type == f.message_type)
    if f.status:
        cond.append(m.status == f.status)
    if f.error_code:
        # @> with jsonb_path_ops: served by ix_messages_errors.
        cond.append(m.errors.isnot(None))
        cond.append(m.errors.op("@>")(_jsonb([{"code": f.error_code}])))
    if f.since:
        cond.append(m.received_at >= f.since)
    if f.until:
        cond.append(m.received_at < f.until)
    columns = [c for c in messages.c if c.name not in ("raw", "canonical")]
    return (
        select(*columns)
        .where(and_(True, *cond))
        .order_by(m.received_at.desc(), m.message_id.desc())
    )


def _jsonb(value: object) -> Any:
    return cast(literal(orjson.dumps(value).decode()), JSONB)


def failure_query(f: FailureFilter) -> Select[Any]:
    c = failures.c
    cond: list[ColumnElement[bool]] = []
    if f.case_urn:
        cond.append(c.case_urn == f.case_urn.strip().upper())
    if f.message_id:
        cond.append(c.message_id == f.message_id)
    if f.consumer:
        cond.append(c.consumer == f.consumer)
    if f.error_code:
        cond.append(c.error_code == f.error_code)
    if f.status:
        cond.append(c.status == f.status)
    if f.since:
        cond.append(c.created_at >= f.since)
    if f.until:
        cond.append(c.created_at < f.until)
    columns = [col for col in failures.c if col.name not in ("record_value",)]
    return select(*columns).where(and_(True, *cond)).order_by(c.created_at.desc(), c.id.desc())


async def search_messages(
    conn: AsyncConnection, f: MessageFilter, *, cursor: str | None = None, limit: int = 50
) -> Page:
    query = message_query(f)
    if cursor:
        at, key = _decode_cursor(cursor)
        query = query.where(
            tuple_(messages.c.received_at, messages.c.message_id)
            < tuple_(literal(at), literal(uuid.UUID(key)))
        )
    rows = (await conn.execute(query.limit(min(limit, MAX_LIMIT) + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [message_summary(r) for r in rows]
    nxt = _encode_cursor(rows[-1].received_at, rows[-1].message_id) if more else None
    return Page(items, nxt)


async def search_failures(
    conn: AsyncConnection, f: FailureFilter, *, cursor: str | None = None, limit: int = 50
) -> Page:
    query = failure_query(f)
    if cursor:
        at, key = _decode_cursor(cursor)
        query = query.where(
            or_(
                failures.c.created_at < at,
                and_(failures.c.created_at == at, failures.c.id < int(key)),
            )
        )
    rows = (await conn.execute(query.limit(min(limit, MAX_LIMIT) + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [failure_summary(r) for r in rows]
    nxt = _encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
    return Page(items, nxt)


def message_summary(r: Any) -> dict[str, Any]:
    return {
        "message_id": str(r.message_id),
        "message_type": r.message_type,
        "format": r.format,
        "case_urn": r.case_urn,
        "asns": list(r.asns or []),
        "source": {"agency": r.source_agency, "system": r.source_system, "org": r.source_org},
        "status": r.status,
        "error_codes": sorted({e.get("code", "") for e in (r.errors or [])}),
        "correlation_id": str(r.correlation_id),
        "replay_count": r.replay_count,
        "received_at": r.received_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    }


def failure_summary(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "message_id": str(r.message_id) if r.message_id else None,
        "consumer": r.consumer,
        "case_urn": r.case_urn,
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "error_code": r.error_code,
        "error_class": r.error_class,
        "error_message": r.error_message,
        "attempts": r.attempts,
        "status": r.status,
        "message_type": (r.record_headers or {}).get("type"),
        "replay_count": int((r.record_headers or {}).get("replay-count", "0") or 0),
        "created_at": r.created_at.isoformat(),
        "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
    }
