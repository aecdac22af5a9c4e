"""``exchange transform``: a document to its canonical message, or on to a destination's
format (any outbound format an adapter registers: cms-case-json, dcs-bundle-json, …)."""

from __future__ import annotations

from typing import TextIO

import orjson

from exchange.domain.envelope import Party
from exchange.domain.errors import ExchangeError, InvalidMessage
from exchange.ingest import new_envelope
from exchange.messaging.codec import CanonicalMessage
from exchange.registry import Registry
from exchange.validation import to_canonical

CANONICAL = "canonical"


def transform_document(raw: bytes, target: str, out: TextIO, err: TextIO) -> int:
    """Write ``raw`` transformed to ``target`` to ``out``; errors to ``err``. Exit code."""
    registry = Registry.discover()
    known = [CANONICAL, *sorted({o.format for o in registry.all_outbound()})]
    if target not in known:
        err.write(f"error: unknown target {target!r}; known: {', '.join(known)}\n")
        return 2
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
    if target == CANONICAL:
        message = CanonicalMessage(envelope, payload).to_dict()
        out.write(orjson.dumps(message, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    outbound = [o for o in registry.outbound_for(inbound.message_type) if o.format == target]
    if not outbound:
        fits = [o.format for o in registry.outbound_for(inbound.message_type)]
        err.write(
            f"error: a {inbound.message_type.value} goes to {', '.join(fits)}, not {target!r}\n"
        )
        return 2
    rendered = outbound[0].render(payload, envelope)
    if isinstance(rendered.get("xml"), str):
        out.write(rendered["xml"] + ("" if rendered["xml"].endswith("\n") else "\n"))
    else:
        out.write(orjson.dumps(rendered, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
