"""Making a canonical message available to one destination agency in its own format."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange import audit, lifecycle
from exchange.db.tables import deliveries
from exchange.messaging.codec import CanonicalMessage
from exchange.registry import Outbound


class DeliveryHandler:
    """Consumer effect: render the message for the destination and store it for delivery."""

    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound
        self.name = outbound.consumer_name

    async def handle(self, conn: AsyncConnection, message: CanonicalMessage) -> None:
        env = message.envelope
        body = self.outbound.render(message.payload, env)
        await conn.execute(
            insert(deliveries)
            .values(
                message_id=env.message_id,
                destination=self.outbound.destination.value,
                destination_org=self.outbound.organisation(message.payload),
                case_urn=env.case_urn,
                message_type=env.message_type.value,
                format=self.outbound.format,
                payload=body,
                status="available",
            )
            .on_conflict_do_nothing()
        )
        await audit.record(
            conn,
            "delivery.available",
            actor=f"hub/{self.name}",
            message_id=env.message_id,
            case_urn=env.case_urn,
            detail={"destination": self.outbound.destination.value, "format": self.outbound.format},
        )
        await lifecycle.delivered_if_complete(conn, env.message_id, len(env.destinations))
