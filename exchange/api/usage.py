"""One audit event per authenticated request: who (client id, token id), what (method,
path) and the answer's status. Recorded after the response, off the request's own
transaction, so it costs the caller nothing and a read-only request stays read-only."""

from __future__ import annotations

from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange import audit
from exchange.auth import Principal
from exchange.db.engine import transaction

log = structlog.get_logger(__name__)

TOKEN_USED = "token.used"  # noqa: S105 - an event name, not a secret


class TokenUseAudit:
    """ASGI middleware: after each request that authenticated, append ``token.used``."""

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
            principal = scope.get("state", {}).get("principal")
            if isinstance(principal, Principal):
                await self._record(scope, principal, status[0] if status else 500)

    async def _record(self, scope: Scope, principal: Principal, status: int) -> None:
        hub: Any = getattr(scope["app"].state, "hub", None)
        if hub is None or not hub.settings.audit_token_use:
            return
        try:
            async with transaction(hub.engine) as conn:
                await audit.record(
                    conn,
                    TOKEN_USED,
                    actor=principal.client_id,
                    detail={
                        "jti": principal.token_id,
                        "method": scope["method"],
                        "path": scope["path"][:300],
                        "status": status,
                    },
                )
        except Exception:  # noqa: BLE001 - the answer is already sent; never fail it here
            log.exception("audit.token_use_not_recorded", client_id=principal.client_id)
