"""The ops API: search and inspect, replay (dry run, canary, rate), amend, case timelines and
shared figures. Ops staff (scope ``ops``) do everything; managers (``manager``) read figures.
Every read of a message or case and every change is audited."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from exchange import audit
from exchange.api.deps import HubDep, PrincipalDep
from exchange.auth import Forbidden, Principal
from exchange.db.engine import transaction
from exchange.domain.errors import NotFound
from exchange.ops import amend, figures, inspect, replay, search, timeline
from exchange.ops.config import OpsSettings

__all__ = ["get_ops_settings", "router"]

router = APIRouter(prefix="/ops", tags=["ops"])


@lru_cache
def get_ops_settings() -> OpsSettings:
    return OpsSettings()


OpsSettingsDep = Annotated[OpsSettings, Depends(get_ops_settings)]


def _ops(principal: Principal) -> str:
    principal.require("ops")
    return principal.client_id


def _reader_of_figures(principal: Principal) -> None:
    if not principal.roles & {"ops", "manager"}:
        raise Forbidden(f"client {principal.client_id!r} needs the 'manager' or 'ops' scope")


Since = Annotated[dt.datetime | None, Query(description="from this time (inclusive)")]
Until = Annotated[dt.datetime | None, Query(description="to this time (exclusive)")]
Limit = Annotated[int, Query(ge=1, le=search.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of a page")]


@router.get("/messages", summary="Search messages (newest first, keyset pages)")
async def search_messages(
    hub: HubDep,
    principal: PrincipalDep,
    case_urn: Annotated[str | None, Query(max_length=20)] = None,
    asn: Annotated[str | None, Query(max_length=25)] = None,
    agency: Annotated[str | None, Query(max_length=20)] = None,
    message_type: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    error_code: Annotated[str | None, Query(max_length=60)] = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    _ops(principal)
    f = search.MessageFilter(case_urn, asn, agency, message_type, status, error_code, since, until)
    async with transaction(hub.engine) as conn:
        page = await search.search_messages(conn, f, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/messages/{message_id}", summary="One message: raw, canonical, errors, history")
async def get_message(message_id: uuid.UUID, hub: HubDep, principal: PrincipalDep) -> Any:
    actor = _ops(principal)
    async with transaction(hub.engine) as conn:
        found = await inspect.message_detail(conn, message_id)
        await audit.record(
            conn,
            "ops.message.read",
            actor=actor,
            message_id=message_id,
            case_urn=found["case_urn"],
        )
    return found


class FailureQuery(BaseModel):
    case_urn: str | None = Field(None, max_length=20)
    message_id: uuid.UUID | None = None
    consumer: str | None = Field(None, max_length=80)
    error_code: str | None = Field(None, max_length=60)
    status: Literal["parked", "replayed", "resolved", "any"] = Field(
        "parked", description="'any' for every status"
    )
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def to_filter(self) -> search.FailureFilter:
        fields = self.model_dump()
        if fields["status"] == "any":
            fields["status"] = None
        return search.FailureFilter(**fields)


@router.get("/failures", summary="Search parked (or replayed) failures")
async def search_failures(
    hub: HubDep,
    principal: PrincipalDep,
    q: Annotated[FailureQuery, Query()],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    _ops(principal)
    async with transaction(hub.engine) as conn:
        page = await search.search_failures(conn, q.to_filter(), cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/failures/{failure_id}", summary="One failure with the parked record")
async def get_failure(failure_id: int, hub: HubDep, principal: PrincipalDep) -> Any:
    actor = _ops(principal)
    async with transaction(hub.engine) as conn:
        found = await inspect.failure_detail(conn, failure_id)
        await audit.record(
            conn,
            "ops.failure.read",
            actor=actor,
            message_id=uuid.UUID(found["message_id"]) if found["message_id"] else None,
            case_urn=found["case_urn"],
            detail={"failure_id": failure_id},
        )
    return found


class Selection(BaseModel):
    """Failures to replay: their ids, or a search filter (not both)."""

    failure_ids: list[int] | None = Field(None, min_length=1, max_length=replay.MAX_SELECTION)
    filter: FailureQuery | None = None


class ReplayRequest(Selection):
    reason: str = Field(min_length=3, max_length=500, description="why; kept in the audit")
    canary: int | None = Field(None, ge=0, le=1000, description="replay these first, check")
    rate: float | None = Field(None, gt=0, le=1000, description="replays per second at most")


async def _plan(hub: Any, sel: Selection, settings: OpsSettings) -> replay.ReplayPlan:
    async with transaction(hub.engine) as conn:
        return await replay.plan_replay(
            conn,
            failure_ids=sel.failure_ids,
            selection=sel.filter.to_filter() if sel.filter else None,
            max_count=settings.replay_max_count,
        )


@router.post("/replays/dry-run", summary="What a replay would do: count and error codes")
async def dry_run(
    sel: Selection, hub: HubDep, principal: PrincipalDep, settings: OpsSettingsDep
) -> dict[str, Any]:
    _ops(principal)
    return (await _plan(hub, sel, settings)).to_dict()


@router.post("/replays", summary="Replay parked messages (canary first, rate limited)")
async def replay_failures(
    body: ReplayRequest, hub: HubDep, principal: PrincipalDep, settings: OpsSettingsDep
) -> dict[str, Any]:
    actor = _ops(principal)
    plan = await _plan(hub, body, settings)
    replayer = replay.Replayer(
        hub.engine,
        max_count=settings.replay_max_count,
        topic_prefix=hub.settings.topic_prefix,
        canary_timeout=settings.replay_canary_timeout_seconds,
    )
    outcome = await replayer.run(
        plan,
        actor=actor,
        reason=body.reason,
        canary=settings.replay_canary_size if body.canary is None else body.canary,
        rate=body.rate or settings.replay_rate_per_second,
    )
    return {"plan": plan.to_dict(), **outcome.to_dict()}


class DeliveryReplay(BaseModel):
    message_id: uuid.UUID
    destination: str = Field(max_length=20)
    reason: str = Field(min_length=3, max_length=500)


@router.post("/deliveries/replay", summary="Deliver again what a destination never acknowledged")
async def replay_delivery(
    body: DeliveryReplay, hub: HubDep, principal: PrincipalDep
) -> dict[str, Any]:
    actor = _ops(principal)
    async with transaction(hub.engine) as conn:
        return await replay.replay_delivery(
            conn, body.message_id, body.destination, actor=actor, reason=body.reason
        )


class Change(BaseModel):
    pointer: str = Field(min_length=2, max_length=300, examples=["/payload/case/court_ou"])
    value: Any


class AmendPreview(BaseModel):
    changes: list[Change] = Field(min_length=1, max_length=50)

    def amendments(self) -> list[amend.Amendment]:
        return [amend.Amendment(c.pointer, c.value) for c in self.changes]


class AmendRequest(AmendPreview):
    reason: str = Field(min_length=3, max_length=500)


@router.post("/failures/{failure_id}/amend/preview", summary="Diff and validation, no change")
async def amend_preview(
    failure_id: int, body: AmendPreview, hub: HubDep, principal: PrincipalDep
) -> dict[str, Any]:
    _ops(principal)
    async with transaction(hub.engine) as conn:
        return await amend.preview(conn, hub.registry, hub.standing, failure_id, body.amendments())


@router.post("/failures/{failure_id}/amend", summary="Amend the canonical payload and replay")
async def amend_and_replay(
    failure_id: int,
    body: AmendRequest,
    hub: HubDep,
    principal: PrincipalDep,
    settings: OpsSettingsDep,
) -> dict[str, Any]:
    actor = _ops(principal)
    async with transaction(hub.engine) as conn:
        return await amend.amend_and_replay(
            conn,
            hub.registry,
            hub.standing,
            failure_id,
            body.amendments(),
            actor=actor,
            reason=body.reason,
            max_count=settings.replay_max_count,
            topic_prefix=hub.settings.topic_prefix,
        )


@router.get("/cases/{case_urn}/timeline", summary="Every message of a case, in order, linked")
async def case_timeline(case_urn: str, hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    actor = _ops(principal)
    async with transaction(hub.engine) as conn:
        found = await timeline.case_timeline(conn, case_urn)
        await audit.record(conn, "ops.case.read", actor=actor, case_urn=found["case_urn"])
    return found


def _window(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    until = until or dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    return since or until - dt.timedelta(days=30), until


@router.get("/figures", summary="Shared figures per force, CPS unit and court")
async def get_figures(
    hub: HubDep, principal: PrincipalDep, since: Since = None, until: Until = None
) -> dict[str, Any]:
    _reader_of_figures(principal)
    start, end = _window(since, until)
    async with transaction(hub.engine) as conn:
        return await figures.figures(conn, start, end)


@router.get("/figures/{table}.csv", summary="One table of the shared figures as CSV")
async def get_figures_csv(
    table: str, hub: HubDep, principal: PrincipalDep, since: Since = None, until: Until = None
) -> Response:
    _reader_of_figures(principal)
    if table not in figures.TABLES:
        raise NotFound(f"no figures table {table!r}; one of {', '.join(figures.TABLES)}")
    start, end = _window(since, until)
    async with transaction(hub.engine) as conn:
        found = await figures.figures(conn, start, end)
    return Response(
        figures.to_csv(found[table]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
    )
