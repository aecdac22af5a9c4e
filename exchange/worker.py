"""The worker process: the outbox relay plus one consumer loop per destination format."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import structlog

from exchange.bootstrap import Hub
from exchange.delivery import DeliveryHandler
from exchange.messaging.consumer import ConsumerLoop
from exchange.messaging.kafka_config import make_consumer, make_producer
from exchange.messaging.relay import OutboxRelay
from exchange.messaging.topics import dead_letter_topic, ensure_topics, topic_for

log = structlog.get_logger(__name__)


class Worker:
    def __init__(self, hub: Hub, *, relay: bool = True, consumers: bool = True) -> None:
        self.hub = hub
        self.with_relay = relay
        self.with_consumers = consumers
        self.relay: OutboxRelay | None = None
        self.loops: list[ConsumerLoop] = []
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        s = self.hub.settings
        client_id = f"{s.kafka_client_id}-{os.getpid()}"
        await ensure_topics(
            s.kafka_bootstrap,
            partitions=s.topic_partitions,
            replication_factor=s.topic_replication_factor,
            prefix=s.topic_prefix,
        )
        producer = make_producer(s.kafka_bootstrap, client_id)
        await producer.start()
        kafka_consumers = []
        tasks: list[asyncio.Task[None]] = []
        try:
            if self.with_relay:
                self.relay = OutboxRelay(
                    self.hub.engine,
                    producer,
                    batch_size=s.relay_batch_size,
                    idle_seconds=s.relay_idle_seconds,
                )
                tasks.append(asyncio.create_task(self.relay.run(), name="relay"))
            if self.with_consumers:
                for outbound in self.hub.registry.all_outbound():
                    group = f"{s.consumer_group_prefix}.{outbound.consumer_name}"
                    topic = topic_for(outbound.message_type, prefix=s.topic_prefix)
                    consumer = make_consumer(s.kafka_bootstrap, client_id, group, topic)
                    await consumer.start()
                    kafka_consumers.append(consumer)
                    loop = ConsumerLoop(
                        self.hub.engine,
                        consumer,
                        DeliveryHandler(outbound),
                        dead_letter_topic=dead_letter_topic(s.topic_prefix),
                    )
                    self.loops.append(loop)
                    tasks.append(asyncio.create_task(loop.run(), name=outbound.consumer_name))
            log.info("worker.started", tasks=[t.get_name() for t in tasks])
            stopper = asyncio.create_task(self._stop.wait())
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            if self.relay:
                self.relay.stop()
            for loop in self.loops:
                loop.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for consumer in kafka_consumers:
                await consumer.stop()
            await producer.stop()
            log.info("worker.stopped")


async def run_until_signalled(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    await worker.run()
