"""Where the benchmark runs: real Kafka and PostgreSQL, started as ``make run`` starts them
(exchange.devservices, under ``<run_dir>/bench``) unless EXCHANGE_KAFKA_BOOTSTRAP /
EXCHANGE_DATABASE_URL name servers to use. Each workload gets a fresh migrated database
(cloned from a template made once per run) and its own topic namespace."""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from exchange.db.migrate import upgrade_async
from exchange.settings import Settings, get_settings


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_db(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


@dataclass
class Workspace:
    """One workload's database and topic namespace, and the environment of its processes."""

    database_url: str
    kafka_bootstrap: str
    topic_prefix: str
    run_dir: Path
    partitions: int

    @property
    def dsn(self) -> str:
        return _plain(self.database_url)

    def settings(self) -> Settings:
        return Settings(
            database_url=self.database_url,
            kafka_bootstrap=self.kafka_bootstrap,
            topic_prefix=self.topic_prefix,
            topic_partitions=self.partitions,
            run_dir=self.run_dir,
        )

    def process_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "EXCHANGE_ENVIRONMENT": "development",
            "EXCHANGE_DATABASE_URL": self.database_url,
            "EXCHANGE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "EXCHANGE_TOPIC_PREFIX": self.topic_prefix,
            "EXCHANGE_TOPIC_PARTITIONS": str(self.partitions),
            "EXCHANGE_RUN_DIR": str(self.run_dir),
            # the bench measures capacity, not the per-client limiter (one client id here)
            "EXCHANGE_RATE_LIMIT_PER_SECOND": "0",
        }


@dataclass
class BenchEnv:
    database_url: str  # any database on the server; workload databases are created beside it
    kafka_bootstrap: str
    run_dir: Path
    partitions: int = 6
    #: pids of the services when this process started them (for CPU accounting), else empty
    service_pids: dict[str, list[int]] = field(default_factory=dict)
    _template: str | None = None
    _created: list[str] = field(default_factory=list)
    _can_create: bool = True

    async def workspace(self, name: str) -> Workspace:
        """A fresh migrated database and topic prefix for workload ``name``."""
        tag = uuid.uuid4().hex[:8]
        prefix = f"bench{tag}.{name}."
        url = self.database_url
        if self._can_create:
            try:
                template = await self._ensure_template()
                db = f"bench_{name}_{tag}"
                await self._admin(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
                self._created.append(db)
                url = _with_db(self.database_url, db)
            except asyncpg.InsufficientPrivilegeError:
                self._can_create = False
        if not self._can_create:
            await upgrade_async(url)  # the given database, shared: topics still separate
        return Workspace(url, self.kafka_bootstrap, prefix, self.run_dir, self.partitions)

    async def _ensure_template(self) -> str:
        if self._template is None:
            name = f"bench_template_{uuid.uuid4().hex[:8]}"
            await self._admin(f'CREATE DATABASE "{name}"')
            self._created.append(name)
            await upgrade_async(_with_db(self.database_url, name))
            self._template = name
        return self._template

    async def _admin(self, sql: str) -> Any:
        conn = await asyncpg.connect(_plain(_with_db(self.database_url, "postgres")))
        try:
            return await conn.execute(sql)
        finally:
            await conn.close()

    async def drop(self, workspace: Workspace) -> None:
        """Drop a workload's database (its data can be gigabytes)."""
        db = workspace.database_url.rsplit("/", 1)[1]
        if db in self._created:
            with contextlib.suppress(Exception):
                await self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            self._created.remove(db)

    async def cleanup(self) -> None:
        for db in list(reversed(self._created)):
            with contextlib.suppress(Exception):
                await self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self._created.clear()


@contextlib.contextmanager
def local_services(run_dir: Path | None = None) -> Any:
    """Yield a :class:`BenchEnv`: the servers named by EXCHANGE_DATABASE_URL /
    EXCHANGE_KAFKA_BOOTSTRAP if set, otherwise ones started here like ``make run`` does."""
    from concurrent.futures import ThreadPoolExecutor

    from exchange.devservices import KafkaCluster, PostgresServer

    settings = get_settings()
    run_dir = run_dir or settings.run_dir / "bench"
    run_dir.mkdir(parents=True, exist_ok=True)
    db_url = os.environ.get("EXCHANGE_DATABASE_URL")
    bootstrap = os.environ.get("EXCHANGE_KAFKA_BOOTSTRAP")
    pg = None if db_url else PostgresServer(run_dir / "postgres")
    kafka = None if bootstrap else KafkaCluster(run_dir / "kafka")
    started = [s for s in (pg, kafka) if s is not None]
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(s.start) for s in started]:
            future.result()
    try:
        pids: dict[str, list[int]] = {}
        if pg is not None:
            db_url = pg.url
            pids["postgres"] = [pg.pid] if pg.pid else []
        if kafka is not None:
            bootstrap = kafka.bootstrap
            pids["kafka"] = [p for p in kafka.pids() if p]
        assert db_url
        assert bootstrap
        yield BenchEnv(db_url, bootstrap, run_dir / "hub", service_pids=pids)
    finally:
        for s in reversed(started):
            s.stop()
