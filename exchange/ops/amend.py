"""Amend and replay: ops correct a field of a parked message's canonical payload, see the diff,
have it validated again (the payload model and the sending adapter's data-quality rules), then
replay it. The diff and the reason are kept in the audit trail; the raw document the agency
sent is never changed."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange import audit
from exchange.db.tables import failures, messages
from exchange.domain.envelope import MessageType
from exchange.domain.errors import ExchangeError, InvalidMessage, Issue, NotFound
from exchange.domain.payloads import payload_model
from exchange.ops.replay import ReplayRefused, replay_failure, require_reason
from exchange.ops.sanitise import sanitise_message
from exchange.registry import Registry
from exchange.standingdata import StandingData

__all__ = ["Amendment", "BadPointer", "amend_and_replay", "apply", "preview"]


class BadPointer(ExchangeError):
    code = "POINTER_INVALID"
    http_status = 422


@dataclass(frozen=True)
class Amendment:
    """Set the value at ``pointer`` (RFC 6901, from the message root, under ``/payload``)."""

    pointer: str
    value: Any


def _tokens(pointer: str) -> list[str]:
    if not pointer.startswith("/payload/"):
        raise BadPointer(f"{pointer!r}: only fields under /payload may be amended")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def apply(
    document: dict[str, Any], changes: list[Amendment]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A copy of ``document`` with the changes, and the diff (pointer, old, new)."""
    if not changes:
        raise BadPointer("no change given: send at least one pointer and value")
    doc = copy.deepcopy(document)
    diff = []
    for change in changes:
        *path, last = _tokens(change.pointer)
        node: Any = doc
        for token in path:
            node = _child(node, token, change.pointer)
        if isinstance(node, list):
            index = _index(node, last, change.pointer)
            old = node[index]
            node[index] = change.value
        elif isinstance(node, dict):
            old = node.get(last)
            node[last] = change.value
        else:
            raise BadPointer(f"{change.pointer!r}: the parent is not an object or array")
        if old != change.value:
            diff.append({"pointer": change.pointer, "old": old, "new": change.value})
    return doc, diff


def _child(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, pointer)]
    raise BadPointer(f"{pointer!r}: no {token!r} in the message")


def _index(node: list[Any], token: str, pointer: str) -> int:
    if not token.isdigit() or int(token) >= len(node):
        raise BadPointer(f"{pointer!r}: {token!r} is not an index of that array")
    return int(token)


def audit_diff(amended: dict[str, Any], diff: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The diff as the audit trail keeps it: values of personal fields are replaced by their
    SHA-256 (the audit holds no personal data; the message keeps the amended value)."""
    sanitised = sanitise_message(amended)
    kept = []
    for change in diff:
        if _at(sanitised, change["pointer"]) == change["new"]:
            kept.append(change)
        else:
            kept.append(
                {
                    "pointer": change["pointer"],
                    "personal": True,
                    "old_sha256": _digest(change["old"]),
                    "new_sha256": _digest(change["new"]),
                }
            )
    return kept


def _at(document: Any, pointer: str) -> Any:
    node = document
    for token in _tokens(pointer):
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node.get(token)
        else:
            return None
    return node


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _load(conn: AsyncConnection, failure_id: int, *, lock: bool = False) -> Any:
    query = (
        select(
            failures.c.id,
            failures.c.status,
            failures.c.record_value,
            failures.c.message_id,
            failures.c.case_urn,
            messages.c.format,
        )
        .outerjoin(messages, messages.c.message_id == failures.c.message_id)
        .where(failures.c.id == failure_id)
    )
    if lock:
        query = query.with_for_update(of=failures)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"no failure {failure_id}")
    if row.status != "parked":
        raise ReplayRefused(f"failure {failure_id} is {row.status}, not parked")
    return row


def validate(
    document: dict[str, Any], fmt: str | None, registry: Registry, standing: StandingData
) -> list[Issue]:
    """Every issue of the amended message: payload model first, then data-quality rules."""
    try:
        kind = MessageType(document["envelope"]["message_type"])
        payload = payload_model(kind).model_validate(document["payload"])
    except (KeyError, ValueError, LookupError) as exc:
        if isinstance(exc, ValidationError):
            return [
                Issue(
                    "PAYLOAD_INVALID",
                    e["msg"],
                    "/payload/" + "/".join(str(p) for p in e["loc"]),
                )
                for e in exc.errors()
            ]
        return [Issue("MESSAGE_INVALID", f"not a canonical message: {exc}", "/")]
    inbound = registry.inbound_for_format(fmt) if fmt else None
    if inbound is None:
        return []
    return [
        Issue(i.code, i.message, "/payload" + i.location, i.line, i.severity)
        for i in inbound.quality(payload, standing)
    ]


async def preview(
    conn: AsyncConnection,
    registry: Registry,
    standing: StandingData,
    failure_id: int,
    changes: list[Amendment],
) -> dict[str, Any]:
    row = await _load(conn, failure_id)
    original = orjson.loads(row.record_value)
    amended, diff = apply(original, changes)
    issues = validate(amended, row.format, registry, standing)
    return {
        "failure_id": failure_id,
        "message_id": str(row.message_id),
        "diff": diff,
        "issues": [i.to_dict() for i in issues],
        "valid": not any(i.severity == "error" for i in issues),
        "payload": amended["payload"],
    }


async def amend_and_replay(
    conn: AsyncConnection,
    registry: Registry,
    standing: StandingData,
    failure_id: int,
    changes: list[Amendment],
    *,
    actor: str,
    reason: str,
    max_count: int,
    topic_prefix: str,
) -> dict[str, Any]:
    """Apply, validate, store the amended canonical form, audit the diff, replay."""
    reason = require_reason(reason)
    row = await _load(conn, failure_id, lock=True)
    amended, diff = apply(orjson.loads(row.record_value), changes)
    if not diff:
        raise BadPointer("the change leaves the message as it was; nothing to amend")
    issues = validate(amended, row.format, registry, standing)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise InvalidMessage(issues=errors, summary="the amended message is still invalid")
    await conn.execute(
        update(messages)
        .where(messages.c.message_id == row.message_id)
        .values(canonical=amended, updated_at=func.now())
    )
    await audit.record(
        conn,
        "amended",
        actor=actor,
        message_id=row.message_id,
        case_urn=row.case_urn,
        detail={"reason": reason, "failure_id": failure_id, "diff": audit_diff(amended, diff)},
    )
    done = await replay_failure(
        conn,
        failure_id,
        actor=actor,
        reason=reason,
        max_count=max_count,
        topic_prefix=topic_prefix,
        value=orjson.dumps(amended),
        detail={"amended": True},
    )
    return {
        "failure_id": failure_id,
        "message_id": str(done.message_id),
        "diff": diff,
        "warnings": [i.to_dict() for i in issues],
        "replayed": True,
    }
