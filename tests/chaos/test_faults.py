"""Fault tests: whatever fails, every message the hub accepted (202) reaches CMS exactly once
in effect, and bad messages never stop good ones. Each prints its figures."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from exchange.bootstrap import dev_issuer
from exchange.db.engine import make_engine
from exchange.db.tables import deliveries, failures
from exchange.devservices import KafkaCluster, PostgresServer
from exchange.domain.envelope import MessageType
from exchange.messaging.topics import topic_for
from exchange.settings import Settings
from tests.chaos.conftest import chaos_settings
from tests.chaos.harness import Tally, collect_as_cms, send_cases
from tests.support.processes import HubProcesses

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]


async def _run_stream(
    settings: Settings,
    log_dir: Path,
    count: int,
    fault: Callable[[HubProcesses], Awaitable[None]],
    *,
    fault_after: int,
    workers: int = 1,
) -> tuple[Tally, HubProcesses]:
    """Stream ``count`` cases; once ``fault_after`` have reached CMS, inject the fault."""
    hub = HubProcesses(settings, log_dir, workers=workers)
    await asyncio.to_thread(hub.start)
    issuer = dev_issuer(settings)
    police = issuer.token("force-chaos", ["police"])
    cms = issuer.token("cms-chaos", ["cps"])
    tally = Tally()
    done = asyncio.Event()

    async def send() -> None:
        await send_cases(hub.base, police, count, tally)
        done.set()

    async def inject() -> None:
        while len(tally.delivered) < fault_after and not done.is_set():
            await asyncio.sleep(0.05)
        await fault(hub)

    try:
        await asyncio.gather(
            send(), inject(), collect_as_cms(hub.base, cms, tally, sending_done=done)
        )
    finally:
        await asyncio.to_thread(hub.stop)
    return tally, hub


async def _deliveries_twice(database_url: str) -> int:
    """A second effect at a destination would be a second delivery row for one message."""
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            per_message = (
                select(func.count().label("n"))
                .select_from(deliveries)
                .group_by(deliveries.c.message_id, deliveries.c.destination)
                .subquery()
            )
            return int(
                (
                    await conn.execute(
                        select(func.count()).select_from(per_message).where(per_message.c.n > 1)
                    )
                ).scalar_one()
            )
    finally:
        await engine.dispose()


def _assert_no_loss(tally: Tally, settings: Settings, twice: int) -> None:
    assert tally.accepted, "nothing was accepted"
    assert tally.lost == 0, f"lost {tally.lost}"
    assert tally.duplicates == 0
    assert twice == 0


async def test_worker_killed_mid_stream(
    tmp_path: Path, own_postgres: PostgresServer, report
) -> None:
    async def kill_and_restart(hub: HubProcesses) -> None:
        hub.kill_worker(0)
        await asyncio.sleep(1.0)
        hub.start_worker(0)

    with KafkaCluster(tmp_path / "kafka") as kafka:
        settings = await chaos_settings(own_postgres, kafka)
        # Two workers in one consumer group: the kill and the restart each rebalance the
        # partitions between them while messages flow.
        tally, _ = await _run_stream(
            settings, tmp_path, 10_000, kill_and_restart, fault_after=3000, workers=2
        )
    twice = await _deliveries_twice(settings.database_url)
    report(tally.line("worker-kill-9"))
    _assert_no_loss(tally, settings, twice)
    assert len(tally.accepted) == tally.sent


async def test_kafka_broker_restarted_mid_stream(
    tmp_path: Path, own_postgres: PostgresServer, report
) -> None:
    with KafkaCluster(tmp_path / "kafka") as kafka:

        async def restart_broker(_: HubProcesses) -> None:
            await asyncio.to_thread(kafka.stop_node, 0)
            await asyncio.sleep(3.0)  # ingest keeps answering 202: it needs only PostgreSQL
            await asyncio.to_thread(kafka.start_node, 0)

        settings = await chaos_settings(own_postgres, kafka)
        tally, _ = await _run_stream(settings, tmp_path, 2000, restart_broker, fault_after=500)
    twice = await _deliveries_twice(settings.database_url)
    report(tally.line("broker-restart"))
    _assert_no_loss(tally, settings, twice)
    assert len(tally.accepted) == tally.sent


async def test_one_of_three_brokers_killed(
    tmp_path: Path, own_postgres: PostgresServer, report
) -> None:
    with KafkaCluster(tmp_path / "kafka", brokers=3) as kafka:

        async def kill_broker(_: HubProcesses) -> None:
            await asyncio.to_thread(kafka.kill, 2)

        settings = await chaos_settings(own_postgres, kafka, replication=3)
        tally, _ = await _run_stream(settings, tmp_path, 2000, kill_broker, fault_after=500)
    twice = await _deliveries_twice(settings.database_url)
    report(tally.line("three-brokers-kill-one"))
    _assert_no_loss(tally, settings, twice)


async def test_postgres_restarted_mid_stream(
    tmp_path: Path, own_postgres: PostgresServer, report
) -> None:
    async def restart_postgres(_: HubProcesses) -> None:
        await asyncio.to_thread(own_postgres.stop)
        await asyncio.sleep(3.0)  # the API answers 503 meanwhile; senders retry
        await asyncio.to_thread(own_postgres.start)

    with KafkaCluster(tmp_path / "kafka") as kafka:
        settings = await chaos_settings(own_postgres, kafka)
        tally, hub = await _run_stream(settings, tmp_path, 2000, restart_postgres, fault_after=500)
    twice = await _deliveries_twice(settings.database_url)
    report(tally.line("postgres-restart") + f" statuses={dict(sorted(tally.statuses.items()))}")
    _assert_no_loss(tally, settings, twice)
    assert len(tally.accepted) == tally.sent
    assert 500 not in tally.statuses, hub.tails()


async def test_poison_messages_mixed_with_good_ones(
    tmp_path: Path, own_postgres: PostgresServer, report
) -> None:
    poison = 50

    with KafkaCluster(tmp_path / "kafka") as kafka:
        settings = await chaos_settings(own_postgres, kafka)

        async def inject_poison(_: HubProcesses) -> None:
            producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
            await producer.start()
            try:
                topic = topic_for(MessageType.CASE_FILE, prefix=settings.topic_prefix)
                for n in range(poison):
                    await producer.send_and_wait(
                        topic,
                        b'{"envelope": "not an envelope"}' if n % 2 else b"\x00\xff",
                        key=f"01ZD{n:05d}26".encode(),
                        headers=[("message-id", str(uuid.uuid4()).encode())],
                    )
            finally:
                await producer.stop()

        tally, _ = await _run_stream(settings, tmp_path, 1000, inject_poison, fault_after=100)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            parked = (
                await conn.execute(select(failures.c.consumer, failures.c.error_message))
            ).all()
    finally:
        await engine.dispose()
    twice = await _deliveries_twice(settings.database_url)
    tally.sent += poison
    report(tally.line("poison-mixed") + f" parked={len(parked)}")
    _assert_no_loss(tally, settings, twice)
    assert len(parked) == poison * 2  # each poison record, once per destination agency
    assert all(message for _, message in parked)
