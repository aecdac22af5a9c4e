"""Liveness (the process answers) and readiness (it can make a message durable)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from exchange.api.deps import HubDep
from exchange.api.responses import JSON

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(hub: HubDep) -> JSON:
    try:
        async with hub.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return JSON({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    return JSON({"status": "ok", "database": "ok"})
