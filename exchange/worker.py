"""The worker process: the outbox relay, one consumer per destination agency (plus one for its
retry topics), and the webhook pusher. Several workers share the work: one relay leads (an
advisory lock), and the consumers of each agency form one Kafka consumer group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from exchange import audit
from exchange.bootstrap import Hub
from exchange.db import partitions
from exchange.db.engine import transaction
from exchange.delivery import DeliveryHandler
from exchange.domain.envelope import Agency
from exchange.domain.errors import ServiceUnavailable
from exchange.messaging.consumer import ConsumerLoop, Handler
from exchange.messaging.failure import RetryPolicy
from exchange.messaging.kafka_config import make_consumer, make_producer
from exchange.messaging.relay import OutboxRelay
from exchange.messaging.topics import dead_letter_topic, ensure_topics, topic_for
from exchange.webhook import WebhookPusher

PARTITION_CHECK_SECONDS = 3600.0

log = structlog.get_logger(__name__)


class Worker:
    def __init__(
        self,
        hub: Hub,
        *,
        relay: bool = True,
        consumers: bool = True,
        webhooks: bool = True,
    ) -> None:
        self.hub = hub
        self.with_relay = relay
        self.with_consumers = consumers
        self.with_webhooks = webhooks
        self.relay: OutboxRelay | None = None
        self.loops: list[ConsumerLoop] = []
        self.pusher: WebhookPusher | None = None
        self._stop = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._consumers: list[AIOKafkaConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []

    def stop(self) -> None:
        self._stop.set()

    def handlers_by_agency(self) -> dict[Agency, dict[str, Handler]]:
        """Each destination agency's handlers, keyed by the main topic they consume."""
        prefix = self.hub.settings.topic_prefix
        plan: dict[Agency, dict[str, Handler]] = defaultdict(dict)
        for outbound in self.hub.registry.all_outbound():
            topic = topic_for(outbound.message_type, prefix=prefix)
            if topic in plan[outbound.destination]:
                raise ValueError(f"two {outbound.destination.value} renderings of {topic}")
            plan[outbound.destination][topic] = DeliveryHandler(outbound)
        return dict(plan)

    async def run(self) -> None:
        s = self.hub.settings
        retry = RetryPolicy(tuple(s.retry_delays_seconds))
        plan = self.handlers_by_agency()
        main_topics = sorted({t for handlers in plan.values() for t in handlers})
        retry_topics = [
            retry.topic(t, n) for t in main_topics for n in range(1, len(retry.delays) + 1)
        ]
        await ensure_topics(
            s.kafka_bootstrap,
            partitions=s.topic_partitions,
            replication_factor=s.topic_replication_factor,
            prefix=s.topic_prefix,
            extra=retry_topics,
        )
        client_id = f"{s.kafka_client_id}-{os.getpid()}"
        try:
            if self.with_relay:
                self._producer = make_producer(s.kafka_bootstrap, client_id)
                await self._producer.start()
                self.relay = OutboxRelay(
                    self.hub.engine,
                    self._producer,
                    batch_size=s.relay_batch_size,
                    idle_seconds=s.relay_idle_seconds,
                )
                self._spawn("relay", self.relay.run)
            if self.with_consumers:
                for agency, handlers in plan.items():
                    group = f"{s.consumer_group_prefix}.{agency.value}"
                    await self._start_loop(group, list(handlers), handlers, retry, client_id)
                    retries = [t for t in retry_topics if any(t.startswith(m) for m in handlers)]
                    await self._start_loop(f"{group}.retry", retries, handlers, retry, client_id)
            if self.with_webhooks:
                self.pusher = WebhookPusher(
                    self.hub.engine,
                    timeout=s.webhook_timeout_seconds,
                    max_attempts=s.webhook_max_attempts,
                    backoff=s.webhook_backoff_seconds,
                )
                self._spawn("webhooks", self.pusher.run)
            self._spawn("audit-sealer", self._seal_audit)
            self._spawn("partition-keeper", self._keep_partitions)
            log.info("worker.started", tasks=[t.get_name() for t in self._tasks])
            await self._until_stopped_or_failed()
        finally:
            await self._shutdown()

    async def _seal_audit(self) -> None:
        """Chain newly written audit events every interval (a try-lock: one worker seals)."""

        async def seal() -> None:
            async with transaction(self.hub.engine) as conn:
                await audit.seal(conn)

        await self._every(
            lambda: self.hub.settings.audit_seal_interval_seconds, seal, "audit.seal_skipped"
        )

    async def _keep_partitions(self) -> None:
        """Keep this month's and the coming months' partitions in place, so new messages never
        land in a default partition (which would block creating their month later)."""

        async def keep() -> None:
            try:
                async with transaction(self.hub.engine) as conn:
                    made = await partitions.ensure(conn)
            except ServiceUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - never stop delivering over housekeeping
                # e.g. a month's rows already sit in a default partition: ops must move them
                # (docs/retention.md); meanwhile new rows still land in the default.
                log.error("partitions.create_failed", error=str(exc)[:500])
                return
            if made:
                log.info("partitions.created", partitions=made)

        await self._every(lambda: PARTITION_CHECK_SECONDS, keep, "partitions.check_skipped")

    async def _every(
        self,
        interval: Callable[[], float],
        step: Callable[[], Coroutine[Any, Any, None]],
        skipped: str,
    ) -> None:
        """Housekeeping: ``step`` now and then every ``interval()`` seconds until the worker
        stops; a database outage skips a turn (logged as ``skipped``) instead of failing."""
        while not self._stop.is_set():
            try:
                await step()
            except ServiceUnavailable:
                log.warning(skipped)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval())

    async def _start_loop(
        self,
        group: str,
        topics: list[str],
        handlers: dict[str, Handler],
        retry: RetryPolicy,
        client_id: str,
    ) -> None:
        s = self.hub.settings
        consumer = make_consumer(s.kafka_bootstrap, client_id, group, *topics)
        await consumer.start()
        self._consumers.append(consumer)
        loop = ConsumerLoop(
            self.hub.engine,
            consumer,
            handlers,
            dead_letter_topic=dead_letter_topic(s.topic_prefix),
            retry=retry,
        )
        self.loops.append(loop)
        self._spawn(group, loop.run)

    def _spawn(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._tasks.append(asyncio.create_task(run(), name=name))

    async def _until_stopped_or_failed(self) -> None:
        stopper = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait([*self._tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        for task in done:
            if task is not stopper and not task.cancelled() and task.exception() is not None:
                log.error("worker.task_failed", task=task.get_name(), error=repr(task.exception()))
                raise task.exception()  # type: ignore[misc]

    async def _shutdown(self) -> None:
        if self.relay:
            self.relay.stop()
        if self.pusher:
            self.pusher.stop()
        for loop in self.loops:
            loop.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for consumer in self._consumers:
            await consumer.stop()
        if self._producer is not None:
            await self._producer.stop()
        log.info("worker.stopped")


async def run_until_signalled(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    await worker.run()
