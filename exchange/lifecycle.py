"""A message's status follows its deliveries: delivered once every destination has its
rendering, acknowledged once every destination took it.

Consumers of different destinations finish the same message concurrently, each in its own
transaction. Counting inside an UPDATE would let both see only their own delivery and leave
the message behind; so the message row is locked first and the deliveries counted in a later
statement, whose fresh snapshot (READ COMMITTED) includes the other's committed work.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.db.tables import deliveries, messages


async def _lock(conn: AsyncConnection, message_id: uuid.UUID) -> str | None:
    return (
        await conn.execute(
            select(messages.c.status).where(messages.c.message_id == message_id).with_for_update()
        )
    ).scalar_one_or_none()


async def delivered_if_complete(
    conn: AsyncConnection, message_id: uuid.UUID, destinations: int
) -> None:
    if await _lock(conn, message_id) not in ("validated", "routed", "replayed"):
        return
    made = (
        await conn.execute(
            select(func.count()).where(deliveries.c.message_id == message_id)
        )
    ).scalar_one()
    if made >= destinations:
        await _set(conn, message_id, "delivered")


async def acknowledged_if_complete(conn: AsyncConnection, message_id: uuid.UUID) -> None:
    if await _lock(conn, message_id) != "delivered":
        return
    pending = (
        await conn.execute(
            select(func.count())
            .where(deliveries.c.message_id == message_id)
            .where(deliveries.c.status != "acknowledged")
        )
    ).scalar_one()
    if pending == 0:
        await _set(conn, message_id, "acknowledged")


async def _set(conn: AsyncConnection, message_id: uuid.UUID, status: str) -> None:
    await conn.execute(
        update(messages)
        .where(messages.c.message_id == message_id)
        .values(status=status, updated_at=text("now()"))
    )
