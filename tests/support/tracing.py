"""Spans kept in memory for tests, W3C id helpers, and an API with a stand-in ingest."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, get_current_span

from exchange import telemetry
from exchange.api import agencies
from exchange.api.errors import install as install_errors
from exchange.auth import Principal
from exchange.bench.messages import CanonicalFactory
from exchange.domain.envelope import Envelope
from exchange.domain.errors import Conflict, ServiceUnavailable
from exchange.ingest import Receipt, Submission
from exchange.messaging.headers import headers_for
from exchange.settings import Settings

# An agency's own trace: its trace id must run through everything the hub does.
AGENCY_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
AGENCY_SPAN = "00f067aa0ba902b7"
AGENCY_TRACEPARENT = f"00-{AGENCY_TRACE}-{AGENCY_SPAN}-01"


@contextmanager
def memory_spans() -> Iterator[InMemorySpanExporter]:
    """The hub's spans, finished ones kept in memory, for the duration of the block."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = telemetry.install(provider)
    try:
        yield exporter
    finally:
        telemetry.install(previous)
        provider.shutdown()


def ids(traceparent: str) -> tuple[str, str]:
    """(trace id, span id) of a traceparent, as hex."""
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    ctx = span.get_span_context()
    assert ctx is not None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def parent_id(span: ReadableSpan) -> str | None:
    return f"{span.parent.span_id:016x}" if span.parent else None


def of_kind(spans: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.kind == kind]


def envelope_of(factory: CanonicalFactory) -> Envelope:
    return Envelope.model_validate(factory.pool[0][0]["envelope"])


class _Verifier:
    def verify(self, token: str) -> Principal:
        client, _, scope = token.partition(":")
        return Principal(client_id=client, roles=frozenset(scope.split()), organisation="01")


class FakeIngest:
    """Stands in for the real ingest: builds the outbox headers exactly as it does, and
    notes the span it ran in."""

    def __init__(self, factory: CanonicalFactory, *, answer: str = "validated") -> None:
        self.factory = factory
        self.answer = answer
        self.outbox_headers: list[dict[str, str]] = []
        self.current_span_ids: list[str] = []

    async def submit(self, sub: Submission) -> Receipt:
        ctx = get_current_span().get_span_context()
        self.current_span_ids.append(f"{ctx.span_id:016x}")
        if self.answer == "conflict":
            raise Conflict("key used for Mr Smith's case", code="IDEMPOTENCY_KEY_REUSED")
        if self.answer == "outage":
            raise ServiceUnavailable("database unavailable")
        if self.answer == "rejected":
            error = {"code": "XML_MALFORMED", "message": "Mr Smith's name is wrong"}
            return Receipt(uuid.uuid4(), "rejected", None, None, errors=[error])
        envelope = envelope_of(self.factory)
        self.outbox_headers.append(headers_for(envelope, sub.traceparent))
        return Receipt(envelope.message_id, "validated", envelope.case_urn, "case-file")


def agency_app(ingest: FakeIngest) -> FastAPI:
    """The agency endpoints over a stand-in hub (tokens are ``client:role``)."""
    app = FastAPI()
    app.state.hub = SimpleNamespace(
        engine=None, verifier=_Verifier(), ingest=ingest, settings=Settings(environment="test")
    )
    install_errors(app)
    app.include_router(agencies.router)
    return app


async def post_police(app: FastAPI, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub"
    ) as client:
        return await client.post(
            "/police/messages",
            content=b"<x/>",
            headers={
                "Content-Type": "application/xml",
                "Authorization": "Bearer force01:police",
                **headers,
            },
        )
