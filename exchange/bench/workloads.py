"""The hub's workloads on real Kafka and PostgreSQL, each in its own database and topic
namespace, with the hub's own processes (``exchange serve``, ``exchange worker``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx

from exchange.bench.common import (
    BenchConfig,
    Clock,
    Profiler,
    count_rows,
    factory_for,
    insert_message_rows,
    open_loop,
    produce,
    sampler_for,
)
from exchange.bench.env import BenchEnv, Workspace
from exchange.bench.lean import post_all, request_bytes
from exchange.bench.messages import new_case
from exchange.bench.procs import HubProcess, wait_api_ready
from exchange.bench.report import Report, Result, Target, percentiles
from exchange.bootstrap import dev_issuer
from exchange.devservices.ports import free_ports
from exchange.messaging.relay import RELAY_LOCK_ID
from exchange.messaging.topics import ensure_topics

_doc_counter = iter(range(1, 10**9))


def _docs(n: int) -> list[bytes]:
    """n distinct cases (unique bodies: never an idempotent replay)."""
    return [new_case(next(_doc_counter)) for _ in range(n)]


async def _start_api(ws: Workspace, *, worker: bool) -> tuple[str, list[HubProcess]]:
    dev_issuer(ws.settings())  # the key pair exists before the API loads its public key
    (port,) = free_ports(1)
    logs = ws.run_dir / "logs" / ws.topic_prefix.rstrip(".")
    procs = [HubProcess("api", ["serve", "--port", str(port)], ws.process_env(), logs)]
    if worker:
        procs.append(HubProcess("worker", ["worker"], ws.process_env(), logs))
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_api_ready, base, procs)
    except BaseException:
        for proc in procs:
            proc.stop()
        raise
    return base, procs


def _police_headers(ws: Workspace) -> dict[str, str]:
    token = dev_issuer(ws.settings()).token("bench-police", ["police"], "01", ttl=4 * 3600)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}


def _cms_headers(ws: Workspace) -> dict[str, str]:
    token = dev_issuer(ws.settings()).token("bench-cms", ["cps"], ttl=4 * 3600)
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------------- ingest


async def ingest(env: BenchEnv, cfg: BenchConfig, report: Report) -> None:
    ws = await env.workspace("ingest")
    base, procs = await _start_api(ws, worker=False)
    api = procs[0]
    headers = _police_headers(ws)
    statuses: dict[str, int] = {}
    in_flight = asyncio.Semaphore(256)
    try:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

            async def post(doc: bytes) -> None:
                try:
                    async with in_flight:  # waiters queue here, not in httpcore's O(n^2) pool
                        answer = await client.post("/police/messages", content=doc, headers=headers)
                    key = str(answer.status_code)
                except httpx.HTTPError as exc:  # counted, not fatal: the report shows them
                    key = f"error:{type(exc).__name__}"
                statuses[key] = statuses.get(key, 0) + 1

            for doc in _docs(min(50, cfg.ingest_messages)):  # warm-up: pool, caches
                await post(doc)
            statuses.clear()

            # 1. max throughput: closed loop, C concurrent clients
            docs = _docs(cfg.ingest_messages)
            queue = iter(docs)
            lat: list[float] = []

            async def client_loop() -> None:
                for doc in queue:
                    start = time.perf_counter()
                    await post(doc)
                    lat.append((time.perf_counter() - start) * 1000)

            with (
                sampler_for(env, {"api": [api.pid]}) as s,
                Profiler(cfg.profile_dir, "ingest-api", api.pid) as prof,
            ):
                clock = Clock()
                await asyncio.gather(*(client_loop() for _ in range(cfg.ingest_concurrency)))
                seconds = clock.elapsed()
            ok = statuses.get("202", 0)
            report.add(
                Result(
                    "ingest.max",
                    "ingest",
                    "workload",
                    f"HTTP POST of {len(docs)} SPI NewCaseMessages (5-20 KB) to one `exchange "
                    f"serve` process (uvicorn, 1 worker) by {cfg.ingest_concurrency} concurrent "
                    "httpx clients, each waiting for its 202 (closed loop); no worker running",
                    messages=ok,
                    seconds=seconds,
                    latency_ms=percentiles(lat),
                    cpu_s=s.cpu_seconds(),
                    peak_rss_mb=s.rss_mb(),
                    targets=[Target("throughput", 1500, _tput(ok, seconds), "msg/s")],
                    extra={"statuses": dict(statuses), "profile": prof.summary},
                )
            )

            # 1b. the same, from a client light enough that the API is the limit
            docs = _docs(cfg.ingest_messages)
            host, _, port = base.removeprefix("http://").partition(":")
            requests = [request_bytes("/police/messages", headers, doc) for doc in docs]
            with sampler_for(env, {"api": [api.pid]}) as s:
                lean = await post_all(host, int(port), requests, concurrency=cfg.ingest_concurrency)
            ok = lean.statuses.get("202", 0)
            report.add(
                Result(
                    "ingest.max_lean",
                    "ingest",
                    "workload",
                    f"the ingest.max POSTs ({len(docs)} new cases) from a raw HTTP/1.1 client "
                    f"(exchange/bench/lean.py, {cfg.ingest_concurrency} keep-alive connections, "
                    "closed loop) that costs well under 0.1 ms of CPU per request, so the API "
                    "process, not the client, is the limit",
                    messages=ok,
                    seconds=lean.seconds,
                    latency_ms=percentiles(lean.latency_ms),
                    cpu_s=s.cpu_seconds(),
                    peak_rss_mb=s.rss_mb(),
                    targets=[Target("throughput", 1500, _tput(ok, lean.seconds), "msg/s")],
                    extra={"statuses": dict(lean.statuses)},
                )
            )

            # 2. latency at a fixed offered rate (open loop)
            statuses.clear()
            n = max(1, int(cfg.ingest_rate * cfg.ingest_rate_seconds))
            docs = _docs(n)
            lat = []
            loop = asyncio.get_running_loop()

            async def scheduled_post(i: int, scheduled: float) -> None:
                await post(docs[i])
                lat.append((loop.time() - scheduled) * 1000)

            with sampler_for(env, {"api": [api.pid]}) as s:
                clock = Clock()
                lag = await open_loop(cfg.ingest_rate, n, scheduled_post)
                seconds = clock.elapsed()
            ok = statuses.get("202", 0)
            p = percentiles(lat)
            report.add(
                Result(
                    f"ingest.rate{cfg.ingest_rate:g}",
                    "ingest",
                    "workload",
                    f"the same POSTs offered at a fixed {cfg.ingest_rate:g}/s for "
                    f"{cfg.ingest_rate_seconds:g} s (open loop); latency from each request's "
                    "scheduled send time to its 202 (no coordinated omission)",
                    messages=ok,
                    seconds=seconds,
                    latency_ms=p,
                    cpu_s=s.cpu_seconds(),
                    peak_rss_mb=s.rss_mb(),
                    targets=[Target("p99 latency", 50, p["p99"], "ms", higher_is_better=False)],
                    extra={
                        "offered_per_s": cfg.ingest_rate,
                        "client_worst_lag_s": round(lag, 3),
                        "statuses": dict(statuses),
                    },
                )
            )
    finally:
        for proc in procs:
            proc.stop()
        await env.drop(ws)


def _tput(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


# ------------------------------------------------------------------------------ end to end


async def e2e(env: BenchEnv, cfg: BenchConfig, report: Report) -> None:
    ws = await env.workspace("e2e")
    base, procs = await _start_api(ws, worker=True)
    police, cms = _police_headers(ws), _cms_headers(ws)
    arrived: dict[str, float] = {}
    pull_errors: dict[int | str, int] = {}
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    try:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        async with (
            httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client,
            httpx.AsyncClient(base_url=base, timeout=60) as puller,
        ):

            async def pull() -> None:
                cursor = 0
                while not stop.is_set():
                    try:
                        answer = await puller.get(
                            "/cps/deliveries",
                            params={"cursor": cursor, "limit": 500},
                            headers=cms,
                        )
                    except httpx.HTTPError as exc:  # the server dropped us under overload
                        key = f"error:{type(exc).__name__}"
                        pull_errors[key] = pull_errors.get(key, 0) + 1
                        await asyncio.sleep(0.05)
                        continue
                    if answer.status_code != 200:  # overload or limiter: back off, go on
                        pull_errors[answer.status_code] = pull_errors.get(answer.status_code, 0) + 1
                        await asyncio.sleep(0.05)
                        continue
                    page = answer.json()
                    now = loop.time()
                    for item in page["items"]:
                        arrived.setdefault(item["message_id"], now)
                    cursor = page["next_cursor"]
                    if not page["items"]:
                        await asyncio.sleep(0.005)

            puller_task = asyncio.create_task(pull())
            # warm-up: until one case made it through (consumer groups joined)
            sent: dict[str, float] = {}
            deadline = time.monotonic() + 60
            warm = _docs(1)[0]
            answer = await client.post("/police/messages", content=warm, headers=police)
            warm_id = answer.json()["message_id"]
            while warm_id not in arrived and time.monotonic() < deadline:  # noqa: ASYNC110 - polling
                await asyncio.sleep(0.05)
            if warm_id not in arrived:
                raise RuntimeError("e2e warm-up case never reached CMS: " + procs[1].tail())

            n = max(1, int(cfg.e2e_rate * cfg.e2e_seconds))
            docs = _docs(n)
            failed: dict[str, int] = {}

            in_flight = asyncio.Semaphore(256)

            async def scheduled_post(i: int, scheduled: float) -> None:
                try:
                    async with in_flight:
                        answer = await client.post(
                            "/police/messages", content=docs[i], headers=police
                        )
                except httpx.HTTPError as exc:
                    key = f"error:{type(exc).__name__}"
                    failed[key] = failed.get(key, 0) + 1
                    return
                if answer.status_code == 202:
                    sent[answer.json()["message_id"]] = scheduled
                else:
                    failed[str(answer.status_code)] = failed.get(str(answer.status_code), 0) + 1

            with sampler_for(env, {"api": [procs[0].pid], "worker": [procs[1].pid]}) as s:
                clock = Clock()
                lag = await open_loop(cfg.e2e_rate, n, scheduled_post)
                deadline = time.monotonic() + 60 + n / 50
                while time.monotonic() < deadline and any(m not in arrived for m in sent):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
                seconds = clock.elapsed()
            stop.set()
            await puller_task
    finally:
        for proc in procs:
            proc.stop()
        await env.drop(ws)
    lat = [(arrived[m] - t) * 1000 for m, t in sent.items() if m in arrived]
    p = percentiles(lat)
    report.add(
        Result(
            f"e2e.rate{cfg.e2e_rate:g}",
            "e2e",
            "workload",
            f"police POST offered at a fixed {cfg.e2e_rate:g}/s for {cfg.e2e_seconds:g} s to "
            "`exchange serve`, with one `exchange worker` (relay + consumers); CMS polls GET "
            "/cps/deliveries with a cursor; latency from the POST's scheduled time to the "
            "pull that first returned the case",
            messages=len(lat),
            seconds=seconds,
            latency_ms=p,
            cpu_s=s.cpu_seconds(),
            peak_rss_mb=s.rss_mb(),
            targets=[Target("p99 latency", 250, p["p99"], "ms", higher_is_better=False)],
            extra={
                "offered_per_s": cfg.e2e_rate,
                "accepted": len(sent),
                "not_arrived": len(sent) - len(lat),
                "rejected_statuses": failed,
                "pull_errors": {str(k): v for k, v in pull_errors.items()},
                "client_worst_lag_s": round(lag, 3),
            },
        )
    )


# -------------------------------------------------------------------------------- pipeline


async def _hub_topics(ws: Workspace) -> None:
    await ensure_topics(
        ws.kafka_bootstrap,
        partitions=ws.partitions,
        replication_factor=1,
        prefix=ws.topic_prefix,
    )


async def pipeline(env: BenchEnv, cfg: BenchConfig, report: Report) -> None:
    ws = await env.workspace("pipeline")
    factory = factory_for(ws)
    await _hub_topics(ws)
    n = cfg.pipeline_messages
    records = [factory.record(i) for i in range(n)]
    await insert_message_rows(ws.dsn, records)
    await produce(ws.kafka_bootstrap, factory.topic, records)
    del records
    logs = ws.run_dir / "logs" / ws.topic_prefix.rstrip(".")
    worker = HubProcess("worker", ["worker", "--no-relay"], ws.process_env(), logs)
    conn = await asyncpg.connect(ws.dsn)
    try:
        # 1. drain a backlog of n records: both case-file consumers (CMS and the court)
        with (
            sampler_for(env, {"worker": [worker.pid]}) as s,
            Profiler(cfg.profile_dir, "pipeline-worker", worker.pid) as prof,
        ):
            first: float | None = None
            done = 0
            deadline = time.monotonic() + 120 + n / 100
            while done < 2 * n and time.monotonic() < deadline:
                if not worker.alive():
                    raise RuntimeError("worker exited: " + worker.tail())
                done = await conn.fetchval("SELECT count(*) FROM deliveries")
                if done and first is None:
                    first = time.perf_counter()
                await asyncio.sleep(0.05)
            seconds = time.perf_counter() - first if first else 0.0
        delivered = done // 2
        report.add(
            Result(
                "pipeline.drain",
                "pipeline",
                "workload",
                f"one `exchange worker --no-relay` process draining {n} canonical case-file "
                "records from Kafka: decode + validate (pydantic) + render for CMS and for the "
                "court + inbox row + delivery row + audit + message status, one transaction "
                "per partition batch, then offset commit (two consumer groups: each message is "
                "applied twice); msg/s = messages delivered to both; clock from the first "
                "delivery (start-up and group join excluded)",
                messages=delivered,
                seconds=seconds,
                cpu_s=s.cpu_seconds(),
                peak_rss_mb=s.rss_mb(),
                targets=[Target("throughput per worker", 3000, _tput(delivered, seconds), "msg/s")],
                extra={
                    "applications_per_s": _tput(done, seconds),
                    "deliveries": done,
                    "profile": prof.summary,
                },
            )
        )

        # 2. latency at a fixed offered rate: produce -> both deliveries committed
        m = max(1, int(cfg.pipeline_rate * cfg.pipeline_rate_seconds))
        records = [factory.record(n + i) for i in range(m)]
        await insert_message_rows(ws.dsn, records)
        produced: dict[Any, float] = {}
        seen: dict[Any, int] = {}
        lat: list[float] = []
        stop = asyncio.Event()

        async def watch() -> None:
            # by message id, not by seq: deliveries commit out of seq order (two consumer
            # groups in parallel), so a seq cursor would skip rows committed late
            while not stop.is_set() or len(lat) < len(produced):
                pending = [m for m in produced if m not in seen]
                if pending:
                    rows = await conn.fetch(
                        "SELECT message_id FROM deliveries WHERE message_id = ANY($1::uuid[])"
                        " GROUP BY message_id HAVING count(*) >= 2",
                        pending,
                    )
                    now = time.perf_counter()
                    for row in rows:
                        seen[row["message_id"]] = 2
                        lat.append((now - produced[row["message_id"]]) * 1000)
                if stop.is_set() and time.perf_counter() > stop_deadline:
                    return
                await asyncio.sleep(0.005)

        from exchange.messaging.headers import encode
        from exchange.messaging.kafka_config import make_producer

        producer = make_producer(ws.kafka_bootstrap, "bench-pipeline-rate")
        await producer.start()
        stop_deadline = float("inf")
        watcher = asyncio.create_task(watch())
        try:
            with sampler_for(env, {"worker": [worker.pid]}) as s2:
                clock = Clock()

                async def send(i: int, scheduled: float) -> None:
                    r = records[i]
                    produced[r.message_id] = time.perf_counter()
                    await producer.send(
                        factory.topic, r.value, key=r.key.encode(), headers=encode(r.headers)
                    )

                await open_loop(cfg.pipeline_rate, m, send)
                await producer.flush()
                stop_deadline = time.perf_counter() + 30 + m / 50
                stop.set()
                await watcher
                seconds = clock.elapsed()
        finally:
            await producer.stop()
        p = percentiles(lat)
        report.add(
            Result(
                f"pipeline.rate{cfg.pipeline_rate:g}",
                "pipeline",
                "workload",
                f"records produced at a fixed {cfg.pipeline_rate:g}/s for "
                f"{cfg.pipeline_rate_seconds:g} s into the running worker; latency from the "
                "produce call to both deliveries being committed (polled every 5 ms)",
                messages=len(lat),
                seconds=seconds,
                latency_ms=p,
                cpu_s=s2.cpu_seconds(),
                peak_rss_mb=s2.rss_mb(),
                extra={"offered_per_s": cfg.pipeline_rate, "produced": m},
            )
        )
    finally:
        await conn.close()
        worker.stop()
        await env.drop(ws)


# ---------------------------------------------------------------------------------- replay

REQUEUE_SQL = """
WITH picked AS (
    UPDATE failures SET status = 'replayed', resolved_at = now(), attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM failures WHERE status = 'parked' ORDER BY id LIMIT $1
        FOR UPDATE SKIP LOCKED)
    RETURNING id, message_id, consumer, case_urn, topic, record_value, record_headers
), cleared AS (
    DELETE FROM inbox i USING picked p
    WHERE i.consumer = p.consumer AND i.message_id = p.message_id
), audited AS (
    INSERT INTO audit_events (message_id, case_urn, event, actor, detail)
    SELECT message_id, case_urn, 'replayed', 'bench/replay', jsonb_build_object('failure', id)
    FROM picked
)
INSERT INTO outbox (message_id, topic, key, value, headers)
SELECT message_id, topic, coalesce(case_urn, 'unknown'), record_value, record_headers
FROM picked ORDER BY id
"""


async def replay(env: BenchEnv, cfg: BenchConfig, report: Report) -> None:
    import orjson

    ws = await env.workspace("replay")
    factory = factory_for(ws)
    await _hub_topics(ws)
    n = cfg.replay_messages
    consumer = "cps.cms-case-json"
    conn = await asyncpg.connect(ws.dsn)
    worker: HubProcess | None = None
    try:
        # n parked failures, as ConsumerLoop._park leaves them (with their inbox rows)
        chunk = 20_000
        for start in range(0, n, chunk):
            recs = [factory.record(i) for i in range(start, min(n, start + chunk))]
            await conn.copy_records_to_table(
                "failures",
                records=[
                    (r.message_id, consumer, r.key, factory.topic, 0, i, "TRANSFORM_FAILED",
                     "ValueError", "bench: parked for the replay benchmark", "parked",
                     r.value, orjson.dumps(r.headers).decode())
                    for i, r in enumerate(recs, start)
                ],
                columns=["message_id", "consumer", "case_urn", "topic", "partition", "offset",
                         "error_code", "error_class", "error_message", "status",
                         "record_value", "record_headers"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "inbox", records=[(consumer, r.message_id) for r in recs],
                columns=["consumer", "message_id"],
            )  # fmt: skip
        await conn.execute("ANALYZE failures; ANALYZE inbox")
        logs = ws.run_dir / "logs" / ws.topic_prefix.rstrip(".")
        worker = HubProcess("worker", ["worker", "--no-consumers"], ws.process_env(), logs)
        deadline = time.monotonic() + 60
        while not await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
            RELAY_LOCK_ID,
        ):
            if time.monotonic() > deadline or not worker.alive():
                raise RuntimeError("the relay did not start leading: " + worker.tail())
            await asyncio.sleep(0.1)

        with sampler_for(env, {"worker": [worker.pid]}) as s:
            clock = Clock()
            requeued = 0
            while True:
                status = await conn.execute(REQUEUE_SQL, cfg.replay_batch)
                moved = int(status.rsplit(" ", 1)[1])
                if moved == 0:
                    break
                requeued += moved
            requeue_s = clock.elapsed()
            deadline = time.monotonic() + 300 + n / 200
            while await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                if time.monotonic() > deadline or not worker.alive():
                    raise RuntimeError("the relay did not publish the replay: " + worker.tail())
                await asyncio.sleep(0.05)
            seconds = clock.elapsed()
        lat_row = await conn.fetchrow(
            """SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ms) AS p,
                      max(ms) AS mx, count(*) AS n
               FROM (SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms
                     FROM outbox) t"""
        )
        published = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"
        )
    finally:
        await conn.close()
        if worker:
            worker.stop()
        await env.drop(ws)
    p50, p95, p99 = (round(float(x), 2) for x in lat_row["p"])
    projected = seconds * 100_000 / n if n else None
    report.add(
        Result(
            "replay",
            "replay",
            "workload",
            f"replay MECHANISM (the ops replay feature does not exist yet): {n} parked `failures` "
            f"rows re-queued by SQL in batches of {cfg.replay_batch} (mark replayed + clear inbox "
            "+ audit + insert outbox rows, one statement per batch) while one `exchange worker "
            "--no-consumers` (the hub's OutboxRelay) publishes them to Kafka; clock from the "
            "first batch to the last outbox row marked published; latency = outbox row "
            "created_at to published_at (database clock)",
            messages=published,
            seconds=seconds,
            latency_ms={
                "p50": p50,
                "p95": p95,
                "p99": p99,
                "max": round(float(lat_row["mx"]), 2),
                "count": lat_row["n"],
            },  # fmt: skip
            cpu_s=s.cpu_seconds(),
            peak_rss_mb=s.rss_mb(),
            targets=[
                Target(
                    "seconds for 100,000" + ("" if n == 100_000 else " (projected)"),
                    60,
                    round(projected, 1) if projected else None,
                    "s",
                    higher_is_better=False,
                )
            ],
            extra={"requeue_seconds": round(requeue_s, 2), "requeued": requeued},
        )
    )


# --------------------------------------------------------------------------------- backlog


async def backlog(env: BenchEnv, cfg: BenchConfig, report: Report) -> None:
    ws = await env.workspace("backlog")
    factory = factory_for(ws)
    await _hub_topics(ws)
    n = cfg.backlog
    count, produce_s, _ = await produce(
        ws.kafka_bootstrap, factory.topic, (factory.record(i) for i in range(n))
    )
    logs = ws.run_dir / "logs" / ws.topic_prefix.rstrip(".")
    worker = HubProcess("worker", ["worker", "--no-relay"], ws.process_env(), logs)
    try:
        with sampler_for(env, {"worker": [worker.pid]}) as s:
            clock = Clock()
            done = 0
            while clock.elapsed() < cfg.backlog_seconds and done < 2 * n:
                if not worker.alive():
                    raise RuntimeError("worker exited: " + worker.tail())
                await asyncio.sleep(0.5)
                done = await count_rows(ws.dsn, "SELECT count(*) FROM deliveries")
            seconds = clock.elapsed()
    finally:
        worker.stop()
        await env.drop(ws)
    rss = s.rss_mb().get("worker")
    series = s.rss_series.get("worker", [])
    report.add(
        Result(
            "backlog",
            "backlog",
            "workload",
            f"worker memory with a backlog: {count} canonical records produced to the case-file "
            f"topic first ({produce_s:.0f} s), then one `exchange worker --no-relay` started "
            f"on it and sampled (psutil RSS every 0.2 s) for up to {cfg.backlog_seconds:g} s "
            "while it drains; msg/s = messages delivered to both destinations in that time",
            messages=done // 2,
            seconds=seconds,
            cpu_s=s.cpu_seconds(),
            peak_rss_mb=s.rss_mb(),
            targets=[Target("worker peak RSS", 300, rss, "MB", higher_is_better=False)],
            extra={
                "backlog": count,
                "rss_series_mb": series[:: max(1, len(series) // 40)],
                "left_when_stopped": max(0, n - done // 2),
            },
        )
    )
