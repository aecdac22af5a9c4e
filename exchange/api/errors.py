"""One mapping from errors to HTTP answers: precise, machine-readable, never a bare 500."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from exchange.api.responses import JSON
from exchange.db.engine import is_outage
from exchange.domain.errors import ExchangeError

log = structlog.get_logger(__name__)


def install(app: FastAPI) -> None:
    @app.exception_handler(ExchangeError)
    async def _exchange_error(_: Request, exc: ExchangeError) -> JSON:
        # An error may carry its own headers (WWW-Authenticate on 401, Retry-After on 429).
        headers: dict[str, str] = {"Retry-After": "5"} if exc.retriable else {}
        headers.update(getattr(exc, "headers", None) or {})
        return JSON(exc.to_dict(), status_code=exc.http_status, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSON:
        errors = [
            {
                "code": "REQUEST_INVALID",
                "message": e.get("msg", "invalid"),
                "location": "/" + "/".join(str(p) for p in e.get("loc", ())),
            }
            for e in exc.errors()
        ]
        return JSON(
            {"code": "REQUEST_INVALID", "message": "request is not valid", "errors": errors},
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        if is_outage(exc):
            return JSON(
                {"code": "SERVICE_UNAVAILABLE", "message": "a dependency is unavailable; retry"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        log.exception("api.unexpected", path=request.url.path)
        return JSON(
            {"code": "INTERNAL_ERROR", "message": "unexpected error; it has been logged"},
            status_code=500,
        )
