"""Pushing deliveries to agencies that registered a webhook (courts, typically).

Each delivery is POSTed as JSON, signed with HMAC-SHA256 over the timestamp and the body
(``X-CJS-Signature: t=<unix seconds>,v1=<hex>``), carrying the message id so the receiver can
de-duplicate. A 2xx acknowledges the delivery. Anything else is retried with exponential
backoff and jitter; after the last attempt the delivery is parked for ops, never dropped.

Claiming is a lease: a pusher moves ``next_attempt_at`` forward before it sends, so a pusher
that dies mid-send leaves the delivery due again after the lease (at-least-once; receivers
de-duplicate by message id).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import structlog
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import audit, lifecycle, telemetry
from exchange.db.engine import transaction
from exchange.db.tables import deliveries, failures, webhooks

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-CJS-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does: check the signature and that it is recent (replay protection)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass(frozen=True)
class Push:
    seq: int
    message_id: Any
    case_urn: str
    message_type: str
    format: str
    payload: Any
    attempts: int
    url: str
    secret: str
    traceparent: str | None = None


async def add_webhook(
    conn: AsyncConnection, *, destination: str, organisation: str | None, url: str, secret: str
) -> None:
    """Register (or replace) the webhook of a destination agency's organisation."""
    if len(secret) < 16:
        raise ValueError("a webhook secret must be at least 16 characters")
    await conn.execute(
        insert(webhooks)
        .values(destination=destination, organisation=organisation, url=url, secret=secret)
        .on_conflict_do_update(
            index_elements=["destination", "organisation"],
            set_={"url": url, "secret": secret, "active": True},
        )
    )


class WebhookPusher:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeout: float = 10.0,
        max_attempts: int = 8,
        backoff: float = 1.0,
        batch_size: int = 50,
    ) -> None:
        self._engine = engine
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._batch_size = batch_size
        self._stopping = asyncio.Event()
        self.sent = 0
        self.failed = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            while not self._stopping.is_set():
                try:
                    claimed = await self.claim()
                    if claimed:
                        await asyncio.gather(*(self._deliver(client, p) for p in claimed))
                        continue
                except Exception as exc:  # noqa: BLE001 - outages are retried, never fatal
                    log.warning("webhook.retrying", error=type(exc).__name__, detail=str(exc)[:300])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=0.2)

    async def claim(self) -> list[Push]:
        """Lease a batch of due deliveries whose destination has an active webhook."""
        lease = f"{int(self._timeout * 3)} seconds"
        joined = deliveries.join(
            webhooks,
            and_(
                webhooks.c.destination == deliveries.c.destination,
                webhooks.c.active,
                or_(
                    webhooks.c.organisation.is_(None),
                    webhooks.c.organisation == deliveries.c.destination_org,
                ),
            ),
        )
        query = (
            select(deliveries, webhooks.c.url, webhooks.c.secret)
            .select_from(joined)
            .where(deliveries.c.status == "available")
            .where(
                or_(
                    deliveries.c.next_attempt_at.is_(None),
                    deliveries.c.next_attempt_at <= text("now()"),
                )
            )
            .order_by(deliveries.c.seq)
            .limit(self._batch_size)
            .with_for_update(of=deliveries, skip_locked=True)
        )
        async with transaction(self._engine) as conn:
            rows = (await conn.execute(query)).all()
            if rows:
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.seq.in_([r.seq for r in rows]))
                    .values(next_attempt_at=text(f"now() + interval '{lease}'"))
                )
        return [
            Push(
                r.seq,
                r.message_id,
                r.case_urn,
                r.message_type,
                r.format,
                r.payload,
                r.attempts,
                r.url,
                r.secret,
                r.traceparent,
            )
            for r in rows
        ]

    async def _deliver(self, client: httpx.AsyncClient, push: Push) -> None:
        body = orjson.dumps(
            {
                "message_id": str(push.message_id),
                "case_urn": push.case_urn,
                "message_type": push.message_type,
                "format": push.format,
                "body": push.payload,
            }
        )
        headers = {
            "Content-Type": "application/json",
            "X-CJS-Message-Id": str(push.message_id),
            "Idempotency-Key": str(push.message_id),
            SIGNATURE_HEADER: sign(push.secret, int(time.time()), body),
        }
        error = await self._post(client, push, body, headers)
        async with transaction(self._engine) as conn:
            if error is None:
                await self._acknowledged(conn, push)
            else:
                await self._failed(conn, push, error)

    async def _post(
        self, client: httpx.AsyncClient, push: Push, body: bytes, headers: dict[str, str]
    ) -> str | None:
        """POST one delivery in a client span whose ``traceparent`` goes with the request, so
        the receiver's trace continues the message's. Returns why it failed, or ``None``."""
        url = httpx.URL(push.url)
        # A child of the consumer span that made the delivery, when it recorded one.
        parent = telemetry.extract({"traceparent": push.traceparent}) if push.traceparent else None
        with telemetry.tracer().start_as_current_span(
            "POST",
            context=parent,
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": "POST",
                "server.address": url.host,
                "server.port": url.port or (443 if url.scheme == "https" else 80),
                "messaging.message.id": str(push.message_id),
                "cjs.format": push.format,
                "cjs.attempt": push.attempts + 1,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                answer = await client.post(
                    push.url, content=body, headers=telemetry.inject(headers)
                )
            except httpx.HTTPError as exc:
                telemetry.failed(span, exc)
                return f"{type(exc).__name__}: {exc}"[:500]
            span.set_attribute("http.response.status_code", answer.status_code)
            if answer.is_success:
                return None
            span.set_attribute("error.type", str(answer.status_code))
            span.set_status(Status(StatusCode.ERROR, f"HTTP {answer.status_code}"))
            return f"HTTP {answer.status_code}: {answer.text[:200]}"

    async def _acknowledged(self, conn: AsyncConnection, push: Push) -> None:
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.seq == push.seq)
            .values(
                status="acknowledged",
                attempts=push.attempts + 1,
                acknowledged_at=text("now()"),
                next_attempt_at=None,
                last_error=None,
            )
        )
        await lifecycle.acknowledged_if_complete(conn, [push.message_id])
        await audit.record(
            conn,
            "delivery.pushed",
            actor="hub/webhook",
            message_id=push.message_id,
            case_urn=push.case_urn,
            detail={"url": push.url, "attempt": push.attempts + 1},
        )
        self.sent += 1

    async def _failed(self, conn: AsyncConnection, push: Push, error: str) -> None:
        attempts = push.attempts + 1
        self.failed += 1
        if attempts >= self._max_attempts:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.seq == push.seq)
                .values(status="parked", attempts=attempts, last_error=error, next_attempt_at=None)
            )
            await conn.execute(
                failures.insert().values(
                    message_id=push.message_id,
                    consumer=f"webhook.{push.format}",
                    case_urn=push.case_urn,
                    topic="webhook",
                    partition=-1,
                    offset=push.seq,
                    error_code="WEBHOOK_UNDELIVERABLE",
                    error_class="WebhookError",
                    error_message=error,
                    attempts=attempts,
                    record_value=orjson.dumps(push.payload),
                    record_headers={"url": push.url, "delivery-seq": str(push.seq)},
                )
            )
            await audit.record(
                conn,
                "delivery.parked",
                actor="hub/webhook",
                message_id=push.message_id,
                case_urn=push.case_urn,
                detail={"error": error, "attempts": attempts},
            )
            log.error("webhook.parked", message_id=str(push.message_id), error=error)
            return
        delay = self._backoff * 2 ** (attempts - 1) * (1 + 0.2 * random.random())  # noqa: S311
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.seq == push.seq)
            .values(
                attempts=attempts,
                last_error=error,
                next_attempt_at=text(f"now() + interval '{delay:.3f} seconds'"),
            )
        )
        log.warning("webhook.retry", message_id=str(push.message_id), attempt=attempts, error=error)
