"""What a consumer does with a record it could not apply: retry it later through a retry
topic, or park it for ops (failure row + dead-letter topic). Both are written through the
outbox in the consumer's own transaction, so the decision commits with the offset it unblocks.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import ConsumerRecord
from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange import audit, metrics, telemetry
from exchange.db.tables import failures, inbox, messages, outbox
from exchange.domain.errors import ExchangeError
from exchange.messaging.headers import decode

log = structlog.get_logger(__name__)

ATTEMPT = "retry-attempt"  # failed attempts so far
NOT_BEFORE = "retry-not-before"  # epoch milliseconds before which a retry must not run


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: one retry topic per delay, then the dead-letter topic."""

    delays: tuple[float, ...] = (1.0, 5.0, 30.0)
    jitter: float = 0.2

    def topic(self, source_topic: str, level: int) -> str:
        """The retry topic of level ``level`` (1-based) for records of ``source_topic``."""
        return f"{main_topic(source_topic)}.retry-{level}"

    def due_ms(self, level: int) -> int:
        delay = self.delays[level - 1] * (1 + self.jitter * random.random())  # noqa: S311
        return int((time.time() + delay) * 1000)


def main_topic(topic: str) -> str:
    """``cjs.x.v1.retry-2`` → ``cjs.x.v1``."""
    base, _, level = topic.rpartition(".retry-")
    return base if base and level.isdigit() else topic


def attempts_of(record: ConsumerRecord[bytes, bytes]) -> int:
    value = decode(record.headers).get(ATTEMPT, "0")
    return int(value) if value.isdigit() else 0


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _key(record: ConsumerRecord[bytes, bytes]) -> str | None:
    return record.key.decode("utf-8", "replace") if record.key else None


async def schedule_retry(
    conn: AsyncConnection,
    record: ConsumerRecord[bytes, bytes],
    policy: RetryPolicy,
    level: int,
    consumer: str,
    exc: Exception,
) -> None:
    """Send the record to retry topic ``level`` (1-based), due after that level's delay.
    The retry record continues the trace of the current span (the failed attempt's)."""
    headers = telemetry.inject(decode(record.headers))
    headers.update({ATTEMPT: str(level), NOT_BEFORE: str(policy.due_ms(level))})
    message_id = _uuid_or_none(headers.get("message-id"))
    await conn.execute(
        outbox.insert().values(
            message_id=message_id,
            topic=policy.topic(record.topic, level),
            key=_key(record) or "unknown",
            value=record.value or b"",
            headers=headers,
        )
    )
    await audit.record(
        conn,
        "retry.scheduled",
        actor=f"hub/{consumer}",
        message_id=message_id,
        case_urn=_key(record),
        detail={"attempt": level, "error": f"{type(exc).__name__}: {exc}"[:500]},
    )
    log.warning(
        "consumer.retry_scheduled",
        consumer=consumer,
        message_id=str(message_id),
        attempt=level,
        error=type(exc).__name__,
    )


async def park(
    conn: AsyncConnection,
    record: ConsumerRecord[bytes, bytes],
    consumer: str,
    exc: Exception,
    dead_letter_topic: str,
    attempts: int,
) -> None:
    """Keep the record as a parked failure with its context (its headers as received), and
    dead-letter it under the current span (the failed attempt's), continuing its trace."""
    headers = decode(record.headers)
    code = exc.code if isinstance(exc, ExchangeError) else "HANDLER_ERROR"
    context: dict[str, Any] = {
        "consumer": consumer,
        "topic": main_topic(record.topic),
        "partition": record.partition,
        "offset": record.offset,
        "error_code": code,
        "error_class": type(exc).__name__,
        "error_message": str(exc)[:2000],
        "attempts": attempts,
    }
    message_id = _uuid_or_none(headers.get("message-id"))
    case_urn = _key(record)
    await conn.execute(
        failures.insert().values(
            message_id=message_id,
            case_urn=case_urn,
            record_value=record.value or b"",
            record_headers=headers,
            **context,
        )
    )
    if message_id is not None:
        # Marked as handled, so a redelivery does not park it twice; a replay clears it.
        await conn.execute(
            insert(inbox).values(consumer=consumer, message_id=message_id).on_conflict_do_nothing()
        )
        await conn.execute(
            outbox.insert().values(
                message_id=message_id,
                topic=dead_letter_topic,
                key=case_urn or "unknown",
                value=record.value or b"",
                headers={
                    **telemetry.inject(headers),
                    **{f"dlq-{k}": str(v) for k, v in context.items()},
                },
            )
        )
    await audit.record(
        conn,
        "parked",
        actor=f"hub/{consumer}",
        message_id=message_id,
        case_urn=case_urn,
        detail=context,
    )
    if message_id is not None:
        # The message shows as parked until ops replay it (its other destinations still
        # receive it; see docs/operations.md).
        await conn.execute(
            update(messages)
            .where(messages.c.message_id == message_id)
            .values(status="parked", updated_at=text("now()"))
        )
    metrics.record_parked(consumer, code)
    log.error("consumer.parked", **context, message_id=str(message_id))
