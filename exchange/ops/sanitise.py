"""Replacing the personal data in a canonical payload, keeping ids, codes and case dates.

Every canonical field carries a sensitivity marking (``exchange/domain/common.py``); a field
marked ``personal`` or ``special-category`` is replaced wherever it is, at any depth, and
every other field is kept. A person's name, address, contact details, birth date and
ethnicity go; the PTIURN, ASN, offence and result codes, OU codes and hearing dates stay.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from exchange.domain.common import SENSITIVITY
from exchange.domain.envelope import MessageType
from exchange.domain.payloads import payload_model

__all__ = ["REDACTED", "sanitise_message", "sanitise_payload"]

REDACTED = "[sanitised]"
_SENSITIVE = frozenset({"personal", "special-category"})


def sanitise_message(document: dict[str, Any]) -> dict[str, Any]:
    """A canonical message ``{"envelope", "payload"}`` with its payload sanitised."""
    try:
        model = payload_model(MessageType(document["envelope"]["message_type"]))
    except (KeyError, ValueError, LookupError, TypeError):
        return {"envelope": document.get("envelope"), "payload": {}, "sanitised": True}
    return {**document, "payload": sanitise_payload(model, document.get("payload", {}))}


def sanitise_payload(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name, field in model.model_fields.items():
        key = name if name in out else field.alias
        if key is None or key not in out:
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get(SENSITIVITY) in _SENSITIVE:
            out[key] = _redact(out[key])
        else:
            out[key] = _walk(field.annotation, out[key])
    return out


def _walk(annotation: Any, value: Any) -> Any:
    models = _models_in(annotation)
    if not models:
        return value
    if isinstance(value, list):
        return [_walk(annotation, v) for v in value]
    if isinstance(value, dict):
        return sanitise_payload(_best(models, value), value)
    return value


def _best(models: list[type[BaseModel]], value: dict[str, Any]) -> type[BaseModel]:
    """The model (of a union) whose fields cover the value's keys best."""
    return max(models, key=lambda m: len(set(value) & set(m.model_fields)))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    found: list[type[BaseModel]] = []
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found += _models_in(arg)
    return found


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return REDACTED
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    return None
