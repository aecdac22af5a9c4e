"""Shared fixtures. Integration tests run against a real PostgreSQL and a real Apache Kafka
broker (KRaft) that these fixtures start with the project's own scripts once per session,
unless EXCHANGE_TEST_DATABASE_URL / EXCHANGE_TEST_KAFKA_BOOTSTRAP name servers to use."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from exchange.api.app import create_app
from exchange.auth import LocalIssuer
from exchange.bootstrap import Hub, bootstrap, dev_issuer
from exchange.db.migrate import upgrade
from exchange.settings import REPO_ROOT, Settings
from exchange.worker import Worker

# One set of test services per run directory; set EXCHANGE_TEST_RUN_DIR to run two test
# sessions side by side (each stops the other's leftovers in a shared directory).
TEST_RUN_DIR = Path(os.environ.get("EXCHANGE_TEST_RUN_DIR", REPO_ROOT / ".run" / "test"))
SHARED = Path(os.environ.get("EXCHANGE_SHARED_DIR", REPO_ROOT.parent / "shared"))


@dataclass(frozen=True)
class Services:
    database_url: str  # the migrated template database
    kafka_bootstrap: str


def _admin_dsn(database_url: str, database: str = "postgres") -> str:
    base = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    return base.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    from exchange.devservices import KafkaCluster, PostgresServer

    db_url = os.environ.get("EXCHANGE_TEST_DATABASE_URL")
    bootstrap_servers = os.environ.get("EXCHANGE_TEST_KAFKA_BOOTSTRAP")
    started: list[KafkaCluster | PostgresServer] = []
    pg = None if db_url else PostgresServer(TEST_RUN_DIR / "postgres")
    kafka = None
    if not bootstrap_servers:
        # Every test makes its own topics; a broker kept between sessions would load them all
        # again at each start (minutes, after a few hundred runs). Test data is throwaway.
        KafkaCluster.stop_stale(TEST_RUN_DIR / "kafka")
        shutil.rmtree(TEST_RUN_DIR / "kafka", ignore_errors=True)
        kafka = KafkaCluster(TEST_RUN_DIR / "kafka")
    with ThreadPoolExecutor(2) as pool:  # start both at once: Kafka is the slow one
        futures = [pool.submit(s.start) for s in (pg, kafka) if s is not None]
        for f in futures:
            f.result()
    started += [s for s in (pg, kafka) if s is not None]
    try:
        if pg is not None:
            db_url = pg.url
        if kafka is not None:
            bootstrap_servers = kafka.bootstrap
        assert db_url
        assert bootstrap_servers
        template = "exchange_template"
        asyncio.run(_recreate(db_url, template))
        template_url = db_url.rsplit("/", 1)[0] + "/" + template
        upgrade(template_url)
        yield Services(template_url, bootstrap_servers)
    finally:
        for s in started:
            s.stop()


async def _recreate(database_url: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(_admin_dsn(database_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()


@pytest.fixture
async def database_url(services: Services) -> AsyncIterator[str]:
    """A fresh, migrated database for one test, cloned from the session's template."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    template = services.database_url.rsplit("/", 1)[1]
    await _recreate(services.database_url, name, template)
    yield services.database_url.rsplit("/", 1)[0] + "/" + name
    conn = await asyncpg.connect(_admin_dsn(services.database_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def settings(services: Services, database_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database, its own topic namespace."""
    return Settings(
        environment="test",
        database_url=database_url,
        kafka_bootstrap=services.kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        topic_partitions=3,
        run_dir=TEST_RUN_DIR / "hub",
        relay_idle_seconds=0.02,
        retry_delays_seconds=[0.2, 0.4],  # the same policy, shorter: tests stay quick
        webhook_backoff_seconds=0.05,
    )


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    hub = bootstrap(settings)
    yield hub
    await hub.close()


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub=hub)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


@pytest.fixture
def issuer(settings: Settings) -> LocalIssuer:
    return dev_issuer(settings)


@pytest.fixture
def auth(issuer: LocalIssuer):  # type: ignore[no-untyped-def]
    """``auth("police", org="01")`` → headers with a bearer token for that role."""

    def make(*roles: str, org: str | None = None, client: str | None = None) -> dict[str, str]:
        cid = client or f"{roles[0]}-{org or 'national'}"
        return {"Authorization": f"Bearer {issuer.token(cid, list(roles), org)}"}

    return make


@pytest.fixture
async def worker(hub: Hub) -> AsyncIterator[Worker]:
    """The relay and every destination consumer, running in this event loop."""
    w = Worker(hub)
    task = asyncio.create_task(w.run())
    yield w
    w.stop()
    await asyncio.wait_for(task, timeout=30)
