"""``exchange transform``: a document to its canonical message, for people and scripts."""

from __future__ import annotations

from typing import TextIO

import orjson

from exchange.domain.envelope import Party
from exchange.domain.errors import ExchangeError, InvalidMessage
from exchange.ingest import new_envelope
from exchange.messaging.codec import CanonicalMessage
from exchange.registry import Registry
from exchange.validation import to_canonical

TARGETS = ("canonical",)


def transform_document(raw: bytes, target: str, out: TextIO, err: TextIO) -> int:
    """Write the canonical message for ``raw`` to ``out``; errors to ``err``. Exit code."""
    if target not in TARGETS:
        err.write(f"error: unknown target {target!r}; known: {', '.join(TARGETS)}\n")
        return 2
    registry = Registry.discover()
    try:
        inbound, payload = to_canonical(raw, registry)
    except InvalidMessage as exc:
        for issue in exc.issues:
            err.write(orjson.dumps(issue.to_dict()).decode() + "\n")
        return 1
    except ExchangeError as exc:
        err.write(orjson.dumps(exc.to_dict()).decode() + "\n")
        return 1
    sender = next(a for a in registry.adapters if inbound in a.inbound)
    envelope = new_envelope(
        registry, inbound, payload, Party(agency=sender.agency, system=sender.system)
    )
    message = CanonicalMessage(envelope, payload)
    out.write(orjson.dumps(message.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
