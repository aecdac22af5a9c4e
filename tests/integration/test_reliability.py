"""Failures: retriable errors go round the retry topics, poison messages are parked and never
block their partition, and court webhooks are signed, retried and parked when undeliverable."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from exchange.bootstrap import Hub, bootstrap
from exchange.db.engine import make_engine, transaction
from exchange.db.tables import deliveries, failures
from exchange.domain.envelope import Agency, Envelope, MessageType
from exchange.domain.errors import ExchangeError, ServiceUnavailable
from exchange.messaging.topics import topic_for
from exchange.registry import Adapter, Outbound, Registry
from exchange.settings import Settings
from exchange.webhook import SIGNATURE_HEADER, WebhookPusher, add_webhook, verify
from exchange.worker import Worker
from tests.support.receiver import Receiver
from tests.support.samples import new_case, ptiurn
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

XML = {"Content-Type": "application/xml"}
SECRET = "a-webhook-secret-for-tests"


class FlakyDestination(ExchangeError):
    code = "DESTINATION_BUSY"
    retriable = True


async def _delivery_rows(hub: Hub) -> list[Any]:
    async with hub.engine.connect() as conn:
        return list((await conn.execute(select(deliveries).order_by(deliveries.c.seq))).all())


async def _failure_rows(hub: Hub) -> list[Any]:
    async with hub.engine.connect() as conn:
        return list((await conn.execute(select(failures).order_by(failures.c.id))).all())


def _registry_with(render: Any) -> Registry:
    police = Registry.discover().adapter(Agency.POLICE)
    flaky = Adapter(
        agency=Agency.CPS,
        system="CMS",
        outbound=(Outbound(Agency.CPS, MessageType.CASE_FILE, "cms-case-json", render=render),),
    )
    return Registry([police, flaky])


@pytest.fixture
async def custom_worker(settings: Settings):  # type: ignore[no-untyped-def]
    """Start a hub and worker over a registry the test supplies."""
    started: list[tuple[Hub, Worker, asyncio.Task[None]]] = []

    async def start(registry: Registry) -> Hub:
        hub = bootstrap(settings, registry=registry)
        worker = Worker(hub)
        started.append((hub, worker, asyncio.create_task(worker.run())))
        return hub

    yield start
    for hub, worker, task in started:
        worker.stop()
        await asyncio.wait_for(task, 30)
        await hub.close()


async def test_retriable_failure_goes_round_retry_topics_then_succeeds(
    client, auth, custom_worker
) -> None:
    calls: list[str] = []

    def render(payload: Any, envelope: Envelope) -> dict[str, Any]:
        calls.append(str(envelope.message_id))
        if len(calls) <= 2:
            raise FlakyDestination("CMS gateway busy")
        return {"messageId": str(envelope.message_id)}

    hub = await custom_worker(_registry_with(render))
    answer = await client.post(
        "/police/messages", content=new_case(ptiurn(41001)), headers={**XML, **auth("police")}
    )
    message_id = answer.json()["message_id"]
    rows = await eventually(lambda: _delivery_rows(hub), what="delivery after retries")
    assert [str(r.message_id) for r in rows] == [message_id]
    assert calls == [message_id] * 3
    assert await _failure_rows(hub) == []


async def test_retries_are_bounded_then_parked(client, auth, custom_worker) -> None:
    def render(payload: Any, envelope: Envelope) -> dict[str, Any]:
        raise FlakyDestination("CMS gateway busy")

    hub = await custom_worker(_registry_with(render))
    answer = await client.post(
        "/police/messages", content=new_case(ptiurn(41002)), headers={**XML, **auth("police")}
    )
    (failure,) = await eventually(lambda: _failure_rows(hub), what="parked failure")
    assert str(failure.message_id) == answer.json()["message_id"]
    assert failure.error_code == "DESTINATION_BUSY"
    assert failure.attempts == 3  # first try + two retry levels
    assert failure.status == "parked"
    assert await _delivery_rows(hub) == []


async def test_poison_messages_are_parked_and_good_ones_flow(
    client, auth, worker, hub: Hub
) -> None:
    topic = topic_for(MessageType.CASE_FILE, prefix=hub.settings.topic_prefix)
    good = []
    producer = AIOKafkaProducer(bootstrap_servers=hub.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(6):
            urn = ptiurn(42000 + n)
            await producer.send_and_wait(
                topic,
                b"{not json",
                key=urn.encode(),
                headers=[("message-id", str(uuid.uuid4()).encode())],
            )
            await producer.send_and_wait(
                topic,
                orjson.dumps({"envelope": {"message_id": "x"}, "payload": {}}),
                key=urn.encode(),
            )
            answer = await client.post(
                "/police/messages", content=new_case(urn), headers={**XML, **auth("police")}
            )
            good.append(answer.json()["message_id"])
    finally:
        await producer.stop()

    async def delivered() -> set[str]:
        return {str(r.message_id) for r in await _delivery_rows(hub) if r.destination == "cps"}

    assert await eventually(delivered, lambda ids: ids >= set(good)) >= set(good)
    parked = await eventually(
        lambda: _failure_rows(hub), lambda rows: len(rows) >= 24, what="24 parked"
    )
    assert {r.consumer for r in parked} == {"cps.cms-case-json", "court.dcs-case-json"}
    assert {r.error_class for r in parked} >= {"JSONDecodeError", "ValidationError"}
    assert all(r.topic == topic and r.offset >= 0 and r.error_message for r in parked)


async def test_webhook_push_is_signed_retried_and_idempotent(client, auth, worker, hub) -> None:
    async with Receiver(answer=lambda n: 503 if n <= 2 else 200) as court:
        async with transaction(hub.engine) as conn:
            await add_webhook(
                conn, destination="court", organisation="B01EF01", url=court.url, secret=SECRET
            )
        answer = await client.post(
            "/police/messages", content=new_case(ptiurn(43001)), headers={**XML, **auth("police")}
        )
        message_id = answer.json()["message_id"]

        async def pushed() -> list[Any]:
            rows = await _delivery_rows(hub)
            return [r for r in rows if r.destination == "court" and r.status == "acknowledged"]

        (row,) = await eventually(pushed, what="court webhook acknowledged")
        assert row.attempts == 3
        assert len(court.received) == 3
        for request in court.received:
            assert request.headers["x-cjs-message-id"] == message_id
            assert verify(SECRET, request.headers[SIGNATURE_HEADER.lower()], request.body)
            assert orjson.loads(request.body)["message_id"] == message_id
        assert not verify(
            "another-secret-entirely", request.headers["x-cjs-signature"], request.body
        )


async def test_undeliverable_webhook_is_parked_not_dropped(client, auth, hub, settings) -> None:
    async with Receiver(answer=lambda _n: 500) as court:
        async with transaction(hub.engine) as conn:
            await add_webhook(
                conn, destination="court", organisation=None, url=court.url, secret=SECRET
            )
        worker = Worker(hub, webhooks=False)
        task = asyncio.create_task(worker.run())
        pusher = WebhookPusher(hub.engine, max_attempts=3, backoff=0.05, timeout=2)
        push_task = asyncio.create_task(pusher.run())
        try:
            await client.post(
                "/police/messages",
                content=new_case(ptiurn(43002)),
                headers={**XML, **auth("police")},
            )

            async def parked() -> list[Any]:
                return [r for r in await _delivery_rows(hub) if r.status == "parked"]

            (row,) = await eventually(parked, what="parked court delivery")
            assert row.attempts == 3
            assert "HTTP 500" in row.last_error
            (failure,) = await _failure_rows(hub)
            assert failure.error_code == "WEBHOOK_UNDELIVERABLE"
            assert len(court.received) == 3
        finally:
            pusher.stop()
            worker.stop()
            await asyncio.wait_for(asyncio.gather(task, push_task), 30)


async def _terminate(database_url: str, pid: int) -> None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def _backend_pid(engine: AsyncEngine) -> int:
    async with transaction(engine) as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def test_a_pooled_connection_that_died_while_idle_is_replaced(settings: Settings) -> None:
    engine = make_engine(settings.database_url, pool_size=1, ping_after_idle=0.0)
    try:
        first = await _backend_pid(engine)
        await _terminate(settings.database_url, first)
        await asyncio.sleep(0.1)
        assert await _backend_pid(engine) != first  # pinged on checkout, replaced unseen
    finally:
        await engine.dispose()


async def test_a_connection_that_died_just_after_use_answers_503_once(settings: Settings) -> None:
    engine = make_engine(settings.database_url, pool_size=1, ping_after_idle=60.0)
    try:
        first = await _backend_pid(engine)
        await _terminate(settings.database_url, first)
        await asyncio.sleep(0.1)
        with pytest.raises(ServiceUnavailable):  # an outage (503, Retry-After), not a 500
            await _backend_pid(engine)
        assert await _backend_pid(engine) != first  # the pool renewed the connection
    finally:
        await engine.dispose()


async def test_the_hubs_pool_keeps_every_connection_it_opens(settings: Settings) -> None:
    """Connections opened under load are kept for the next requests: one opened and closed
    per request costs a connect, type introspection and statement preparation each time."""
    hub = bootstrap(settings)
    try:
        gate = asyncio.Event()

        async def hold() -> int:
            async with transaction(hub.engine) as conn:
                pid = int(await conn.scalar(text("SELECT pg_backend_pid()")))
                await gate.wait()
                return pid

        async def burst() -> set[int]:
            gate.clear()
            tasks = [asyncio.create_task(hold()) for _ in range(15)]
            await asyncio.sleep(0.5)
            gate.set()
            return set(await asyncio.gather(*tasks))

        first = await burst()
        assert len(first) == 15
        assert await burst() == first
    finally:
        await hub.close()
