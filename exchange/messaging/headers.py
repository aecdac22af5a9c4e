"""Kafka record headers carried by every canonical message."""

from __future__ import annotations

from opentelemetry.trace import get_current_span

from exchange import telemetry
from exchange.domain.envelope import Envelope

CONTENT_TYPE = "application/vnd.cjs.canonical+json"


def new_traceparent() -> str:
    """A W3C trace context header for a message made outside any span."""
    return telemetry.new_traceparent()


def headers_for(envelope: Envelope, traceparent: str | None = None) -> dict[str, str]:
    """The headers of a message's outbox row and Kafka record.

    ``traceparent`` (and ``tracestate``) name the current span, the one that made the
    message (the API's ingest span), so the relay and the consumers continue its trace.
    Outside any span a valid ``traceparent`` given is kept, else a new trace begins."""
    headers = {
        "message-id": str(envelope.message_id),
        "type": envelope.message_type.value,
        "schema-version": envelope.schema_version,
        "source": f"{envelope.source.agency.value}/{envelope.source.system}",
        "correlation-id": str(envelope.correlation_id),
        "content-type": CONTENT_TYPE,
    }
    if envelope.causation_id is not None:
        headers["causation-id"] = str(envelope.causation_id)
    if get_current_span().get_span_context().is_valid:
        return telemetry.inject(headers)
    given = get_current_span(telemetry.extract({"traceparent": traceparent or ""}))
    if given.get_span_context().is_valid:
        return telemetry.inject(headers, given)
    headers["traceparent"] = new_traceparent()
    return headers


def encode(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items()]


def decode(raw: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in raw}
