"""A message's status follows its deliveries: delivered once every destination has its
rendering, acknowledged once every destination took it.

Consumers of different destinations finish the same message concurrently, each in its own
transaction. Counting inside an UPDATE would let both see only their own delivery and leave
the message behind; so the message rows are locked first (in id order, so two lockers never
deadlock) and the deliveries counted in a later statement, whose fresh snapshot (READ
COMMITTED) includes the other's committed work.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.db.tables import deliveries, messages


async def _lock(conn: AsyncConnection, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await conn.execute(
        select(messages.c.message_id, messages.c.status)
        .where(messages.c.message_id.in_(sorted(ids)))
        .order_by(messages.c.message_id)
        .with_for_update()
    )
    return {r.message_id: r.status for r in rows}


async def delivered_if_complete(
    conn: AsyncConnection, destinations: Mapping[uuid.UUID, int]
) -> None:
    """``destinations`` maps each message id to how many destinations it has."""
    if not destinations:
        return
    locked = await _lock(conn, destinations)
    open_ids = [m for m, s in locked.items() if s in ("validated", "routed", "replayed")]
    if not open_ids:
        return
    counted = await conn.execute(
        select(deliveries.c.message_id, func.count().label("n"))
        .where(deliveries.c.message_id.in_(open_ids))
        .group_by(deliveries.c.message_id)
    )
    made = {row.message_id: row.n for row in counted}
    complete = [m for m in open_ids if made.get(m, 0) >= destinations[m]]
    await _set(conn, complete, "delivered")


async def acknowledged_if_complete(conn: AsyncConnection, ids: Collection[uuid.UUID]) -> None:
    if not ids:
        return
    locked = await _lock(conn, ids)
    open_ids = [m for m, s in locked.items() if s == "delivered"]
    if not open_ids:
        return
    pending = set(
        (
            await conn.execute(
                select(deliveries.c.message_id)
                .where(deliveries.c.message_id.in_(open_ids))
                .where(deliveries.c.status != "acknowledged")
                .distinct()
            )
        ).scalars()
    )
    await _set(conn, [m for m in open_ids if m not in pending], "acknowledged")


async def _set(conn: AsyncConnection, ids: list[uuid.UUID], status: str) -> None:
    if ids:
        await conn.execute(
            update(messages)
            .where(messages.c.message_id.in_(ids))
            .values(status=status, updated_at=text("now()"))
        )
