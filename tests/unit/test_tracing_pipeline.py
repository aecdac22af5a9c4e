"""Tracing through Kafka: the relay's producer spans, the consumers' spans (batch path and
one by one), retries and dead letters, webhook pushes, and one trace from agency to consumer
(spans kept in memory; Kafka and PostgreSQL stood in for)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, StatusCode, get_current_span

from exchange import telemetry
from exchange.bench.messages import CanonicalFactory
from exchange.domain.errors import ExchangeError, ServiceUnavailable
from exchange.messaging import consumer as consumer_module
from exchange.messaging.codec import CanonicalMessage
from exchange.messaging.consumer import ConsumerLoop
from exchange.messaging.failure import RetryPolicy
from exchange.messaging.headers import encode
from exchange.messaging.relay import OutboxRelay
from exchange.webhook import SIGNATURE_HEADER, Push, WebhookPusher, sign
from tests.support.tracing import (
    AGENCY_SPAN,
    AGENCY_TRACE,
    AGENCY_TRACEPARENT,
    FakeIngest,
    agency_app,
    hex_ids,
    ids,
    of_kind,
    parent_id,
    post_police,
)

# --- the relay's producer spans ---------------------------------------------------------


class _Producer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = fail

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        offset = len(self.sent)
        self.sent.append({"topic": topic, "key": key, "headers": dict(headers)})
        if self.fail:
            future.set_exception(RuntimeError("broker says no"))
        else:
            future.set_result(SimpleNamespace(topic=topic, partition=2, offset=offset))
        return future


def _outbox_row(factory: CanonicalFactory, traceparent: str) -> SimpleNamespace:
    record = factory.record(0)
    return SimpleNamespace(
        id=1,
        message_id=record.message_id,
        topic="cjs.case-file.v1",
        key=record.key,
        value=record.value,
        headers={**record.headers, "traceparent": traceparent},
    )


async def test_relay_sends_each_record_in_a_producer_span_child_of_its_stored_context(
    spans, factory
):
    producer = _Producer()
    relay = OutboxRelay(engine=None, producer=producer)  # type: ignore[arg-type]
    rows = [_outbox_row(factory, AGENCY_TRACEPARENT), _outbox_row(factory, AGENCY_TRACEPARENT)]
    await relay._send(rows)
    producers = of_kind(spans, SpanKind.PRODUCER)
    assert len(producers) == 2
    for row, sent, span in zip(rows, producer.sent, producers, strict=True):
        assert hex_ids(span)[0] == AGENCY_TRACE
        assert parent_id(span) == AGENCY_SPAN
        headers = {k: v.decode() for k, v in sent["headers"].items()}
        assert ids(headers["traceparent"]) == hex_ids(span)  # the consumer's parent to come
        assert headers["message-id"] == row.headers["message-id"]
        assert span.name == "send cjs.case-file.v1"
        assert span.attributes is not None
        assert span.attributes["messaging.system"] == "kafka"
        assert span.attributes["messaging.destination.name"] == "cjs.case-file.v1"
        assert span.attributes["messaging.message.id"] == row.headers["message-id"]
        assert span.attributes["messaging.destination.partition.id"] == "2"
    # The outbox row itself is left as it was (a re-send starts from the same parent).
    assert rows[0].headers["traceparent"] == AGENCY_TRACEPARENT


async def test_a_failed_send_ends_its_span_as_an_error(spans, factory):
    relay = OutboxRelay(engine=None, producer=_Producer(fail=True))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await relay._send([_outbox_row(factory, AGENCY_TRACEPARENT)])
    (span,) = of_kind(spans, SpanKind.PRODUCER)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "RuntimeError"


# --- the consumers' spans ---------------------------------------------------------------


class _Result:
    def __init__(self, ids: Sequence[uuid.UUID]) -> None:
        self.ids = list(ids)

    def scalars(self) -> list[uuid.UUID]:
        return self.ids

    def scalar_one_or_none(self) -> uuid.UUID | None:
        return self.ids[0] if self.ids else None


class _Conn:
    """Enough of a connection for the consumer: the inbox says which ids are new."""

    def __init__(self, fresh: set[uuid.UUID]) -> None:
        self.fresh = fresh
        self.statements: list[Any] = []

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        yield None

    async def execute(self, statement: Any, rows: Any = None) -> _Result:
        self.statements.append(statement)
        if getattr(statement, "is_insert", False) and statement.table.name == "inbox":
            if isinstance(rows, list):  # executemany: the rows beside the statement
                ids = [row["message_id"] for row in rows]
            else:
                params = statement.compile().params
                ids = [v for k, v in params.items() if k.startswith("message_id")]
            return _Result([i for i in ids if i in self.fresh])
        return _Result([])

    def outbox_headers(self) -> list[dict[str, str]]:
        return [
            s.compile().params["headers"]
            for s in self.statements
            if getattr(s, "is_insert", False) and s.table.name == "outbox"
        ]


class Busy(ExchangeError):
    code = "DESTINATION_BUSY"
    retriable = True


class _Handler:
    name = "court.dcs-case-json"

    def __init__(
        self,
        *,
        batch_error: Exception | None = None,
        fail: bool = False,
        error: Exception | None = None,
    ) -> None:
        self.batch_error = batch_error  # the whole batch fails: one by one instead
        self.fail = fail  # each message fails in the batch
        self.error = error  # each message fails one by one
        self.seen_in: list[str] = []  # the current span while each message was handled

    async def handle(self, conn: Any, message: CanonicalMessage) -> None:
        ctx = get_current_span().get_span_context()
        self.seen_in.append(f"{ctx.span_id:016x}")
        if self.error is not None:
            raise self.error

    async def handle_batch(
        self, conn: Any, messages: Sequence[CanonicalMessage]
    ) -> dict[uuid.UUID, Exception]:
        if self.batch_error is not None:
            raise self.batch_error
        if self.fail:
            return {m.envelope.message_id: ValueError("cannot render") for m in messages}
        return {}


def _kafka_record(factory: CanonicalFactory, offset: int, traceparent: str | None) -> Any:
    record = factory.record(offset)
    headers = dict(record.headers)
    headers.pop("traceparent", None)
    if traceparent is not None:
        headers["traceparent"] = traceparent
    return ConsumerRecord(
        topic="cjs.case-file.v1",
        partition=1,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=record.key.encode(),
        value=record.value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=tuple(encode(headers)),
    )


def _loop(monkeypatch, conn: _Conn, handler: _Handler) -> ConsumerLoop:
    @asynccontextmanager
    async def transaction(_engine: object) -> AsyncIterator[_Conn]:
        yield conn

    monkeypatch.setattr(consumer_module, "transaction", transaction)
    return ConsumerLoop(None, None, {"cjs.case-file.v1": handler})  # type: ignore[arg-type]


def _message_id(record: Any) -> uuid.UUID:
    return uuid.UUID(dict(record.headers)["message-id"].decode())


async def test_batch_path_gives_each_record_a_consumer_span_child_of_its_header(
    spans, factory, monkeypatch
):
    records = [_kafka_record(factory, i, AGENCY_TRACEPARENT) for i in range(3)]
    fresh = {_message_id(r) for r in records[:2]}  # the third was applied before
    loop = _loop(monkeypatch, _Conn(fresh), _Handler())
    await loop._process(records)
    consumers = of_kind(spans, SpanKind.CONSUMER)
    assert len(consumers) == 3
    for record, span in zip(records, consumers, strict=True):
        assert hex_ids(span)[0] == AGENCY_TRACE
        assert parent_id(span) == AGENCY_SPAN
        assert span.name == "process cjs.case-file.v1"
        attributes = span.attributes or {}
        headers = {k: v.decode() for k, v in record.headers}
        assert attributes["messaging.system"] == "kafka"
        assert attributes["messaging.destination.name"] == "cjs.case-file.v1"
        assert attributes["messaging.message.id"] == headers["message-id"]
        assert attributes["messaging.message.conversation_id"] == headers["correlation-id"]
        assert attributes["messaging.kafka.message.offset"] == record.offset
        assert attributes["cjs.consumer"] == "court.dcs-case-json"
    outcomes = [(s.attributes or {})["cjs.outcome"] for s in consumers]
    assert outcomes == ["applied", "applied", "duplicate"]
    assert loop.applied == 2
    assert loop.duplicates == 1


async def test_record_without_trace_context_starts_its_own_trace(spans, factory, monkeypatch):
    record = _kafka_record(factory, 0, None)
    loop = _loop(monkeypatch, _Conn({_message_id(record)}), _Handler())
    await loop._process([record])
    (span,) = of_kind(spans, SpanKind.CONSUMER)
    assert span.parent is None


async def test_fallback_path_handles_each_record_inside_its_own_span(spans, factory, monkeypatch):
    records = [_kafka_record(factory, i, AGENCY_TRACEPARENT) for i in range(2)]
    handler = _Handler(batch_error=ValueError("a statement failed"))
    loop = _loop(monkeypatch, _Conn({_message_id(r) for r in records}), handler)
    await loop._process(records)
    consumers = of_kind(spans, SpanKind.CONSUMER)
    assert len(consumers) == 2  # one per record, not one per attempt
    assert handler.seen_in == [hex_ids(s)[1] for s in consumers]
    assert all(parent_id(s) == AGENCY_SPAN for s in consumers)
    assert [(s.attributes or {})["cjs.outcome"] for s in consumers] == ["applied", "applied"]


async def test_a_parked_record_fails_its_span_and_dead_letters_under_it(
    spans, factory, monkeypatch
):
    record = _kafka_record(factory, 0, AGENCY_TRACEPARENT)
    conn = _Conn({_message_id(record)})
    await _loop(monkeypatch, conn, _Handler(fail=True))._process([record])
    (span,) = of_kind(spans, SpanKind.CONSUMER)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["cjs.outcome"] == "parked"
    assert (span.attributes or {})["error.type"] == "ValueError"
    assert not span.events  # the error's text stays in the failures table
    (dead_letter,) = conn.outbox_headers()
    assert ids(dead_letter["traceparent"]) == hex_ids(span)


@pytest.mark.parametrize("path", ["batch", "one by one"])
async def test_an_outage_ends_the_spans_as_errors_and_propagates(spans, factory, monkeypatch, path):
    record = _kafka_record(factory, 0, AGENCY_TRACEPARENT)
    outage = ServiceUnavailable("database unavailable at Mr Smith's")
    if path == "batch":
        handler = _Handler(batch_error=outage)
    else:
        handler = _Handler(batch_error=ValueError("a statement failed"), error=outage)
    loop = _loop(monkeypatch, _Conn({_message_id(record)}), handler)
    with pytest.raises(ServiceUnavailable):
        await loop._process([record])
    (span,) = of_kind(spans, SpanKind.CONSUMER)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["cjs.outcome"] == "outage"
    assert (span.attributes or {})["error.type"] == "SERVICE_UNAVAILABLE"
    assert not span.events
    assert "Smith" not in str(span.attributes) + str(span.status.description)


async def test_a_retried_record_goes_round_under_its_consumer_span(spans, factory, monkeypatch):
    record = _kafka_record(factory, 0, AGENCY_TRACEPARENT)
    conn = _Conn({_message_id(record)})
    handler = _Handler(batch_error=ValueError("a statement failed"), error=Busy("try later"))
    loop = _loop(monkeypatch, conn, handler)
    loop._retry = RetryPolicy((0.1,))
    await loop._process([record])
    (span,) = of_kind(spans, SpanKind.CONSUMER)
    assert (span.attributes or {})["cjs.outcome"] == "retried"
    assert (span.attributes or {})["error.type"] == "DESTINATION_BUSY"
    (retry,) = conn.outbox_headers()
    assert ids(retry["traceparent"]) == hex_ids(span)
    assert retry["retry-attempt"] == "1"


# --- one trace from the agency to the consumer ------------------------------------------


async def test_api_relay_and_consumer_spans_share_the_agencys_trace(spans, factory, monkeypatch):
    ingest = FakeIngest(factory)
    assert (
        await post_police(agency_app(ingest), traceparent=AGENCY_TRACEPARENT)
    ).status_code == 202
    (outbox_headers,) = ingest.outbox_headers

    producer = _Producer()
    relay = OutboxRelay(engine=None, producer=producer)  # type: ignore[arg-type]
    await relay._send([_outbox_row(factory, outbox_headers["traceparent"])])

    (sent,) = producer.sent
    record = _kafka_record(factory, 0, sent["headers"]["traceparent"].decode())
    loop = _loop(monkeypatch, _Conn({_message_id(record)}), _Handler())
    await loop._process([record])

    (server,) = of_kind(spans, SpanKind.SERVER)
    (send,) = of_kind(spans, SpanKind.PRODUCER)
    (process,) = of_kind(spans, SpanKind.CONSUMER)
    assert {hex_ids(s)[0] for s in (server, send, process)} == {AGENCY_TRACE}
    assert parent_id(server) == AGENCY_SPAN
    assert parent_id(send) == hex_ids(server)[1]
    assert parent_id(process) == hex_ids(send)[1]


# --- webhook pushes ---------------------------------------------------------------------


def _push(url: str = "https://court.test/hook") -> Push:
    return Push(
        seq=1,
        message_id=uuid.uuid4(),
        case_urn="01ZD0312526",
        message_type="case-file",
        format="dcs-case-json",
        payload={"case": "x"},
        attempts=0,
        url=url,
        secret="a-webhook-secret-for-tests",
    )


@pytest.mark.parametrize(("status", "failed"), [(200, False), (503, True)])
async def test_a_webhook_push_sends_the_traceparent_of_its_client_span(spans, status, failed):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    pusher = WebhookPusher(engine=None)  # type: ignore[arg-type]
    push = _push()
    body = b'{"message_id": "m"}'
    signature = sign(push.secret, 1_700_000_000, body)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        with telemetry.tracer().start_as_current_span("pusher", context=Context()) as outer:
            error = await pusher._post(client, push, body, {SIGNATURE_HEADER: signature})
    assert (error is not None) is failed
    (span,) = of_kind(spans, SpanKind.CLIENT)
    assert parent_id(span) == hex_ids(outer)[1]
    (request,) = seen
    assert ids(request.headers["traceparent"]) == hex_ids(span)
    assert request.headers[SIGNATURE_HEADER] == signature  # the body alone is signed
    attributes = span.attributes or {}
    assert attributes["server.address"] == "court.test"
    assert attributes["server.port"] == 443
    assert attributes["http.response.status_code"] == status
    assert attributes["messaging.message.id"] == str(push.message_id)
    assert "hook" not in str(attributes)  # no URL path or query: they may hold secrets
    assert span.status.status_code is (StatusCode.ERROR if failed else StatusCode.UNSET)


async def test_an_unreachable_webhook_fails_its_span(spans) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    pusher = WebhookPusher(engine=None)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        error = await pusher._post(client, _push(), b"{}", {})
    assert error is not None
    assert error.startswith("ConnectError")
    (span,) = of_kind(spans, SpanKind.CLIENT)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "ConnectError"
