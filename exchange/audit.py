"""The append-only audit trail: one row per thing that happened to a message or a case."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.db.tables import audit_events


async def record(
    conn: AsyncConnection,
    event: str,
    *,
    actor: str,
    message_id: uuid.UUID | None = None,
    case_urn: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction, so it commits with the effect it records."""
    await conn.execute(
        audit_events.insert().values(
            message_id=message_id,
            case_urn=case_urn,
            event=event,
            actor=actor,
            detail=detail or {},
        )
    )


async def record_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(audit_events.insert(), rows)
