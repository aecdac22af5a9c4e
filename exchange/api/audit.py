"""The audit trail for ops: who read, replayed or amended what, and every token use."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from exchange import audit
from exchange.api.deps import HubDep, PrincipalDep
from exchange.db.engine import transaction

router = APIRouter(tags=["ops"])


@router.get("/audit", summary="Audit events, filtered (ops only); oldest first, cursor paging")
async def list_events(
    hub: HubDep,
    principal: PrincipalDep,
    message_id: uuid.UUID | None = None,
    case_urn: Annotated[str | None, Query(max_length=20)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    event: Annotated[str | None, Query(max_length=60)] = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    principal.require("ops")
    async with transaction(hub.engine) as conn:
        items = await audit.query(
            conn,
            message_id=message_id,
            case_urn=case_urn,
            actor=actor,
            event=event,
            since=since,
            until=until,
            after_id=cursor,
            limit=limit,
        )
        await audit.record(
            conn,
            "audit.queried",
            actor=principal.client_id,
            message_id=message_id,
            case_urn=case_urn,
            detail={"actor": actor, "event": event, "returned": len(items)},
        )
    return {"items": items, "next_cursor": items[-1]["id"] if items else cursor}
