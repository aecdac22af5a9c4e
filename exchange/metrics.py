"""Prometheus metrics: counters the hot path increments, gauges computed on scrape.

Counters live in the process that counts (the API for ingest, the worker for the relay and
consumers); each process exposes its own registry: the API at ``/metrics`` (this router), the
worker through :func:`serve_worker_metrics`. Gauges that describe shared state (dead-letter
depth from PostgreSQL, consumer lag from Kafka) are computed when scraped, behind a short
cache so a busy scraper does not load the database or the broker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
    start_http_server,
)
from sqlalchemy import func, select

from exchange.db.tables import failures

__all__ = [
    "REGISTRY",
    "record_delivery",
    "record_ingest",
    "record_parked",
    "record_published",
    "record_replay",
    "record_validation_errors",
    "refresh",
    "router",
    "serve_worker_metrics",
]

log = structlog.get_logger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

INGESTED = Counter(
    "exchange_ingest_messages",
    "Messages submitted by agencies, by outcome",
    ["agency", "format", "status"],
    registry=REGISTRY,
)
VALIDATION_FAILURES = Counter(
    "exchange_validation_failures",
    "Errors that rejected a message, by error code",
    ["code"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "exchange_deliveries",
    "Delivery state changes, by destination and new status",
    ["destination", "status"],
    registry=REGISTRY,
)
PARKED = Counter(
    "exchange_consumer_parked",
    "Messages a consumer parked (dead-lettered), by consumer and error code",
    ["consumer", "code"],
    registry=REGISTRY,
)
PUBLISHED = Counter(
    "exchange_outbox_published", "Outbox rows published to Kafka", registry=REGISTRY
)
REPLAYS = Counter(
    "exchange_replays",
    "Replays asked for by ops, by kind (failure, delivery) and outcome",
    ["kind", "outcome"],
    registry=REGISTRY,
)
DEAD_LETTER_DEPTH = Gauge(
    "exchange_dead_letter_depth",
    "Parked failures waiting for ops, by consumer",
    ["consumer"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "exchange_consumer_lag",
    "Records not yet consumed (end offset minus committed offset), by group and topic",
    ["group", "topic"],
    registry=REGISTRY,
)
SCRAPE_ERRORS = Counter(
    "exchange_metrics_refresh_errors",
    "Failures computing on-scrape gauges, by source",
    ["source"],
    registry=REGISTRY,
)


# ---------------------------------------------------------------- hot-path calls


def record_ingest(
    agency: str, fmt: str | None, status: str, error_codes: Iterable[str] = ()
) -> None:
    """One submission stored (accepted or rejected), with the codes that rejected it."""
    INGESTED.labels(agency, fmt or "unknown", status).inc()
    record_validation_errors(error_codes)


def record_validation_errors(codes: Iterable[str]) -> None:
    for code in codes:
        VALIDATION_FAILURES.labels(code).inc()


def record_delivery(destination: str, status: str, n: int = 1) -> None:
    if n:
        DELIVERIES.labels(destination, status).inc(n)


def record_parked(consumer: str, code: str) -> None:
    PARKED.labels(consumer, code).inc()


def record_published(n: int) -> None:
    if n:
        PUBLISHED.inc(n)


def record_replay(kind: str, outcome: str) -> None:
    REPLAYS.labels(kind, outcome).inc()


# ---------------------------------------------------------------- gauges on scrape


class _Cache:
    def __init__(self) -> None:
        self.at = 0.0
        self.hub: object = None
        self.lock = asyncio.Lock()


_cache = _Cache()


async def refresh(hub: Any, *, max_age: float = 10.0) -> None:
    """Recompute the on-scrape gauges unless they are younger than ``max_age`` seconds."""
    async with _cache.lock:
        if _cache.hub is hub and time.monotonic() - _cache.at < max_age:
            return
        await _refresh_dead_letter(hub)
        await _refresh_lag(hub)
        _cache.at, _cache.hub = time.monotonic(), hub


async def _refresh_dead_letter(hub: Any) -> None:
    try:
        async with hub.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(failures.c.consumer, func.count())
                    .where(failures.c.status == "parked")
                    .group_by(failures.c.consumer)
                )
            ).all()
    except Exception as exc:  # noqa: BLE001 - a scrape must answer even when the DB is down
        SCRAPE_ERRORS.labels("database").inc()
        log.warning("metrics.dead_letter_failed", error=type(exc).__name__)
        return
    DEAD_LETTER_DEPTH.clear()
    for consumer in _consumers(hub):
        DEAD_LETTER_DEPTH.labels(consumer).set(0)
    for consumer, count in rows:
        DEAD_LETTER_DEPTH.labels(consumer).set(count)


def _consumers(hub: Any) -> list[str]:
    return [o.consumer_name for o in hub.registry.all_outbound()]


async def _refresh_lag(hub: Any) -> None:
    try:
        lag = await asyncio.wait_for(consumer_lag(hub), timeout=5)
    except Exception as exc:  # noqa: BLE001 - the broker being away must not fail the scrape
        SCRAPE_ERRORS.labels("kafka").inc()
        log.warning("metrics.lag_failed", error=type(exc).__name__, detail=str(exc)[:200])
        return
    CONSUMER_LAG.clear()
    for (group, topic), value in lag.items():
        CONSUMER_LAG.labels(group, topic).set(value)


async def consumer_lag(hub: Any) -> dict[tuple[str, str], int]:
    """Per (consumer group, topic): end offsets minus the group's committed offsets, for
    every group of this hub (named ``<consumer_group_prefix>.*``) on this hub's topics."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    s = hub.settings
    admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap, client_id="cjs-metrics")
    reader = AIOKafkaConsumer(
        bootstrap_servers=s.kafka_bootstrap, client_id="cjs-metrics", enable_auto_commit=False
    )
    await admin.start()
    await reader.start()
    try:
        listed = await admin.list_consumer_groups()
        groups = sorted(g[0] for g in listed if str(g[0]).startswith(s.consumer_group_prefix + "."))
        committed: dict[str, dict[Any, int]] = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            committed[group] = {
                tp: meta.offset
                for tp, meta in offsets.items()
                if tp.topic.startswith(s.topic_prefix)
            }
        partitions = {tp for found in committed.values() for tp in found}
        ends = await reader.end_offsets(list(partitions)) if partitions else {}
    finally:
        await reader.stop()
        await admin.close()
    lag: dict[tuple[str, str], int] = {}
    for group, offsets in committed.items():
        for tp, done in offsets.items():
            key = (group, tp.topic)
            lag[key] = lag.get(key, 0) + max(ends.get(tp, 0) - max(done, 0), 0)
    return lag


# ---------------------------------------------------------------- exposition

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    hub = request.app.state.hub
    max_age = getattr(getattr(hub, "ops_settings", None), "metrics_cache_seconds", 10.0)
    await refresh(hub, max_age=max_age)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def serve_worker_metrics(port: int, addr: str = "127.0.0.1") -> None:
    """Expose this process's counters (the worker has no HTTP app) on ``port``."""
    start_http_server(port, addr=addr, registry=REGISTRY)
