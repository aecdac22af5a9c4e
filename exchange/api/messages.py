"""Looking up one message: its state, errors, deliveries and audit trail."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from exchange import audit, tenancy
from exchange.api.deps import HubDep, PrincipalDep
from exchange.db.engine import transaction
from exchange.db.tables import audit_events, deliveries, messages
from exchange.domain.errors import NotFound

router = APIRouter(tags=["messages"])


@router.get("/messages/{message_id}", summary="A message's state, errors and history")
async def get_message(
    message_id: uuid.UUID, hub: HubDep, principal: PrincipalDep
) -> dict[str, Any]:
    tenancy.require_case_access(principal)
    query = select(messages).where(messages.c.message_id == message_id)
    visible = tenancy.message_filter(principal)
    if visible is not None:
        query = query.where(visible)
    async with transaction(hub.engine) as conn:
        row = (await conn.execute(query)).first()
        if row is None:
            # Another tenant's message is answered exactly as one that does not exist.
            raise NotFound(f"no message {message_id}")
        sent = (
            await conn.execute(select(deliveries).where(deliveries.c.message_id == message_id))
        ).all()
        events = (
            await conn.execute(
                select(audit_events)
                .where(audit_events.c.message_id == message_id)
                .order_by(audit_events.c.id)
            )
        ).all()
        await audit.record(
            conn,
            "message.read",
            actor=principal.client_id,
            message_id=message_id,
            case_urn=row.case_urn,
        )
    return {
        "message_id": str(row.message_id),
        "status": row.status,
        "message_type": row.message_type,
        "format": row.format,
        "case_urn": row.case_urn,
        "source": {"agency": row.source_agency, "system": row.source_system},
        "received_at": row.received_at.isoformat(),
        "errors": row.errors or [],
        "canonical": row.canonical,
        "deliveries": [
            {
                "destination": d.destination,
                "format": d.format,
                "status": d.status,
                "created_at": d.created_at.isoformat(),
                "acknowledged_at": d.acknowledged_at.isoformat() if d.acknowledged_at else None,
            }
            for d in sent
        ],
        "events": [
            {"event": e.event, "actor": e.actor, "at": e.at.isoformat(), "detail": e.detail}
            for e in events
        ],
    }
