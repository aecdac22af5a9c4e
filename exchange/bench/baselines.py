"""The ceilings measured in the same run: raw aiokafka produce / consume / passthrough of the
hub's own bytes (acks=all, idempotent, as the hub), lxml parse + XSD validation alone, and
the ingest's CPU work alone (parse, validate, map, quality, encode; no HTTP, no database)."""

from __future__ import annotations

import asyncio
import time

from aiokafka.structs import OffsetAndMetadata

from exchange.bench.common import BenchConfig, Clock, factory_for, produce, sampler_for
from exchange.bench.env import BenchEnv
from exchange.bench.messages import new_case
from exchange.bench.report import Report, Result, percentiles
from exchange.messaging.kafka_config import make_consumer, make_producer
from exchange.messaging.topics import ensure_topics


async def run(env: BenchEnv, cfg: BenchConfig, report: Report) -> None:
    await kafka(env, cfg, report)
    await asyncio.to_thread(cpu_baselines, env, cfg, report)


async def kafka(env: BenchEnv, cfg: BenchConfig, report: Report) -> None:
    ws = await env.workspace("raw")
    factory = factory_for(ws)
    n = cfg.baseline_messages
    records = [factory.record(i) for i in range(n)]
    size = sum(len(r.value) for r in records) // max(1, n)
    topic_in, topic_out = ws.topic_prefix + "raw.in", ws.topic_prefix + "raw.out"
    await ensure_topics(
        ws.kafka_bootstrap,
        partitions=cfg.partitions,
        replication_factor=1,
        names=[topic_in, topic_out],
    )
    # warm-up (not timed): leaders elected and metadata known for every partition
    await produce(ws.kafka_bootstrap, topic_out, [factory.record(n + i) for i in range(100)])
    with sampler_for(env, {}) as s:
        count, seconds, lat = await produce(ws.kafka_bootstrap, topic_in, records)
    report.add(
        Result(
            "baseline.kafka_produce",
            "baseline",
            "baseline",
            f"aiokafka producer, acks=all + idempotence (the hub's settings), {count} canonical "
            f"records (avg {size} B) sent as fast as possible until all acked; latency = send "
            "to ack under that load",
            messages=count,
            seconds=seconds,
            latency_ms=percentiles(lat),
            cpu_s=s.cpu_seconds(),
            peak_rss_mb=s.rss_mb(),
            extra={"avg_record_bytes": size, "MB_per_s": round(count * size / seconds / 1e6, 1)},
        )
    )

    # passthrough: consume raw.in, produce each record to raw.out, commit after each batch
    consumer = make_consumer(ws.kafka_bootstrap, "bench-raw", ws.topic_prefix + "raw", topic_in)
    producer = make_producer(ws.kafka_bootstrap, "bench-raw-out")
    await consumer.start()
    await producer.start()
    batch_ms: list[float] = []
    done = 0
    try:
        with sampler_for(env, {}) as s:
            clock: Clock | None = None
            deadline = time.monotonic() + 120 + n / 200
            while done < n and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                for tp, recs in batches.items():
                    clock = clock or Clock()
                    start = time.perf_counter()
                    futures = [
                        await producer.send(
                            topic_out, value=r.value, key=r.key, headers=list(r.headers)
                        )
                        for r in recs
                    ]
                    await asyncio.gather(*futures)
                    await consumer.commit({tp: OffsetAndMetadata(recs[-1].offset + 1, "")})
                    took = (time.perf_counter() - start) * 1000
                    batch_ms += [took] * len(recs)
                    done += len(recs)
            seconds = clock.elapsed() if clock else 0.0
    finally:
        await consumer.stop()
        await producer.stop()
    report.add(
        Result(
            "baseline.kafka_passthrough",
            "baseline",
            "baseline",
            "raw consume -> produce (acks=all, idempotent) -> commit offsets per batch of up to "
            "500, one process, the same bytes; clock from the first fetched batch (group join "
            "excluded); latency = a record's batch from fetch to commit",
            messages=done,
            seconds=seconds,
            latency_ms=percentiles(batch_ms),
            cpu_s=s.cpu_seconds(),
            peak_rss_mb=s.rss_mb(),
        )
    )

    # consume only, read_committed, no processing
    consumer = make_consumer(ws.kafka_bootstrap, "bench-raw", ws.topic_prefix + "raw2", topic_out)
    await consumer.start()
    got = 0
    try:
        deadline = time.monotonic() + 60
        while not consumer.assignment() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # group joined: the clock covers fetching only
        with sampler_for(env, {}) as s:
            clock = Clock()
            deadline = time.monotonic() + 120
            while got < n + 100 and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                for _tp, recs in batches.items():
                    got += len(recs)
            seconds = clock.elapsed()
    finally:
        await consumer.stop()
    report.add(
        Result(
            "baseline.kafka_consume",
            "baseline",
            "baseline",
            "raw aiokafka consume (read_committed, batches of 500) of the same records, no "
            "processing, no commit; clock from the group's assignment (join excluded)",
            messages=got,  # n passed through + 100 warm-up records
            seconds=seconds,
            cpu_s=s.cpu_seconds(),
            peak_rss_mb=s.rss_mb(),
        )
    )
    await env.drop(ws)


def cpu_baselines(env: BenchEnv, cfg: BenchConfig, report: Report) -> None:
    from lxml import etree

    from adapters.police.spi import schema
    from exchange.domain.envelope import Agency, Party
    from exchange.formats import detect
    from exchange.ingest import new_envelope
    from exchange.messaging.codec import CanonicalMessage
    from exchange.messaging.headers import headers_for
    from exchange.registry import Registry
    from exchange.settings import get_settings
    from exchange.standingdata import StandingData

    docs = [new_case(20_000_000 + i) for i in range(cfg.xsd_messages)]
    xsd = schema()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    lat: list[float] = []
    with sampler_for(env, {}) as s:
        clock = Clock()
        for raw in docs:
            start = time.perf_counter()
            valid = xsd.validate(etree.fromstring(raw, parser))
            lat.append((time.perf_counter() - start) * 1000)
            assert valid, "generated case failed XSD validation"
        seconds = clock.elapsed()
    avg = sum(map(len, docs)) // max(1, len(docs))
    report.add(
        Result(
            "baseline.xsd",
            "baseline",
            "baseline",
            f"lxml parse + XSD validation (adapters/police/spi.py schema()) of {len(docs)} "
            f"generated cases (avg {avg} B), one thread",
            messages=len(docs),
            seconds=seconds,
            latency_ms=percentiles(lat),
            cpu_s={"client": s.cpu_seconds().get("client", 0.0)},
            extra={"avg_document_bytes": avg},
        )
    )

    registry = Registry.discover()
    standing = StandingData.load(get_settings().standing_data_dir).preload()
    lat = []
    with sampler_for(env, {}) as s:
        clock = Clock()
        for raw in docs:
            start = time.perf_counter()
            detected = detect(raw)
            inbound = registry.inbound(Agency.POLICE, detected.format)
            payload = inbound.parse(detected).payload
            inbound.quality(payload, standing)
            envelope = new_envelope(
                registry, inbound, payload, Party(agency=Agency.POLICE, system="NSPIS")
            )
            CanonicalMessage(envelope, payload).encode()
            headers_for(envelope)
            lat.append((time.perf_counter() - start) * 1000)
        seconds = clock.elapsed()
    report.add(
        Result(
            "baseline.ingest_cpu",
            "baseline",
            "baseline",
            "the ingest's CPU work alone, in-process: detect + parse + XSD + map to canonical "
            "(pydantic) + data quality + envelope + JSON encode; no HTTP, no database",
            messages=len(docs),
            seconds=seconds,
            latency_ms=percentiles(lat),
            cpu_s={"client": s.cpu_seconds().get("client", 0.0)},
        )
    )
