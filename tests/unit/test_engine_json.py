"""JSONB parameters are encoded with orjson: the same JSON as the standard library gives for
the hub's payloads, at a fraction of the cost (docs/performance.md)."""

from __future__ import annotations

import json

from exchange.db.engine import json_serializer, make_engine


def test_jsonb_parameters_are_encoded_by_the_hub_serializer() -> None:
    engine = make_engine("postgresql+asyncpg://u:p@127.0.0.1:1/db", pool_size=1)
    assert engine.sync_engine.dialect._json_serializer is json_serializer  # noqa: SLF001


def test_it_writes_the_same_json_as_the_standard_library() -> None:
    payload = {"a": [1, 2.5, None, True], "b": {"é": "Café"}, "c": "line\nbreak"}
    assert json.loads(json_serializer(payload)) == payload
    assert isinstance(json_serializer(payload), str)
