"""Replaying parked messages, and deliveries a destination never acknowledged.

A parked message has a ``failures`` row and an inbox row of the consumer that failed (so a
redelivery does not park it twice). Replaying it is one transaction: delete that consumer's
inbox row, put the original record (value and headers, plus ``replay-count``) back in the
outbox, mark the failure and the message ``replayed`` and audit who, why and what. The relay
publishes it with the original message id; only the consumer whose inbox row was deleted
applies it again, the others find theirs and skip it. Destinations de-duplicate by message id.

A loop guard refuses a message replayed ``replay_max_count`` times already: something that
fails every time needs an amendment or a fix, not another replay.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import audit, metrics
from exchange.db.engine import transaction
from exchange.db.tables import deliveries, failures, inbox, messages, outbox
from exchange.domain.envelope import MessageType
from exchange.domain.errors import Conflict, ExchangeError, NotFound
from exchange.messaging.topics import topic_for
from exchange.ops.search import FailureFilter, failure_query

__all__ = [
    "Candidate",
    "ReplayOutcome",
    "ReplayPlan",
    "ReplayRefused",
    "Replayer",
    "plan_replay",
    "replay_delivery",
    "replay_failure",
]

REPLAY_COUNT_HEADER = "replay-count"
MAX_SELECTION = 10_000


class ReplayRefused(ExchangeError):
    code = "REPLAY_REFUSED"
    http_status = 409


class ReasonRequired(ExchangeError):
    code = "REASON_REQUIRED"
    http_status = 422


def require_reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if len(cleaned) < 3:
        raise ReasonRequired("say why: a replay or amendment needs a reason for the audit trail")
    return cleaned[:500]


@dataclass(frozen=True)
class Candidate:
    failure_id: int
    message_id: uuid.UUID
    consumer: str
    case_urn: str | None
    error_code: str
    replay_count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "failure_id": self.failure_id,
            "message_id": str(self.message_id),
            "consumer": self.consumer,
            "case_urn": self.case_urn,
            "error_code": self.error_code,
            "replay_count": self.replay_count,
        }


@dataclass
class ReplayPlan:
    """What a replay would do: the dry run."""

    candidates: list[Candidate] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)

    @property
    def by_error_code(self) -> dict[str, int]:
        return dict(Counter(c.error_code for c in self.candidates).most_common())

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": len(self.candidates),
            "by_error_code": self.by_error_code,
            "by_consumer": dict(Counter(c.consumer for c in self.candidates).most_common()),
            "refused": self.refused,
            "candidates": [c.to_dict() for c in self.candidates[:200]],
        }


def _header_count(headers: dict[str, Any] | None) -> int:
    try:
        return int((headers or {}).get(REPLAY_COUNT_HEADER, 0))
    except (TypeError, ValueError):
        return 0


async def plan_replay(
    conn: AsyncConnection,
    *,
    failure_ids: list[int] | None = None,
    selection: FailureFilter | None = None,
    max_count: int,
) -> ReplayPlan:
    """The failures a replay would take, and those it would refuse with the reason."""
    if failure_ids:
        query = failure_query(FailureFilter(status=None)).where(failures.c.id.in_(failure_ids))
    elif selection is not None:
        query = failure_query(selection)
    else:
        raise ReplayRefused("choose failures to replay: failure ids or a search filter")
    query = query.add_columns(messages.c.replay_count.label("message_replays")).outerjoin(
        messages, messages.c.message_id == failures.c.message_id
    )
    rows = (await conn.execute(query.limit(MAX_SELECTION))).all()
    plan = ReplayPlan()
    found = {r.id for r in rows}
    for missing in sorted(set(failure_ids or []) - found):
        plan.refused.append({"failure_id": missing, "reason": "no such failure"})
    for r in sorted(rows, key=lambda r: r.id):
        count = max(_header_count(r.record_headers), r.message_replays or 0)
        why = _refusal(r.status, r.message_id, count, max_count)
        if why:
            plan.refused.append({"failure_id": r.id, "reason": why, "error_code": r.error_code})
            continue
        plan.candidates.append(
            Candidate(r.id, r.message_id, r.consumer, r.case_urn, r.error_code, count)
        )
    return plan


def _refusal(status: str, message_id: uuid.UUID | None, count: int, max_count: int) -> str:
    if status != "parked":
        return f"failure is {status}, not parked"
    if message_id is None:
        return "the record carried no message id; it cannot be replayed"
    if count >= max_count:
        return f"replayed {count} times already (limit {max_count}): amend or fix it instead"
    return ""


async def replay_failure(
    conn: AsyncConnection,
    failure_id: int,
    *,
    actor: str,
    reason: str,
    max_count: int,
    topic_prefix: str,
    value: bytes | None = None,
    detail: dict[str, Any] | None = None,
) -> Candidate:
    """Replay one parked failure in the caller's transaction (see the module docstring)."""
    reason = require_reason(reason)
    row = (
        await conn.execute(select(failures).where(failures.c.id == failure_id).with_for_update())
    ).first()
    if row is None:
        raise NotFound(f"no failure {failure_id}")
    message = None
    if row.message_id is not None:
        message = (
            await conn.execute(
                select(messages.c.replay_count, messages.c.status)
                .where(messages.c.message_id == row.message_id)
                .with_for_update()
            )
        ).first()
    count = max(_header_count(row.record_headers), message.replay_count if message else 0)
    why = _refusal(row.status, row.message_id, count, max_count)
    if why:
        metrics.record_replay("failure", "refused")
        raise ReplayRefused(f"failure {failure_id}: {why}")
    headers = {**row.record_headers, REPLAY_COUNT_HEADER: str(count + 1)}
    await conn.execute(
        delete(inbox).where(
            and_(inbox.c.consumer == row.consumer, inbox.c.message_id == row.message_id)
        )
    )
    await conn.execute(
        outbox.insert().values(
            message_id=row.message_id,
            topic=_topic(headers, row.topic, topic_prefix),
            key=row.case_urn or "unknown",
            value=value if value is not None else row.record_value,
            headers=headers,
        )
    )
    await conn.execute(
        update(failures)
        .where(failures.c.id == failure_id)
        .values(status="replayed", resolved_at=func.now())
    )
    await conn.execute(
        update(messages)
        .where(messages.c.message_id == row.message_id)
        .values(status="replayed", replay_count=count + 1, updated_at=func.now())
    )
    await audit.record(
        conn,
        "replayed",
        actor=actor,
        message_id=row.message_id,
        case_urn=row.case_urn,
        detail={
            "reason": reason,
            "failure_id": failure_id,
            "consumer": row.consumer,
            "error_code": row.error_code,
            "replay_count": count + 1,
            **(detail or {}),
        },
    )
    metrics.record_replay("failure", "replayed")
    return Candidate(failure_id, row.message_id, row.consumer, row.case_urn, row.error_code, count)


def _topic(headers: dict[str, Any], parked_on: str, prefix: str) -> str:
    """The message's main topic: it may have been parked from a retry topic."""
    try:
        kind = MessageType(headers["type"])
        major = int(str(headers.get("schema-version", "1")).split(".", 1)[0])
    except (KeyError, ValueError):
        return parked_on
    return topic_for(kind, major, prefix)


@dataclass
class ReplayOutcome:
    replayed: list[Candidate] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    canary: list[Candidate] = field(default_factory=list)
    canary_failed: list[Candidate] = field(default_factory=list)
    stopped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "replayed": len(self.replayed),
            "replayed_failures": [c.failure_id for c in self.replayed],
            "refused": self.refused,
            "canary": [c.failure_id for c in self.canary],
            "canary_failed": [c.failure_id for c in self.canary_failed],
            "stopped": self.stopped,
        }


Progress = Callable[[Candidate], None]


class Replayer:
    """Replays a plan: a canary batch first, checked, then the rest at a bounded rate."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_count: int,
        topic_prefix: str,
        canary_timeout: float = 60.0,
        poll_seconds: float = 0.2,
    ) -> None:
        self._engine = engine
        self._max = max_count
        self._prefix = topic_prefix
        self._canary_timeout = canary_timeout
        self._poll = poll_seconds

    async def run(
        self,
        plan: ReplayPlan,
        *,
        actor: str,
        reason: str,
        canary: int = 0,
        rate: float | None = None,
        progress: Progress | None = None,
    ) -> ReplayOutcome:
        reason = require_reason(reason)
        outcome = ReplayOutcome(refused=list(plan.refused))
        first, rest = plan.candidates[:canary], plan.candidates[canary:]
        if first and rest:
            await self._replay_all(first, outcome, actor, reason, rate, progress)
            outcome.canary = list(first)
            outcome.canary_failed = await self.wait_for(first)
            if outcome.canary_failed:
                outcome.stopped = (
                    f"{len(outcome.canary_failed)} of {len(first)} canary replays failed again; "
                    f"the other {len(rest)} were not replayed"
                )
                return outcome
            first = []
        await self._replay_all(first + rest, outcome, actor, reason, rate, progress)
        return outcome

    async def _replay_all(
        self,
        items: list[Candidate],
        outcome: ReplayOutcome,
        actor: str,
        reason: str,
        rate: float | None,
        progress: Progress | None,
    ) -> None:
        started = time.monotonic()
        for i, item in enumerate(items):
            if rate:
                # Spread replays so the destinations are not flooded: item i no earlier than i/rate.
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            try:
                async with transaction(self._engine) as conn:
                    done = await replay_failure(
                        conn,
                        item.failure_id,
                        actor=actor,
                        reason=reason,
                        max_count=self._max,
                        topic_prefix=self._prefix,
                        detail={"batch": True},
                    )
                outcome.replayed.append(done)
            except (ReplayRefused, NotFound) as exc:
                outcome.refused.append({"failure_id": item.failure_id, "reason": exc.message})
            if progress is not None:
                progress(item)

    async def wait_for(self, items: list[Candidate]) -> list[Candidate]:
        """Wait until each replayed message was applied or parked again; returns the failed."""
        deadline = time.monotonic() + self._canary_timeout
        pending = list(items)
        failed: list[Candidate] = []
        while pending:
            async with self._engine.connect() as conn:
                still: list[Candidate] = []
                for item in pending:
                    state = await replay_state(conn, item)
                    if state == "failed":
                        failed.append(item)
                    elif state == "pending":
                        still.append(item)
                pending = still
            if not pending:
                break
            if time.monotonic() > deadline:
                failed.extend(pending)
                break
            await asyncio.sleep(self._poll)
        return failed


async def replay_state(conn: AsyncConnection, item: Candidate) -> str:
    """``applied``, ``failed`` (parked again) or ``pending`` for one replayed failure."""
    again = (
        await conn.execute(
            select(func.count())
            .select_from(failures)
            .where(failures.c.message_id == item.message_id)
            .where(failures.c.consumer == item.consumer)
            .where(failures.c.id > item.failure_id)
        )
    ).scalar_one()
    if again:
        return "failed"
    applied = (
        await conn.execute(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.consumer == item.consumer)
            .where(inbox.c.message_id == item.message_id)
        )
    ).scalar_one()
    return "applied" if applied else "pending"


async def replay_delivery(
    conn: AsyncConnection, message_id: uuid.UUID, destination: str, *, actor: str, reason: str
) -> dict[str, Any]:
    """Make a delivery the destination never acknowledged available again, at the end of its
    cursor (a new ``seq``), so a puller past it takes it again and a webhook sends it now."""
    reason = require_reason(reason)
    where = and_(deliveries.c.message_id == message_id, deliveries.c.destination == destination)
    row = (await conn.execute(select(deliveries).where(where).with_for_update())).first()
    if row is None:
        raise NotFound(f"no delivery of message {message_id} to {destination}")
    if row.status == "acknowledged":
        metrics.record_replay("delivery", "refused")
        raise Conflict(
            f"{destination} acknowledged message {message_id} already; nothing to re-deliver",
            code="DELIVERY_ACKNOWLEDGED",
        )
    moved = (
        await conn.execute(
            update(deliveries)
            .where(where)
            .values(
                seq=text("DEFAULT"),
                status="available",
                taken_at=None,
                next_attempt_at=func.coalesce(
                    func.least(deliveries.c.next_attempt_at, func.now()),
                    text("CASE WHEN deliveries.last_error IS NOT NULL THEN now() END"),
                ),
            )
            .returning(deliveries.c.seq)
        )
    ).scalar_one()
    await audit.record(
        conn,
        "delivery.replayed",
        actor=actor,
        message_id=message_id,
        case_urn=row.case_urn,
        detail={
            "reason": reason,
            "destination": destination,
            "previous_status": row.status,
            "previous_seq": row.seq,
            "seq": moved,
        },
    )
    metrics.record_replay("delivery", "replayed")
    return {"message_id": str(message_id), "destination": destination, "seq": moved}
