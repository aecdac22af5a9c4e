"""Destinations that pull: take what is ready with a cursor, then acknowledge what was taken.

A delivery stays available until acknowledged, so a consumer that crashed after taking a page
takes it again; deliveries carry the message id so the agency can de-duplicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange import audit
from exchange.db.tables import deliveries, messages


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: int


async def take(
    conn: AsyncConnection,
    *,
    destination: str,
    actor: str,
    cursor: int = 0,
    limit: int = 100,
    organisation: str | None = None,
    visible: ColumnElement[bool] | None = None,
) -> Page:
    """Deliveries for ``destination`` after ``cursor`` that are not yet acknowledged.

    ``visible`` narrows them to the caller's tenancy (``exchange.tenancy.delivery_filter``);
    ``organisation`` is the older, simpler form (``destination_org`` equals it)."""
    cond = and_(
        deliveries.c.destination == destination,
        deliveries.c.seq > cursor,
        deliveries.c.status.in_(("available", "taken")),
    )
    if organisation is not None:
        cond = and_(cond, deliveries.c.destination_org == organisation)
    if visible is not None:
        cond = and_(cond, visible)
    rows = (
        await conn.execute(select(deliveries).where(cond).order_by(deliveries.c.seq).limit(limit))
    ).all()
    if rows:
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.seq.in_([r.seq for r in rows]))
            .where(deliveries.c.status == "available")
            .values(status="taken", taken_at=text("now()"), attempts=deliveries.c.attempts + 1)
        )
        await audit.record_many(
            conn,
            [
                {
                    "message_id": r.message_id,
                    "case_urn": r.case_urn,
                    "event": "delivery.taken",
                    "actor": actor,
                    "detail": {"destination": destination, "seq": r.seq},
                }
                for r in rows
            ],
        )
    items = [
        {
            "cursor": r.seq,
            "message_id": str(r.message_id),
            "case_urn": r.case_urn,
            "message_type": r.message_type,
            "format": r.format,
            "body": r.payload,
        }
        for r in rows
    ]
    return Page(items, rows[-1].seq if rows else cursor)


async def acknowledge(
    conn: AsyncConnection,
    *,
    destination: str,
    message_ids: list[uuid.UUID],
    actor: str,
    organisation: str | None = None,
    visible: ColumnElement[bool] | None = None,
) -> list[uuid.UUID]:
    """Mark deliveries as acknowledged; returns the ids that were this destination's and
    the caller's to acknowledge (another tenant's ids are left alone and not returned)."""
    cond = and_(deliveries.c.destination == destination, deliveries.c.message_id.in_(message_ids))
    if organisation is not None:
        cond = and_(cond, deliveries.c.destination_org == organisation)
    if visible is not None:
        cond = and_(cond, visible)
    acked = (
        await conn.execute(
            update(deliveries)
            .where(cond)
            .values(
                status="acknowledged",
                acknowledged_at=func.coalesce(deliveries.c.acknowledged_at, text("now()")),
            )
            .returning(deliveries.c.message_id, deliveries.c.case_urn)
        )
    ).all()
    if acked:
        await audit.record_many(
            conn,
            [
                {
                    "message_id": r.message_id,
                    "case_urn": r.case_urn,
                    "event": "delivery.acknowledged",
                    "actor": actor,
                    "detail": {"destination": destination},
                }
                for r in acked
            ],
        )
        unacked = (
            select(func.count())
            .where(deliveries.c.message_id == messages.c.message_id)
            .where(deliveries.c.status != "acknowledged")
            .scalar_subquery()
        )
        await conn.execute(
            update(messages)
            .where(messages.c.message_id.in_([r.message_id for r in acked]))
            .where(messages.c.status == "delivered")
            .where(unacked == 0)
            .values(status="acknowledged", updated_at=text("now()"))
        )
    return [r.message_id for r in acked]
