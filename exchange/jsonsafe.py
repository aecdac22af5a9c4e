"""Parsing untrusted JSON within limits: size, nesting depth and number of values (JSON
bombs), with every refusal a precise, coded issue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from exchange.domain.errors import InvalidMessage, Issue

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_VALUES = 10_000
# A document with thousands of schema errors is answered with the first ones: enough to act
# on, and bounded in time and size (finding every error is itself a denial of service).
MAX_REPORTED_ISSUES = 100


def _refuse(
    code: str, message: str, *, location: str = "", line: int | None = None
) -> InvalidMessage:
    return InvalidMessage(issues=[Issue(code, message, location, line)], summary=message)


def _walk(value: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Depth and path of every value, iteratively (a recursive walk is itself a stack bomb)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        yield len(path) + 1, path
        if isinstance(item, dict):
            stack.extend((v, (*path, k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(item))


def pointer(path: tuple[Any, ...]) -> str:
    """A JSON pointer (RFC 6901) for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def load_json(
    raw: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_values: int = DEFAULT_MAX_VALUES,
) -> Any:
    """Parse ``raw`` or raise ``InvalidMessage`` (JSON_TOO_LARGE, JSON_MALFORMED,
    JSON_TOO_DEEP, JSON_TOO_MANY_VALUES)."""
    if len(raw) > max_bytes:
        raise _refuse("JSON_TOO_LARGE", f"document is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" in exc.msg or "recursion" in exc.msg:
            raise _refuse("JSON_TOO_DEEP", f"values nest deeper than {max_depth} levels") from None
        raise _refuse(
            "JSON_MALFORMED",
            f"JSON is not well-formed at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            location=f"line {exc.lineno}, column {exc.colno}",
            line=exc.lineno,
        ) from None
    for count, (depth, path) in enumerate(_walk(document), start=1):
        if depth > max_depth:
            raise _refuse(
                "JSON_TOO_DEEP",
                f"values nest deeper than {max_depth} levels",
                location=pointer(path),
            )
        if count > max_values:
            raise _refuse("JSON_TOO_MANY_VALUES", f"document holds more than {max_values} values")
    return document
