"""A consumer that applies each canonical message once, whatever Kafka redelivers.

For each fetch (up to 500 records, from every partition of the main topics it got; a retry
topic's partition alone): one PostgreSQL transaction with set-based inbox rows (handler,
message id) and the handlers' effects, falling back to a savepoint per record if a statement
fails; offsets are committed only after that transaction commits. A record whose handler fails:

- for a reason retrying will not fix (bad payload, a rendering error): it is parked at once
  (failure row + dead-letter topic) and the partition moves on;
- for a retriable reason (the error says ``retriable``): it goes to the next retry topic, due
  after that level's delay (with jitter); after the last level it is parked;
- because the database itself is down: the whole batch is retried in place from its first
  offset with exponential backoff (nothing else could make progress either).

One loop serves several handlers (one per topic it subscribes to), so a worker runs one Kafka
consumer per destination agency, not one per message type.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeAlias

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata
from opentelemetry.trace import Span, SpanKind
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import telemetry
from exchange.db.engine import is_outage, transaction
from exchange.db.tables import inbox
from exchange.domain.errors import ExchangeError
from exchange.messaging.codec import CanonicalMessage
from exchange.messaging.failure import (
    ATTEMPT,
    NOT_BEFORE,
    RetryPolicy,
    attempts_of,
    main_topic,
    park,
    schedule_retry,
)
from exchange.messaging.headers import decode
from exchange.messaging.topics import DEAD_LETTER

log = structlog.get_logger(__name__)

# aiokafka ships no type information: to mypy a record is Any.
Record: TypeAlias = ConsumerRecord


def _groups(
    batches: Mapping[TopicPartition, Sequence[Record]],
) -> list[dict[TopicPartition, Sequence[Record]]]:
    """What one fetch is applied as: all main-topic partitions together (one transaction, one
    offset commit: the per-batch costs shared by up to ``max_records``), and each retry-topic
    partition alone, since its records wait for their due time and must not hold up others.
    Records of one partition stay in offset order either way."""
    main = {tp: rs for tp, rs in batches.items() if rs and main_topic(tp.topic) == tp.topic}
    retry = [{tp: rs} for tp, rs in batches.items() if rs and main_topic(tp.topic) != tp.topic]
    return ([main] if main else []) + retry


class Handler(Protocol):
    name: str

    async def handle(self, conn: AsyncConnection, message: CanonicalMessage) -> None:
        """Apply the message's effect inside the caller's transaction."""

    async def handle_batch(
        self, conn: AsyncConnection, messages: Sequence[CanonicalMessage]
    ) -> dict[uuid.UUID, Exception]:
        """Apply many at once; return the messages that failed (their effects not applied),
        with why. A statement error aborts the batch, which is then applied one by one."""


class ConsumerLoop:
    def __init__(
        self,
        engine: AsyncEngine,
        consumer: AIOKafkaConsumer,
        handlers: Mapping[str, Handler],
        *,
        dead_letter_topic: str = DEAD_LETTER,
        retry: RetryPolicy | None = None,
    ) -> None:
        """``handlers`` maps each main topic to its handler; retry topics of a main topic are
        served by the same handler."""
        self._engine = engine
        self._consumer = consumer
        self._handlers = dict(handlers)
        self._dead_letter_topic = dead_letter_topic
        self._retry = retry
        self._stopping = asyncio.Event()
        self.applied = 0
        self.duplicates = 0
        self.parked = 0
        self.retried = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
            except KafkaError as exc:
                # A broker restarting or a leader moving: aiokafka reconnects; we wait.
                log.warning("consumer.fetch_failed", error=type(exc).__name__, detail=str(exc))
                await self._sleep(1.0)
                continue
            for group in _groups(batches):
                await self._process_until_done(group)

    async def _process_until_done(self, group: Mapping[TopicPartition, Sequence[Record]]) -> None:
        """Apply ``group`` (records of one or more partitions) in one transaction, then commit
        every partition's offset in one request; an outage retries the group in place."""
        records = [r for batch in group.values() for r in batch]
        backoff = 0.2
        while True:
            try:
                for batch in group.values():
                    await self._wait_until_due(batch[-1])
                await self._process(records)
                await self._commit({tp: batch[-1].offset + 1 for tp, batch in group.items()})
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_outage(exc) or self._stopping.is_set():
                    raise
                first = next(iter(group))
                log.warning(
                    "consumer.retrying_batch",
                    topic=first.topic,
                    partition=first.partition,
                    partitions=len(group),
                    offset=records[0].offset,
                    error=type(exc).__name__,
                    detail=str(exc)[:300],
                )
                await self._sleep(backoff * (1 + random.random()))  # noqa: S311
                backoff = min(backoff * 2, 10.0)

    async def _commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(
                {tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()}
            )
        except (KafkaError, IllegalStateError) as exc:
            # A partition moved to another worker in a rebalance, or the broker is away.
            # The effect is committed in PostgreSQL; whoever reads the partition next starts
            # from the last committed offset and the inbox turns those records into no-ops.
            log.info(
                "consumer.commit_skipped",
                partitions=[f"{tp.topic}/{tp.partition}" for tp in offsets],
                reason=type(exc).__name__,
            )

    async def _wait_until_due(self, record: Record) -> None:
        """Retry records wait for their due time (records of one retry topic are due in
        order, so waiting for the last of a batch waits for all of it)."""
        due = decode(record.headers).get(NOT_BEFORE)
        if due and due.isdigit():
            await self._sleep(int(due) / 1000 - time.time())

    async def _process(self, records: Sequence[Record]) -> None:
        """Apply a batch in one transaction, each record in its own consumer span; the spans
        end with the outcome that committed (or with the error that stopped the batch)."""
        spans = _RecordSpans(records, self._handlers)
        try:
            await self._process_in_transaction(records, spans)
        except BaseException as exc:
            spans.end(exc)
            raise
        spans.end()

    async def _process_in_transaction(self, records: Sequence[Record], spans: _RecordSpans) -> None:
        async with transaction(self._engine) as conn:
            try:
                async with conn.begin_nested():
                    await self._apply_batch(conn, records, spans)
                return
            except Exception as exc:
                if is_outage(exc):
                    raise
                log.warning("consumer.batch_fallback", error=type(exc).__name__, detail=str(exc))
            # A statement failed for some record: apply one by one, so only that one fails.
            for record in records:
                handler = self._handlers[main_topic(record.topic)]
                with telemetry.current(spans.of(record)):
                    try:
                        async with conn.begin_nested():
                            await self._apply(conn, handler, record, spans)
                    except Exception as exc:
                        if is_outage(exc):
                            raise
                        await self._fail(conn, handler, record, exc, spans)

    async def _apply_batch(
        self, conn: AsyncConnection, records: Sequence[Record], spans: _RecordSpans
    ) -> None:
        """The fast path: a few set-based statements for the whole batch."""
        by_handler: dict[str, list[tuple[Record, CanonicalMessage]]] = {}
        for record in records:
            handler = self._handlers[main_topic(record.topic)]
            try:
                message = CanonicalMessage.decode(record.value or b"")
            except Exception as exc:  # noqa: BLE001 - undecodable: poison, parked below
                with telemetry.current(spans.of(record)):
                    await self._fail(conn, handler, record, exc, spans)
                continue
            by_handler.setdefault(main_topic(record.topic), []).append((record, message))
        for topic, items in by_handler.items():
            handler = self._handlers[topic]
            ids = list({m.envelope.message_id for _, m in items})
            fresh_ids = set(
                (
                    # Statement and rows apart: one cached statement whatever the batch size.
                    await conn.execute(
                        insert(inbox).on_conflict_do_nothing().returning(inbox.c.message_id),
                        [{"consumer": handler.name, "message_id": i} for i in ids],
                    )
                ).scalars()
            )
            fresh, seen = [], set()
            for record, message in items:
                mid = message.envelope.message_id
                if mid in fresh_ids and mid not in seen:
                    seen.add(mid)
                    fresh.append((record, message))
                else:
                    self.duplicates += 1
                    spans.outcome(record, "duplicate")
            with telemetry.message_spans({m.envelope.message_id: spans.of(r) for r, m in fresh}):
                failed = await handler.handle_batch(conn, [m for _, m in fresh])
            if failed:
                # Their inbox rows go: a retry must find none, and parking adds its own.
                await conn.execute(
                    delete(inbox)
                    .where(inbox.c.consumer == handler.name)
                    .where(inbox.c.message_id.in_(list(failed)))
                )
            for record, message in fresh:
                error = failed.get(message.envelope.message_id)
                if error is None:
                    self.applied += 1
                    spans.outcome(record, "applied")
                else:
                    with telemetry.current(spans.of(record)):
                        await self._fail(conn, handler, record, error, spans)

    async def _apply(
        self, conn: AsyncConnection, handler: Handler, record: Record, spans: _RecordSpans
    ) -> None:
        message = CanonicalMessage.decode(record.value or b"")
        first_time = (
            await conn.execute(
                insert(inbox)
                .values(consumer=handler.name, message_id=message.envelope.message_id)
                .on_conflict_do_nothing()
                .returning(inbox.c.message_id)
            )
        ).scalar_one_or_none()
        if first_time is None:
            self.duplicates += 1
            spans.outcome(record, "duplicate")
            return
        await handler.handle(conn, message)
        self.applied += 1
        spans.outcome(record, "applied")

    async def _fail(
        self,
        conn: AsyncConnection,
        handler: Handler,
        record: Record,
        exc: Exception,
        spans: _RecordSpans,
    ) -> None:
        """Retry or park the record (called with the record's span current, so the retry or
        dead-letter record continues its trace)."""
        attempts = attempts_of(record) + 1
        retriable = isinstance(exc, ExchangeError) and exc.retriable
        has_id = "message-id" in decode(record.headers)
        if retriable and has_id and self._retry and attempts <= len(self._retry.delays):
            await schedule_retry(conn, record, self._retry, attempts, handler.name, exc)
            self.retried += 1
            spans.outcome(record, "retried", exc)
            return
        await park(conn, record, handler.name, exc, self._dead_letter_topic, attempts)
        self.parked += 1
        spans.outcome(record, "parked", exc)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


class _RecordSpans:
    """One consumer span per record of a batch, child of the context in the record's
    ``traceparent`` header. Outcomes are noted as the batch goes and set when it ends: a
    batch that falls back to one-by-one notes them again, and only the last one counts."""

    def __init__(self, records: Sequence[Record], handlers: Mapping[str, Handler]) -> None:
        tracer = telemetry.tracer()
        self._spans: dict[int, Span] = {}
        self._outcomes: dict[int, tuple[str, BaseException | None]] = {}
        for record in records:
            headers = decode(record.headers)
            attributes: dict[str, str | int] = {
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.message.offset": record.offset,
                "cjs.consumer": handlers[main_topic(record.topic)].name,
            }
            if record.key:
                attributes["messaging.kafka.message.key"] = record.key.decode("utf-8", "replace")
            for header, attribute in _HEADER_ATTRIBUTES:
                if header in headers:
                    attributes[attribute] = headers[header]
            self._spans[id(record)] = tracer.start_span(
                f"process {record.topic}",
                context=telemetry.extract(headers),
                kind=SpanKind.CONSUMER,
                attributes=attributes,
            )

    def of(self, record: Record) -> Span:
        return self._spans[id(record)]

    def outcome(self, record: Record, outcome: str, exc: BaseException | None = None) -> None:
        self._outcomes[id(record)] = (outcome, exc)

    def end(self, stopped_by: BaseException | None = None) -> None:
        """End every span: with its noted outcome, or all with the batch's error (an outage
        retries the whole batch in place)."""
        batch_outcome = None
        if stopped_by is not None:
            batch_outcome = ("outage" if is_outage(stopped_by) else "error", stopped_by)
        for key, span in self._spans.items():
            outcome, exc = batch_outcome or self._outcomes.get(key, ("unknown", None))
            span.set_attribute("cjs.outcome", outcome)
            if exc is not None:
                telemetry.failed(span, exc, code=getattr(exc, "code", None))
            span.end()


# Headers every canonical record carries, as span attributes (messaging conventions).
_HEADER_ATTRIBUTES = (
    ("message-id", "messaging.message.id"),
    ("correlation-id", "messaging.message.conversation_id"),
    (ATTEMPT, "cjs.retry_attempt"),
)
