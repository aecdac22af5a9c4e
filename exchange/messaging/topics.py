"""Topic names (``cjs.<message-type>.v<major>``) and their creation."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from exchange.domain.envelope import MessageType

DEAD_LETTER = "cjs.dead-letter.v1"


def topic_for(message_type: MessageType, schema_major: int = 1, prefix: str = "") -> str:
    return f"{prefix}cjs.{message_type.value}.v{schema_major}"


def dead_letter_topic(prefix: str = "") -> str:
    return prefix + DEAD_LETTER


def all_topics(prefix: str = "") -> list[str]:
    return [topic_for(t, prefix=prefix) for t in MessageType] + [dead_letter_topic(prefix)]


async def ensure_topics(
    bootstrap: str,
    *,
    partitions: int,
    replication_factor: int,
    prefix: str = "",
    names: list[str] | None = None,
    extra: list[str] | None = None,
) -> None:
    """Create the hub's topics if they are missing (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="cjs-exchange-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        configs = {"min.insync.replicas": str(min(2, replication_factor))}
        wanted = [
            NewTopic(name, partitions, replication_factor, topic_configs=configs)
            for name in [*(names or all_topics(prefix)), *(extra or [])]
            if name not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # another process created it first
    finally:
        await admin.close()
