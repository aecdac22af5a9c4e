"""Kafka client settings. aiokafka's defaults (acks=1, auto-commit) lose messages: every
producer and consumer in the hub is built from these functions instead."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def producer_options(bootstrap: str, client_id: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 30_000,
        "retry_backoff_ms": 200,
    }


def consumer_options(bootstrap: str, client_id: str, group_id: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": 500,
        "session_timeout_ms": 20_000,
        "heartbeat_interval_ms": 3_000,
        "max_poll_interval_ms": 300_000,
    }


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(**producer_options(bootstrap, client_id))


def make_consumer(bootstrap: str, client_id: str, group_id: str, *topics: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, **consumer_options(bootstrap, client_id, group_id))
