"""The HTTP application: agency endpoints, message lookup, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from exchange import gctune, metrics, telemetry
from exchange.api import agencies, console, documents, errors, health, messages, ops
from exchange.api import audit as audit_api
from exchange.api.limits import HeaderLimits
from exchange.api.responses import JSON
from exchange.api.usage import TokenUseAudit
from exchange.bootstrap import Hub, bootstrap
from exchange.settings import Settings, get_settings


def create_app(settings: Settings | None = None, hub: Hub | None = None) -> FastAPI:
    """Build the app; the lifespan owns the hub (engine, registry) and this process's tracing
    unless a hub is given (tests bring their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = hub is None
        if owned:
            telemetry.configure(settings or get_settings(), telemetry.API)
        app.state.hub = hub or bootstrap(settings or get_settings())
        if owned:
            # As the worker does: the start-up heap (standing data, schemas, models) out of
            # every collection, young collections less often (docs/performance.md).
            gctune.tune_after_start()
        try:
            yield
        finally:
            if owned:
                await app.state.hub.close()
                telemetry.shutdown()

    app = FastAPI(
        title="CJS Exchange Hub",
        version="0.1.0",
        description="Canonical case messages between police, CPS and courts.",
        default_response_class=JSON,
        lifespan=lifespan,
    )
    if hub is not None:
        app.state.hub = hub  # also without a lifespan (tests drive the app in-process)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(agencies.router)
    app.include_router(messages.router)
    app.include_router(documents.router)
    app.include_router(audit_api.router)
    app.include_router(ops.router)
    app.include_router(console.router)
    app.include_router(metrics.router)
    app.add_middleware(TokenUseAudit)
    app.add_middleware(HeaderLimits)  # outermost of ours: refuse before anything runs
    return app
