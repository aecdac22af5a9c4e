"""Everything ops need to understand one message or failure: raw and canonical forms, errors,
deliveries, failures and the audit trail."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.db.tables import audit_events, deliveries, failures, messages
from exchange.domain.errors import NotFound
from exchange.ops.search import failure_summary, message_summary

__all__ = ["failure_detail", "message_detail", "raw_text"]


def raw_text(raw: bytes) -> dict[str, str]:
    """The raw document as text when it is text, else base64 (an operator reads XML/JSON)."""
    try:
        return {"encoding": "utf-8", "text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"encoding": "base64", "text": base64.b64encode(raw).decode()}


def delivery_dict(d: Any) -> dict[str, Any]:
    return {
        "seq": d.seq,
        "message_id": str(d.message_id),
        "destination": d.destination,
        "destination_org": d.destination_org,
        "format": d.format,
        "status": d.status,
        "attempts": d.attempts,
        "created_at": d.created_at.isoformat(),
        "taken_at": d.taken_at.isoformat() if d.taken_at else None,
        "acknowledged_at": d.acknowledged_at.isoformat() if d.acknowledged_at else None,
        "last_error": d.last_error,
    }


def event_dict(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "message_id": str(e.message_id) if e.message_id else None,
        "event": e.event,
        "actor": e.actor,
        "at": e.at.isoformat(),
        "detail": e.detail,
    }


async def message_detail(conn: AsyncConnection, message_id: uuid.UUID) -> dict[str, Any]:
    row = (await conn.execute(select(messages).where(messages.c.message_id == message_id))).first()
    if row is None:
        raise NotFound(f"no message {message_id}")
    sent = (
        await conn.execute(
            select(deliveries).where(deliveries.c.message_id == message_id).order_by("seq")
        )
    ).all()
    parked = (
        await conn.execute(
            select(failures).where(failures.c.message_id == message_id).order_by(failures.c.id)
        )
    ).all()
    events = (
        await conn.execute(
            select(audit_events)
            .where(audit_events.c.message_id == message_id)
            .order_by(audit_events.c.at, audit_events.c.id)
        )
    ).all()
    return {
        **message_summary(row),
        "content_type": row.content_type,
        "raw_sha256": row.raw_sha256,
        "raw": raw_text(row.raw),
        "canonical": row.canonical,
        "errors": row.errors or [],
        "deliveries": [delivery_dict(d) for d in sent],
        "failures": [failure_summary(f) for f in parked],
        "events": [event_dict(e) for e in events],
    }


async def failure_detail(conn: AsyncConnection, failure_id: int) -> dict[str, Any]:
    row = (await conn.execute(select(failures).where(failures.c.id == failure_id))).first()
    if row is None:
        raise NotFound(f"no failure {failure_id}")
    return {
        **failure_summary(row),
        "record_headers": row.record_headers,
        "record": raw_text(row.record_value),
    }
