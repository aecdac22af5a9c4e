"""Making a canonical message available to one destination agency in its own format."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange import audit, lifecycle, metrics, telemetry
from exchange.db.tables import deliveries, delivery_keys
from exchange.messaging.codec import CanonicalMessage
from exchange.registry import Outbound


class DeliveryHandler:
    """Consumer effect: render each message for the destination and store it for delivery."""

    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound
        self.name = outbound.consumer_name

    async def handle(self, conn: AsyncConnection, message: CanonicalMessage) -> None:
        failed = await self.handle_batch(conn, [message])
        if failed:
            raise next(iter(failed.values()))

    async def handle_batch(
        self, conn: AsyncConnection, messages: Sequence[CanonicalMessage]
    ) -> dict[uuid.UUID, Exception]:
        rows: list[dict[str, Any]] = []
        failed: dict[uuid.UUID, Exception] = {}
        for message in messages:
            try:
                rows.append(self._row(message))
            except Exception as exc:  # noqa: BLE001 - the consumer decides: retry or park
                failed[message.envelope.message_id] = exc
        if not rows:
            return failed
        rows = await _claim(conn, rows)
        if not rows:
            return failed
        # Statement and rows apart: one cached statement whatever the batch size (a multi-row
        # VALUES is compiled, and cached, once per distinct row count).
        await conn.execute(insert(deliveries), rows)
        metrics.record_delivery(self.outbound.destination.value, "available", len(rows))
        destination, fmt = self.outbound.destination.value, self.outbound.format
        await audit.record_many(
            conn,
            [
                {
                    "message_id": row["message_id"],
                    "case_urn": row["case_urn"],
                    "event": "delivery.available",
                    "actor": f"hub/{self.name}",
                    "detail": {"destination": destination, "format": fmt},
                }
                for row in rows
            ],
        )
        done = {m.envelope.message_id: len(m.envelope.destinations) for m in messages}
        await lifecycle.delivered_if_complete(
            conn, {mid: n for mid, n in done.items() if mid not in failed}
        )
        return failed

    def _row(self, message: CanonicalMessage) -> dict[str, Any]:
        env = message.envelope
        return {
            "message_id": env.message_id,
            "destination": self.outbound.destination.value,
            "destination_org": self.outbound.organisation(message.payload),
            "case_urn": env.case_urn,
            "message_type": env.message_type.value,
            "format": self.outbound.format,
            "payload": self.outbound.render(message.payload, env),
            "status": "available",
            "traceparent": telemetry.traceparent_of(env.message_id),
        }


async def _claim(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose (message, destination) has no delivery yet, claimed in this transaction.
    ``deliveries`` is partitioned by month, so this guard lives in ``delivery_keys``."""
    claimed = {
        (r.message_id, r.destination)
        for r in await conn.execute(
            insert(delivery_keys)
            .on_conflict_do_nothing()
            .returning(delivery_keys.c.message_id, delivery_keys.c.destination),
            [{"message_id": r["message_id"], "destination": r["destination"]} for r in rows],
        )
    }
    fresh: list[dict[str, Any]] = []
    for row in rows:
        key = (row["message_id"], row["destination"])
        if key in claimed:
            claimed.discard(key)  # a record seen twice in one batch is delivered once
            fresh.append(row)
    return fresh
