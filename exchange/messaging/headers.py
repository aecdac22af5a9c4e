"""Kafka record headers carried by every canonical message."""

from __future__ import annotations

import secrets

from exchange.domain.envelope import Envelope

CONTENT_TYPE = "application/vnd.cjs.canonical+json"


def new_traceparent() -> str:
    """A W3C trace context header for a message that arrives without one."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def headers_for(envelope: Envelope, traceparent: str | None = None) -> dict[str, str]:
    headers = {
        "message-id": str(envelope.message_id),
        "type": envelope.message_type.value,
        "schema-version": envelope.schema_version,
        "source": f"{envelope.source.agency.value}/{envelope.source.system}",
        "correlation-id": str(envelope.correlation_id),
        "traceparent": traceparent or new_traceparent(),
        "content-type": CONTENT_TYPE,
    }
    if envelope.causation_id is not None:
        headers["causation-id"] = str(envelope.causation_id)
    return headers


def encode(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items()]


def decode(raw: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in raw}
