"""Tracing in the API: the W3C trace context an agency sends is continued by the ingest's
server span and carried on in the outbox row's headers; how each process sets up tracing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from exchange import telemetry
from exchange.messaging import headers as message_headers
from exchange.messaging.headers import headers_for
from exchange.settings import Settings
from tests.support.tracing import (
    AGENCY_SPAN,
    AGENCY_TRACE,
    AGENCY_TRACEPARENT,
    FakeIngest,
    agency_app,
    envelope_of,
    hex_ids,
    ids,
    of_kind,
    parent_id,
    post_police,
)

# --- the propagation helpers ------------------------------------------------------------


def test_extract_takes_a_valid_traceparent_and_ignores_anything_else(spans) -> None:
    parent = get_current_span(telemetry.extract({"traceparent": AGENCY_TRACEPARENT}))
    assert parent.get_span_context().is_valid
    assert f"{parent.get_span_context().trace_id:032x}" == AGENCY_TRACE
    for bad in ("junk", "00-" + "0" * 32 + "-" + AGENCY_SPAN + "-01", "", None):
        context = telemetry.extract({"traceparent": bad} if bad is not None else {})
        assert not get_current_span(context).get_span_context().is_valid


def test_extract_never_returns_the_callers_own_span(spans) -> None:
    with telemetry.tracer().start_as_current_span("outer"):
        context = telemetry.extract({"traceparent": "junk"})
    assert not get_current_span(context).get_span_context().is_valid


def test_inject_names_the_current_span_and_keeps_other_headers(spans) -> None:
    with telemetry.tracer().start_as_current_span("work") as span:
        out = telemetry.inject({"message-id": "m", "traceparent": "stale", "tracestate": "x=1"})
    trace_id, span_id = ids(out["traceparent"])
    assert (trace_id, span_id) == hex_ids(span)
    assert out["message-id"] == "m"
    assert "tracestate" not in out  # the stale one is gone; this span has none
    assert telemetry.inject({"a": "b"}) == {"a": "b"}  # outside any span: unchanged


def test_new_traceparent_is_valid_w3c_and_new_each_time() -> None:
    first, second = telemetry.new_traceparent(), telemetry.new_traceparent()
    assert first != second
    propagator = TraceContextTextMapPropagator()
    for value in (first, second):
        context = propagator.extract({"traceparent": value})
        assert get_current_span(context).get_span_context().is_valid


# --- headers_for: the outbox row's headers --------------------------------------------


def test_headers_for_carries_the_current_span(spans, factory) -> None:
    with telemetry.tracer().start_as_current_span("ingest") as span:
        headers = headers_for(envelope_of(factory), AGENCY_TRACEPARENT)
    assert ids(headers["traceparent"]) == hex_ids(span)


def test_headers_for_outside_a_span_keeps_a_valid_traceparent_or_starts_a_trace(
    spans, factory
) -> None:
    envelope = envelope_of(factory)
    assert headers_for(envelope, AGENCY_TRACEPARENT)["traceparent"] == AGENCY_TRACEPARENT
    fresh = headers_for(envelope, "not-a-traceparent")["traceparent"]
    assert fresh != "not-a-traceparent"
    assert get_current_span(telemetry.extract({"traceparent": fresh})).get_span_context().is_valid
    assert message_headers.new_traceparent() != message_headers.new_traceparent()


# --- the API's server span --------------------------------------------------------------


async def test_ingest_runs_in_a_server_span_continuing_the_agencys_trace(spans, factory):
    ingest = FakeIngest(factory)
    answer = await post_police(agency_app(ingest), traceparent=AGENCY_TRACEPARENT)
    assert answer.status_code == 202, answer.text
    (server,) = of_kind(spans, SpanKind.SERVER)
    trace_id, span_id = hex_ids(server)
    assert trace_id == AGENCY_TRACE
    assert parent_id(server) == AGENCY_SPAN
    assert server.parent is not None
    assert server.parent.is_remote
    assert server.name == "POST /police/messages"
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/police/messages"
    assert server.attributes["http.response.status_code"] == 202
    assert server.attributes["messaging.message.id"] == answer.json()["message_id"]
    # The ingest ran inside that span, and the outbox row names it as the parent to come.
    assert ingest.current_span_ids == [span_id]
    (headers,) = ingest.outbox_headers
    assert ids(headers["traceparent"]) == (trace_id, span_id)


@pytest.mark.parametrize(
    "traceparent",
    ["junk", "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01-and-far-too-long-" * 2],
)
async def test_an_invalid_traceparent_starts_a_new_trace_and_is_not_refused(
    spans, factory, traceparent
):
    ingest = FakeIngest(factory)
    answer = await post_police(agency_app(ingest), traceparent=traceparent)
    assert answer.status_code == 202, answer.text
    (server,) = of_kind(spans, SpanKind.SERVER)
    assert server.parent is None
    assert ids(ingest.outbox_headers[0]["traceparent"]) == hex_ids(server)


async def test_without_a_traceparent_the_server_span_starts_the_trace(spans, factory):
    ingest = FakeIngest(factory)
    assert (await post_police(agency_app(ingest))).status_code == 202
    (server,) = of_kind(spans, SpanKind.SERVER)
    assert server.parent is None
    assert ids(ingest.outbox_headers[0]["traceparent"]) == hex_ids(server)


@pytest.mark.parametrize(
    ("answer", "status", "code", "failed"),
    [
        ("rejected", 422, "XML_MALFORMED", False),
        ("conflict", 409, "IDEMPOTENCY_KEY_REUSED", False),
        ("outage", 503, "SERVICE_UNAVAILABLE", True),
    ],
)
async def test_errors_are_recorded_by_code_and_only_5xx_fail_the_span(
    spans, factory, answer, status, code, failed
):
    response = await post_police(
        agency_app(FakeIngest(factory, answer=answer)), traceparent=AGENCY_TRACEPARENT
    )
    assert response.status_code == status
    (server,) = of_kind(spans, SpanKind.SERVER)
    assert hex_ids(server)[0] == AGENCY_TRACE
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == status
    assert server.attributes["error.type"] == code
    # 4xx is the caller's fault (HTTP conventions); 5xx is the hub's.
    expected = StatusCode.ERROR if failed else StatusCode.UNSET
    assert server.status.status_code is expected
    assert not server.events  # no exception text: it may hold case data
    assert "Smith" not in str(server.attributes)


# --- configuration ----------------------------------------------------------------------


def test_exporter_follows_the_settings() -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    assert telemetry.make_exporter(Settings(environment="test")) is None
    console = telemetry.make_exporter(Settings(environment="test", otel_exporter="console"))
    assert isinstance(console, ConsoleSpanExporter)
    otlp = telemetry.make_exporter(
        Settings(
            environment="test",
            otel_exporter="otlp",
            otel_endpoint="http://collector.test:4318/v1/traces",
        )
    )
    assert isinstance(otlp, OTLPSpanExporter)
    assert otlp._endpoint == "http://collector.test:4318/v1/traces"
    otlp.shutdown()


def test_each_process_names_its_service() -> None:
    settings = Settings(environment="test")
    for service in (telemetry.API, telemetry.WORKER):
        provider = telemetry.build_provider(settings, service)
        assert provider.resource.attributes["service.name"] == service
        assert provider.resource.attributes["deployment.environment.name"] == "test"
        provider.shutdown()


def test_configured_spans_reach_the_exporter(monkeypatch) -> None:
    exporter = InMemorySpanExporter()
    monkeypatch.setattr(telemetry, "make_exporter", lambda _settings: exporter)
    provider = telemetry.configure(Settings(environment="test"), telemetry.WORKER)
    try:
        with telemetry.tracer().start_as_current_span("work"):
            pass
        provider.force_flush()
        (span,) = exporter.get_finished_spans()
        assert span.resource.attributes["service.name"] == telemetry.WORKER
        assert isinstance(provider._active_span_processor._span_processors[0], BatchSpanProcessor)
    finally:
        telemetry.shutdown()
        telemetry.install(None)


async def test_the_api_process_configures_its_own_tracing(monkeypatch) -> None:
    from exchange.api import app as app_module

    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    monkeypatch.setattr(app_module, "bootstrap", lambda _s: SimpleNamespace(close=close))
    app = app_module.create_app(Settings(environment="test"))
    try:
        async with app.router.lifespan_context(app):
            with telemetry.tracer().start_as_current_span("request") as span:
                assert isinstance(span, ReadableSpan)
                assert span.resource.attributes["service.name"] == telemetry.API
        assert closed == [True]
    finally:
        telemetry.install(None)
