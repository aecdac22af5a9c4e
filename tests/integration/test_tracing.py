"""Tracing through the real PostgreSQL and Kafka: a message posted with a known traceparent is
consumed, for every destination, in spans of that trace (API → relay → consumers), and a
webhook push continues that trace and sends the traceparent of its own span."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from exchange.db.engine import transaction
from exchange.domain.envelope import MessageType
from exchange.messaging.topics import topic_for
from exchange.webhook import add_webhook
from tests.support.receiver import Receiver
from tests.support.samples import new_case, ptiurn
from tests.support.tracing import (
    AGENCY_SPAN,
    AGENCY_TRACE,
    AGENCY_TRACEPARENT,
    hex_ids,
    ids,
    memory_spans,
    of_kind,
    parent_id,
)
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

XML = {"Content-Type": "application/xml"}
DESTINATIONS = {"cps.cms-case-json", "court.dcs-case-json"}  # the consumers of a new case


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Installed before the worker starts (fixtures set up in order) and kept until it stops."""
    with memory_spans() as exporter:
        yield exporter


def _of_message(spans: InMemorySpanExporter, kind: SpanKind, message_id: str) -> list[ReadableSpan]:
    return [
        s
        for s in of_kind(spans, kind)
        if (s.attributes or {}).get("messaging.message.id") == message_id
    ]


async def test_a_posted_traceparent_runs_through_relay_and_every_consumer(
    spans, client, auth, worker, hub
) -> None:
    answer = await client.post(
        "/police/messages",
        content=new_case(ptiurn(51001)),
        headers={**XML, **auth("police", org="01"), "traceparent": AGENCY_TRACEPARENT},
    )
    assert answer.status_code == 202, answer.text
    message_id = answer.json()["message_id"]

    def applied(found: list[ReadableSpan]) -> bool:
        outcomes = {(s.attributes or {}).get("cjs.consumer"): s.attributes for s in found}
        return set(outcomes) == DESTINATIONS and all(
            (a or {}).get("cjs.outcome") == "applied" for a in outcomes.values()
        )

    async def consumed() -> list[ReadableSpan]:
        return _of_message(spans, SpanKind.CONSUMER, message_id)

    consumers = await eventually(consumed, applied, what="both consumers' spans")
    assert len(consumers) == len(DESTINATIONS)  # each applied once
    (server,) = _of_message(spans, SpanKind.SERVER, message_id)
    (producer,) = _of_message(spans, SpanKind.PRODUCER, message_id)

    # One trace, the agency's: its span → the API → the relay → each consumer.
    assert {hex_ids(s)[0] for s in (server, producer, *consumers)} == {AGENCY_TRACE}
    assert parent_id(server) == AGENCY_SPAN
    assert parent_id(producer) == hex_ids(server)[1]
    assert all(parent_id(c) == hex_ids(producer)[1] for c in consumers)

    topic = topic_for(MessageType.CASE_FILE, prefix=hub.settings.topic_prefix)
    assert (producer.attributes or {})["messaging.destination.name"] == topic
    for span in consumers:
        attributes = span.attributes or {}
        assert attributes["messaging.system"] == "kafka"
        assert attributes["messaging.destination.name"] == topic
        assert attributes["messaging.message.conversation_id"] == message_id  # a new case
        assert attributes["messaging.kafka.message.offset"] >= 0


async def test_a_webhook_push_continues_the_message_trace(spans, client, auth, worker, hub) -> None:
    async with Receiver() as court:
        async with transaction(hub.engine) as conn:
            await add_webhook(
                conn,
                destination="court",
                organisation="B01EF01",
                url=court.url,
                secret="a-webhook-secret-for-tests",
            )
        answer = await client.post(
            "/police/messages",
            content=new_case(ptiurn(51002)),
            headers={**XML, **auth("police"), "traceparent": AGENCY_TRACEPARENT},
        )
        message_id = answer.json()["message_id"]

        async def pushes() -> list[ReadableSpan]:
            return _of_message(spans, SpanKind.CLIENT, message_id)

        (push,) = await eventually(pushes, what="the webhook push span")
        (request,) = court.received
    assert ids(request.headers["traceparent"]) == hex_ids(push)
    assert (push.attributes or {})["http.response.status_code"] == 200
    # The push is a child of the court consumer's span that made the delivery: one trace from
    # the police system's POST to the court's endpoint.
    court_consumer = [
        c
        for c in _of_message(spans, SpanKind.CONSUMER, message_id)
        if (c.attributes or {}).get("cjs.consumer") == "court.dcs-case-json"
    ]
    assert hex_ids(push)[0] == AGENCY_TRACE
    assert parent_id(push) == hex_ids(court_consumer[0])[1]
