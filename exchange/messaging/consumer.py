"""A consumer that applies each canonical message once, whatever Kafka redelivers.

For each batch of one partition: one PostgreSQL transaction; per record a savepoint, an inbox
row (consumer, message id) and the handler's effect. A record that cannot be applied for a
reason retrying will not fix (bad payload, a rendering error) is parked as a failure row and
sent to the dead-letter topic through the outbox, in the same transaction, so it never blocks
the partition. Offsets are committed only after that transaction commits. If the database is
down, the batch is retried from its first offset with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import audit
from exchange.db.engine import is_outage, transaction
from exchange.db.tables import failures, inbox, outbox
from exchange.domain.errors import ExchangeError
from exchange.messaging.codec import CanonicalMessage
from exchange.messaging.headers import decode
from exchange.messaging.topics import DEAD_LETTER

log = structlog.get_logger(__name__)


class Handler(Protocol):
    name: str

    async def handle(self, conn: AsyncConnection, message: CanonicalMessage) -> None:
        """Apply the message's effect inside the caller's transaction."""


class ConsumerLoop:
    def __init__(
        self,
        engine: AsyncEngine,
        consumer: AIOKafkaConsumer,
        handler: Handler,
        *,
        dead_letter_topic: str = DEAD_LETTER,
    ) -> None:
        self._dead_letter_topic = dead_letter_topic
        self._engine = engine
        self._consumer = consumer
        self._handler = handler
        self._stopping = asyncio.Event()
        self.applied = 0
        self.duplicates = 0
        self.parked = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
            for tp, records in batches.items():
                await self._process_until_done(tp, records)

    async def _process_until_done(self, tp: TopicPartition, records: Sequence[Any]) -> None:
        backoff = 0.2
        while True:
            try:
                await self._process(records)
                await self._consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "")})
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not _retriable(exc) or self._stopping.is_set():
                    raise
                log.warning(
                    "consumer.retrying",
                    consumer=self._handler.name,
                    error=type(exc).__name__,
                    detail=str(exc)[:300],
                    partition=tp.partition,
                    offset=records[0].offset,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(),
                        backoff * (1 + random.random()),  # noqa: S311
                    )
                backoff = min(backoff * 2, 10.0)

    async def _process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        async with transaction(self._engine) as conn:
            for record in records:
                try:
                    async with conn.begin_nested():
                        await self._apply(conn, record)
                except Exception as exc:
                    if _retriable(exc):
                        raise
                    await self._park(conn, record, exc)

    async def _apply(self, conn: AsyncConnection, record: ConsumerRecord[bytes, bytes]) -> None:
        message = CanonicalMessage.decode(record.value or b"")
        first_time = (
            await conn.execute(
                insert(inbox)
                .values(consumer=self._handler.name, message_id=message.envelope.message_id)
                .on_conflict_do_nothing()
                .returning(inbox.c.message_id)
            )
        ).scalar_one_or_none()
        if first_time is None:
            self.duplicates += 1
            return
        await self._handler.handle(conn, message)
        self.applied += 1

    async def _park(
        self, conn: AsyncConnection, record: ConsumerRecord[bytes, bytes], exc: Exception
    ) -> None:
        headers = decode(record.headers)
        code = exc.code if isinstance(exc, ExchangeError) else "HANDLER_ERROR"
        context = {
            "consumer": self._handler.name,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "error_code": code,
            "error_class": type(exc).__name__,
            "error_message": str(exc)[:2000],
        }
        message_id = _uuid_or_none(headers.get("message-id"))
        case_urn = record.key.decode("utf-8", "replace") if record.key else None
        await conn.execute(
            failures.insert().values(
                message_id=message_id,
                case_urn=case_urn,
                record_value=record.value or b"",
                record_headers=headers,
                **context,
            )
        )
        if message_id is not None:
            # Marked as handled, so a redelivery does not park it twice; a replay clears it.
            await conn.execute(
                insert(inbox)
                .values(consumer=self._handler.name, message_id=message_id)
                .on_conflict_do_nothing()
            )
            await conn.execute(
                outbox.insert().values(
                    message_id=message_id,
                    topic=self._dead_letter_topic,
                    key=case_urn or "unknown",
                    value=record.value or b"",
                    headers={**headers, **{f"dlq-{k}": str(v) for k, v in context.items()}},
                )
            )
        await audit.record(
            conn,
            "parked",
            actor=f"hub/{self._handler.name}",
            message_id=message_id,
            case_urn=case_urn,
            detail=context,
        )
        self.parked += 1
        log.error("consumer.parked", **context, message_id=message_id)


def _retriable(exc: BaseException) -> bool:
    if isinstance(exc, ExchangeError):
        return exc.retriable
    return is_outage(exc)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
