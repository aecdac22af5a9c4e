"""The outbox relay: publishes committed outbox rows to Kafka, in order, then marks them.

Ordering: one relay is active at a time (a PostgreSQL advisory lock elects it; the others
wait as hot standbys), it sends rows in outbox id order through an idempotent producer and
marks them published only after Kafka acknowledged every one (acks=all). A crash between the
send and the mark re-sends the rows: consumers de-duplicate by message id (the inbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from opentelemetry.trace import Span, SpanKind
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import audit, metrics, telemetry
from exchange.db.engine import transaction
from exchange.db.tables import messages, outbox
from exchange.messaging.headers import encode

log = structlog.get_logger(__name__)

RELAY_LOCK_ID = 0x434A5345  # "CJSE": the advisory lock that elects the active relay


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 200,
        idle_seconds: float = 0.05,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._batch_size = batch_size
        self._idle = idle_seconds
        self._stopping = asyncio.Event()
        self.published = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Publish until stopped, surviving database and broker outages with backoff."""
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                async with self._engine.connect() as lock_conn:
                    if not await self._try_lead(lock_conn):
                        await self._sleep(1.0)
                        continue
                    try:
                        log.info("relay.leading")
                        while not self._stopping.is_set():
                            sent = await self.publish_batch()
                            backoff = 0.2
                            if sent == 0:
                                await self._sleep(self._idle)
                    finally:
                        await _release(lock_conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - outages are retried, never fatal
                log.warning("relay.retrying", error=type(exc).__name__, detail=str(exc)[:300])
                await self._sleep(backoff * (1 + random.random()))  # noqa: S311
                backoff = min(backoff * 2, 10.0)

    async def _try_lead(self, conn: AsyncConnection) -> bool:
        got = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK_ID})
        ).scalar_one()
        await conn.commit()
        return bool(got)

    async def publish_batch(self) -> int:
        """Send one batch of pending rows; returns how many were published."""
        async with transaction(self._engine) as conn:
            rows = (
                await conn.execute(
                    select(
                        outbox.c.id,
                        outbox.c.message_id,
                        outbox.c.topic,
                        outbox.c.key,
                        outbox.c.value,
                        outbox.c.headers,
                    )
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self._send(rows)
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(published_at=text("now()"))
            )
            # Consumers may already hold these rows (Kafka delivered before we commit): skip
            # them rather than wait, which could deadlock; they move the status on themselves.
            mine = (
                select(messages.c.message_id)
                .where(messages.c.message_id.in_([r.message_id for r in rows]))
                .where(messages.c.status == "validated")
                .with_for_update(skip_locked=True)
            )
            await conn.execute(
                update(messages)
                .where(messages.c.message_id.in_(mine.scalar_subquery()))
                .values(status="routed", updated_at=text("now()"))
            )
            await audit.record_many(
                conn,
                [
                    {
                        "message_id": r.message_id,
                        "case_urn": r.key,
                        "event": "routed",
                        "actor": "hub/relay",
                        "detail": {"topic": r.topic},
                    }
                    for r in rows
                ],
            )
        self.published += len(rows)
        metrics.record_published(len(rows))
        return len(rows)

    async def _send(self, rows: Sequence[Any]) -> None:
        """Send every row and wait for Kafka to acknowledge them all. Each record goes in a
        producer span, child of the context stored with the row (the span that made the
        message), and carries that producer span's context to the consumers."""
        spans = [_producer_span(r) for r in rows]
        try:
            futures = [
                await self._producer.send(
                    r.topic,
                    value=r.value,
                    key=r.key.encode(),
                    headers=encode(telemetry.inject(r.headers, span)),
                )
                for r, span in zip(rows, spans, strict=True)
            ]
            acks = await asyncio.gather(*futures, return_exceptions=True)
        except BaseException as exc:
            for span in spans:
                telemetry.failed(span, exc)
                span.end()
            raise
        for span, ack in zip(spans, acks, strict=True):
            if isinstance(ack, BaseException):
                telemetry.failed(span, ack)
            else:
                span.set_attributes(
                    {
                        "messaging.destination.partition.id": str(ack.partition),
                        "messaging.kafka.message.offset": ack.offset,
                    }
                )
            span.end()
        for ack in acks:
            if isinstance(ack, BaseException):
                raise ack

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def _producer_span(row: Any) -> Span:
    headers = row.headers
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.destination.name": row.topic,
        "messaging.kafka.message.key": row.key,
        "messaging.message.id": headers.get("message-id", str(row.message_id)),
    }
    if "correlation-id" in headers:
        attributes["messaging.message.conversation_id"] = headers["correlation-id"]
    return telemetry.tracer().start_span(
        f"send {row.topic}",
        context=telemetry.extract(headers),
        kind=SpanKind.PRODUCER,
        attributes=attributes,
    )


async def _release(conn: AsyncConnection) -> None:
    """Give up the leader lock; a pooled connection must not keep holding it."""
    try:
        await conn.execute(text("SELECT pg_advisory_unlock_all()"))
        await conn.commit()
    except Exception:  # noqa: BLE001 - a dead connection holds no lock; drop it from the pool
        await conn.invalidate()
