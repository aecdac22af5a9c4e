"""Tracing with OpenTelemetry: one trace per message, from the agency's POST to its delivery.

The trace context travels as the W3C ``traceparent`` (and ``tracestate``) header: on the way in
(HTTP), in the outbox row's headers, on every Kafka record and on webhook pushes. It is read and
written only by OpenTelemetry's ``TraceContextTextMapPropagator``, never by hand.

Spans are always created, so the context always moves on (each hop is a child of the one
before); they leave the process only when ``EXCHANGE_OTEL_EXPORTER`` says where to
(``console`` or ``otlp``). With the default ``none`` a span costs a few microseconds and no I/O.

The provider is this module's, not OpenTelemetry's global one: the FastAPI in use traces
requests by itself once a global provider is set, which would put a second server span around
ours. ``configure`` is called once per process (API, worker); tests ``install`` their own.
Spans carry identifiers (message id, correlation id, topic, offset), never payloads, case data
or error messages, which may hold personal data.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from importlib import metadata
from typing import Final, Literal

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    get_current_span,
    set_span_in_context,
    use_span,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from exchange.settings import Settings

__all__ = [
    "API",
    "TRACE_HEADERS",
    "WORKER",
    "build_provider",
    "configure",
    "current",
    "current_traceparent",
    "extract",
    "failed",
    "inject",
    "install",
    "message_spans",
    "make_exporter",
    "new_traceparent",
    "shutdown",
    "traceparent_of",
    "tracer",
]

API: Final = "cjs-exchange-api"
WORKER: Final = "cjs-exchange-worker"
TRACE_HEADERS: Final = ("traceparent", "tracestate")
INSTRUMENTATION: Final = "exchange"

Exporter = Literal["none", "console", "otlp"]

_PROPAGATOR: Final = TraceContextTextMapPropagator()
_IDS: Final = RandomIdGenerator()

_provider: TracerProvider | None = None
_MESSAGE_SPANS: ContextVar[Mapping[uuid.UUID, Span] | None] = ContextVar(
    "message_spans", default=None
)
_tracer: Tracer | None = None


def _version() -> str:
    try:
        return metadata.version("cjs-exchange-hub")
    except metadata.PackageNotFoundError:
        return "unknown"


def resource(service: str, environment: str) -> Resource:
    return Resource.create(
        {
            "service.name": service,
            "service.namespace": "cjs-exchange",
            "service.version": _version(),
            "deployment.environment.name": environment,
        }
    )


def build_provider(settings: Settings, service: str) -> TracerProvider:
    """A provider for ``service`` (``API`` or ``WORKER``) as the settings say."""
    provider = TracerProvider(
        resource=resource(service, settings.environment),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
    )
    exporter = make_exporter(settings)
    if exporter is not None:
        # Batched on a background thread: exporting never waits on the hot path.
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def make_exporter(settings: Settings) -> SpanExporter | None:
    kind: Exporter = settings.otel_exporter
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # stdout, apart from the JSON log lines on stderr.
        return ConsoleSpanExporter(out=sys.stdout)
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Headers (collector credentials), certificates and timeouts: the exporter reads the
        # standard OTEL_EXPORTER_OTLP_* variables itself.
        return OTLPSpanExporter(endpoint=settings.otel_endpoint)
    return None


def configure(settings: Settings, service: str) -> TracerProvider:
    """Set up this process's tracing from the settings (once, at start)."""
    provider = build_provider(settings, service)
    install(provider)
    return provider


def install(provider: TracerProvider | None) -> TracerProvider | None:
    """Make ``provider`` the one spans come from; returns the one before (tests restore it).
    ``None`` goes back to the default: spans made and propagated, exported nowhere."""
    global _provider, _tracer
    previous = _provider
    _provider = provider
    _tracer = None
    return previous


def shutdown() -> None:
    """Flush and stop the exporter (at the end of a process)."""
    if _provider is not None:
        _provider.shutdown()


def tracer() -> Tracer:
    global _provider, _tracer
    if _tracer is None:
        if _provider is None:  # not configured (tests, the CLI): made, propagated, not exported
            _provider = TracerProvider(resource=resource("cjs-exchange", "unconfigured"))
        _tracer = _provider.get_tracer(INSTRUMENTATION, _version())
    return _tracer


def extract(headers: Mapping[str, str] | None) -> Context:
    """The context whose span is the parent named by ``traceparent`` in ``headers``; an empty
    context (a new trace) when there is none or it is not valid W3C trace context."""
    carrier = {k: headers[k] for k in TRACE_HEADERS if headers and headers.get(k)}
    return _PROPAGATOR.extract(carrier, context=Context())


def inject(headers: Mapping[str, str], span: Span | None = None) -> dict[str, str]:
    """A copy of ``headers`` whose trace headers name ``span`` (default: the current span).
    Without a valid span the headers are returned as they are."""
    span = span if span is not None else get_current_span()
    out = dict(headers)
    if not span.get_span_context().is_valid:
        return out
    for name in TRACE_HEADERS:
        out.pop(name, None)
    _PROPAGATOR.inject(out, context=set_span_in_context(span, Context()))
    return out


@contextmanager
def message_spans(spans: Mapping[uuid.UUID, Span]) -> Iterator[None]:
    """While a batch is applied, the span of each message in it (by message id): work done
    for one message of a set-based batch records that message's own span."""
    token = _MESSAGE_SPANS.set(spans)
    try:
        yield
    finally:
        _MESSAGE_SPANS.reset(token)


def traceparent_of(message_id: uuid.UUID) -> str | None:
    """The ``traceparent`` of the span applying ``message_id`` (see ``message_spans``), else
    of the current span."""
    spans = _MESSAGE_SPANS.get()
    span = spans.get(message_id) if spans else None
    return inject({}, span).get("traceparent")


def current_traceparent() -> str | None:
    """The ``traceparent`` of the current span, or ``None`` outside any span."""
    return inject({}).get("traceparent")


def new_traceparent() -> str:
    """A ``traceparent`` that starts a new trace (for a message made outside any span)."""
    context = SpanContext(
        trace_id=_IDS.generate_trace_id(),
        span_id=_IDS.generate_span_id(),
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return inject({}, NonRecordingSpan(context))["traceparent"]


def current(span: Span) -> AbstractContextManager[Span]:
    """Make ``span`` the current one for a block, without ending it or recording an
    exception that passes through (see ``failed``)."""
    return use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False)


def failed(span: Span, exc: BaseException, *, code: str | None = None) -> None:
    """Mark ``span`` as failed by the kind of error only: an exception's message can carry
    case data, which must not leave the hub in a trace."""
    span.set_attribute("error.type", code or type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
