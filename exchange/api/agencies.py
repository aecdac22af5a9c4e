"""Agency endpoints: police, CPS and courts post documents, and pull what is ready for them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import BaseModel, Field

from exchange import pull, telemetry, tenancy
from exchange.api.deps import BodyDep, HubDep, PrincipalDep
from exchange.api.responses import JSON
from exchange.api.usage import RECORDED, audits_token_use
from exchange.db.engine import is_outage, transaction
from exchange.domain.envelope import Agency
from exchange.domain.errors import ExchangeError
from exchange.ingest import Receipt, Submission, TokenUse

router = APIRouter()

# Each agency's system name as the hub records it on the envelope.
SYSTEMS = {Agency.POLICE: "NSPIS", Agency.CPS: "CMS", Agency.COURT: "DCS"}


def _post_endpoint(agency: Agency) -> None:
    route = f"/{agency.value}/messages"

    async def post_message(
        request: Request,
        hub: HubDep,
        principal: PrincipalDep,
        body: BodyDep,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
        traceparent: Annotated[
            str | None,
            Header(description="W3C trace context: the hub's trace of this message joins it"),
        ] = None,
        tracestate: Annotated[str | None, Header(description="W3C trace state")] = None,
    ) -> JSON:
        # The server span continues the sender's trace when its traceparent is valid; an
        # invalid one starts a new trace rather than refusing the message.
        parent = telemetry.extract(
            {"traceparent": traceparent or "", "tracestate": tracestate or ""}
        )
        with telemetry.tracer().start_as_current_span(
            f"POST {route}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": "POST",
                "http.route": route,
                "cjs.agency": agency.value,
                "cjs.client_id": principal.client_id,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                principal.require(agency.value)
                receipt = await hub.ingest.submit(
                    Submission(
                        raw=body.raw,
                        content_type=body.content_type,
                        client_id=principal.client_id,
                        agency=agency,
                        system=SYSTEMS[agency],
                        organisation=principal.organisation,
                        idempotency_key=idempotency_key,
                        # This span's context: the outbox row carries it on (headers_for).
                        traceparent=telemetry.current_traceparent(),
                        # token.used is written with the message, not after the answer.
                        token_use=TokenUse(principal.token_id, "POST", request.scope["path"])
                        if audits_token_use(hub)
                        else None,
                    )
                )
                if receipt.token_use_recorded:
                    setattr(request.state, RECORDED, True)
            except ExchangeError as exc:
                _server_error(span, exc, exc.http_status, exc.code)
                raise
            except Exception as exc:
                _server_error(span, exc, 503 if is_outage(exc) else 500, type(exc).__name__)
                raise
            status = receipt.http_status
            _server_answered(span, receipt, status)
        headers = {"Location": f"/messages/{receipt.message_id}"}
        if receipt.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSON(receipt.to_dict(), status_code=status, headers=headers)

    router.add_api_route(
        route,
        post_message,
        methods=["POST"],
        status_code=202,
        summary=f"Submit a document from a {agency.value} system",
        tags=[agency.value],
        responses={
            202: {"description": "accepted and durable; carries the message id"},
            415: {"description": "format or content type not accepted here"},
            422: {"description": "rejected: errors with code, message, location and line"},
            503: {"description": "the hub cannot make it durable now; retry"},
        },
    )


def _server_answered(span: Span, receipt: Receipt, status: int) -> None:
    span.set_attributes(
        {
            "http.response.status_code": status,
            "messaging.message.id": str(receipt.message_id),
            "cjs.status": receipt.status,
            "cjs.replayed": receipt.replayed,
        }
    )
    if receipt.message_type:
        span.set_attribute("cjs.message_type", receipt.message_type)
    if not receipt.accepted:
        codes = {str(e.get("code")) for e in receipt.errors}
        span.set_attribute("error.type", codes.pop() if len(codes) == 1 else "MESSAGE_INVALID")


def _server_error(span: Span, exc: BaseException, status: int, code: str) -> None:
    """Record an error by its code only (its message may hold case data). A 4xx is the
    caller's: the span's status stays unset, as the HTTP conventions say."""
    span.set_attributes({"http.response.status_code": status, "error.type": code})
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


class Acknowledgement(BaseModel):
    message_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


def _pull_endpoints(agency: Agency) -> None:
    async def take(
        hub: HubDep,
        principal: PrincipalDep,
        cursor: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, object]:
        principal.require(agency.value)
        async with transaction(hub.engine) as conn:
            page = await pull.take(
                conn,
                destination=agency.value,
                actor=principal.client_id,
                cursor=cursor,
                limit=limit,
                visible=tenancy.delivery_filter(principal, agency.value),
            )
        return {"items": page.items, "next_cursor": page.next_cursor}

    async def acknowledge(
        hub: HubDep, principal: PrincipalDep, ack: Acknowledgement
    ) -> dict[str, object]:
        principal.require(agency.value)
        async with transaction(hub.engine) as conn:
            done = await pull.acknowledge(
                conn,
                destination=agency.value,
                message_ids=ack.message_ids,
                actor=principal.client_id,
                visible=tenancy.delivery_filter(principal, agency.value),
            )
        # Another tenant's ids are reported exactly like ids that do not exist.
        unknown = sorted(set(ack.message_ids) - set(done), key=str)
        return {"acknowledged": [str(m) for m in done], "unknown": [str(m) for m in unknown]}

    router.add_api_route(
        f"/{agency.value}/deliveries",
        take,
        methods=["GET"],
        summary=f"Pull what is ready for a {agency.value} system (cursor paging)",
        tags=[agency.value],
    )
    router.add_api_route(
        f"/{agency.value}/deliveries/ack",
        acknowledge,
        methods=["POST"],
        summary="Acknowledge deliveries taken, by message id",
        tags=[agency.value],
    )


for _agency in (Agency.POLICE, Agency.CPS, Agency.COURT):
    _post_endpoint(_agency)
    _pull_endpoints(_agency)
