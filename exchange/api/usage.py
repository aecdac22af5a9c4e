"""One audit event per authenticated request: who (client id, token id), what (method,
path) and the answer's status.

An agency's submission writes its ``token.used`` event itself, in the transaction that
stores the message (exchange/ingest.py), and marks the request so; every other request has
it recorded here, after the response, off the request's own transaction, so it costs the
caller nothing and a read-only request stays read-only."""

from __future__ import annotations

from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange import audit
from exchange.auth import Principal
from exchange.db.engine import transaction

log = structlog.get_logger(__name__)

TOKEN_USED = audit.TOKEN_USED
# Set in a request's state once its token use is committed with its effect (ingest).
RECORDED = "token_use_recorded"


def audits_token_use(hub: Any) -> bool:
    settings = getattr(hub, "settings", None)
    return bool(settings is not None and settings.audit_token_use)


class TokenUseAudit:
    """ASGI middleware: after each request that authenticated, append ``token.used``
    unless the request already recorded it with its effect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            state = scope.get("state", {})
            principal = state.get("principal")
            if isinstance(principal, Principal) and not state.get(RECORDED):
                await self._record(scope, principal, status[0] if status else 500)

    async def _record(self, scope: Scope, principal: Principal, status: int) -> None:
        hub: Any = getattr(scope["app"].state, "hub", None)
        if hub is None or not audits_token_use(hub):
            return
        try:
            async with transaction(hub.engine) as conn:
                await audit.record(
                    conn,
                    TOKEN_USED,
                    actor=principal.client_id,
                    detail=audit.token_use(
                        principal.token_id, scope["method"], scope["path"], status
                    ),
                )
        except Exception:  # noqa: BLE001 - the answer is already sent; never fail it here
            log.exception("audit.token_use_not_recorded", client_id=principal.client_id)
