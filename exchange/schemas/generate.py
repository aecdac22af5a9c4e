"""JSON Schema for each canonical message type, generated from the pydantic models.

The generated files live in ``schemas/json/canonical/`` and are committed; a test fails when
they differ from what the models generate, so a model change is always a reviewed schema
change (and goes through the compatibility check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from exchange.domain.envelope import Envelope, MessageType
from exchange.domain.payloads import SCHEMA_VERSION, payload_model
from exchange.settings import REPO_ROOT

CANONICAL_DIR = REPO_ROOT / "schemas" / "json" / "canonical"


def schema_name(message_type: MessageType) -> str:
    major = SCHEMA_VERSION.split(".", 1)[0]
    return f"{message_type.value}.v{major}"


def canonical_schema(message_type: MessageType) -> dict[str, Any]:
    """The JSON Schema of a whole canonical message: envelope and typed payload."""
    model = payload_model(message_type)
    payload = model.model_json_schema(ref_template="#/$defs/{model}")
    envelope = Envelope.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = {}
    for part in (payload, envelope):
        defs.update(part.pop("$defs", {}))
    defs[model.__name__] = payload
    defs["Envelope"] = envelope
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:cjs-exchange:canonical:{schema_name(message_type)}",
        "title": f"Canonical {message_type.value} message, schema version {SCHEMA_VERSION}",
        "type": "object",
        "additionalProperties": False,
        "required": ["envelope", "payload"],
        "properties": {
            "envelope": {"$ref": "#/$defs/Envelope"},
            "payload": {"$ref": f"#/$defs/{model.__name__}"},
        },
        "$defs": dict(sorted(defs.items())),
    }


def render(schema: dict[str, Any]) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def generated_files() -> dict[Path, bytes]:
    """Every canonical schema file, as it should be on disk."""
    files: dict[Path, bytes] = {}
    for message_type in MessageType:
        try:
            schema = canonical_schema(message_type)
        except LookupError:
            continue  # a message type without a payload model yet
        files[CANONICAL_DIR / f"{schema_name(message_type)}.json"] = render(schema)
    return files


def write_all() -> list[Path]:
    CANONICAL_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for path, content in generated_files().items():
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            written.append(path)
    return written
