"""Fault tests get their own Kafka and PostgreSQL, so breaking them breaks nobody else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange.db.migrate import upgrade_async
from exchange.devservices import KafkaCluster, PostgresServer
from exchange.settings import Settings
from tests.conftest import TEST_RUN_DIR


@pytest.fixture
def report(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Print a figures line to the terminal even though pytest captures output."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def emit(line: str) -> None:
        with capture.global_and_fixture_disabled():
            print("\n" + line, flush=True)

    return emit


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[PostgresServer]:
    with PostgresServer(tmp_path / "pg") as pg:
        yield pg


async def chaos_settings(pg: PostgresServer, kafka: KafkaCluster, replication: int = 1) -> Settings:
    await upgrade_async(pg.url)
    return Settings(
        environment="test",
        database_url=pg.url,
        kafka_bootstrap=kafka.bootstrap,
        topic_prefix=f"c{uuid.uuid4().hex[:8]}.",
        topic_partitions=6,
        topic_replication_factor=replication,
        run_dir=TEST_RUN_DIR / "hub",
    )
