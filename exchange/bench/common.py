"""Shared pieces of the workloads: configuration, clocks, Kafka producing, SQL fixtures."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from exchange.bench.env import BenchEnv, Workspace
from exchange.bench.messages import CanonicalFactory, Record
from exchange.bench.procs import Sampler
from exchange.messaging.headers import encode
from exchange.messaging.kafka_config import make_producer

WORKLOADS = ("baselines", "ingest", "pipeline", "e2e", "replay")


@dataclass
class BenchConfig:
    workloads: tuple[str, ...] = WORKLOADS
    # baselines
    baseline_messages: int = 20_000
    xsd_messages: int = 2_000
    # ingest
    ingest_messages: int = 5_000
    ingest_concurrency: int = 64
    ingest_rate: float = 1_000.0
    ingest_rate_seconds: float = 10.0
    # pipeline
    pipeline_messages: int = 5_000
    pipeline_rate: float = 50.0
    pipeline_rate_seconds: float = 10.0
    # end to end
    e2e_rate: float = 500.0
    e2e_seconds: float = 10.0
    # replay
    replay_messages: int = 100_000
    replay_batch: int = 5_000
    # worker memory with a backlog (0: off; expensive)
    backlog: int = 0
    backlog_seconds: float = 120.0
    partitions: int = 6
    profile_dir: Path | None = None
    quick: bool = False

    @classmethod
    def quick_run(cls, **overrides: Any) -> BenchConfig:
        """Seconds, tiny counts: checks the benchmark works, not the hub's speed."""
        values: dict[str, Any] = {
            "baseline_messages": 300,
            "xsd_messages": 50,
            "ingest_messages": 60,
            "ingest_concurrency": 8,
            "ingest_rate": 50.0,
            "ingest_rate_seconds": 1.0,
            "pipeline_messages": 200,
            "pipeline_rate": 50.0,
            "pipeline_rate_seconds": 1.0,
            "e2e_rate": 40.0,
            "e2e_seconds": 1.0,
            "replay_messages": 500,
            "replay_batch": 200,
            "backlog_seconds": 10.0,
            "quick": True,
        }
        values.update(overrides)
        return cls(**values)


def sampler_for(env: BenchEnv, hub: dict[str, list[int]], *, client: bool = True) -> Sampler:
    """CPU and RSS of the hub processes, this process (the load generator) and the services
    when this run started them."""
    groups = dict(hub)
    if client:
        groups["client"] = [os.getpid()]
    groups.update(env.service_pids)
    return Sampler(groups, tree=("postgres",))


class Clock:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


async def produce(
    bootstrap: str,
    topic: str,
    records: Iterable[Record],
    *,
    client_id: str = "bench-producer",
    chunk: int = 10_000,
    on_sent: Callable[[Record], None] | None = None,
) -> tuple[int, float, list[float]]:
    """Publish records with the hub's producer settings (acks=all, idempotent); returns
    (count, seconds, per-record send-to-ack latencies in ms)."""
    producer = make_producer(bootstrap, client_id)
    await producer.start()
    latencies: list[float] = []
    count = 0
    try:
        clock = Clock()
        pending: list[asyncio.Future[Any]] = []
        for record in records:
            start = time.perf_counter()
            future = await producer.send(
                topic, value=record.value, key=record.key.encode(), headers=encode(record.headers)
            )
            future.add_done_callback(
                lambda _f, s=start: latencies.append((time.perf_counter() - s) * 1000)
            )
            if on_sent:
                on_sent(record)
            pending.append(future)
            count += 1
            if len(pending) >= chunk:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return count, clock.elapsed(), latencies
    finally:
        await producer.stop()


async def open_loop(
    rate: float, count: int, send: Callable[[int, float], Coroutine[Any, Any, None]]
) -> float:
    """Start ``send(i, scheduled_time)`` at a fixed offered rate whatever the answers' speed
    (latency is taken from the scheduled time, so a slow system is not hidden by a client
    that waits: no coordinated omission). Returns how far behind schedule the client fell
    at worst (s)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    worst_lag = 0.0
    tasks: list[asyncio.Task[None]] = []
    for i in range(count):
        scheduled = t0 + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            worst_lag = max(worst_lag, -delay)
        tasks.append(asyncio.create_task(send(i, scheduled)))
    await asyncio.gather(*tasks)
    return worst_lag


async def insert_message_rows(dsn: str, records: list[Record], status: str = "routed") -> None:
    """``messages`` rows for records published straight to Kafka, as ingest would have left
    them, so the consumers' status updates find their row (COPY, fast)."""
    import hashlib
    import uuid

    rows: list[tuple[Any, ...]] = []
    for r in records:
        raw = b"<bench-placeholder/>"
        rows.append(
            (
                r.message_id,
                f"bench:{r.message_id}",
                "bench-police",
                "case-file",
                "1.0",
                "spi-new-case",
                r.key,
                [],
                "police",
                "NSPIS",
                "01",
                status,
                "application/xml",
                raw,
                hashlib.sha256(raw + r.message_id.bytes).hexdigest(),
                r.value.decode(),
                uuid.UUID(r.headers["correlation-id"]),
            )
        )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "messages",
            records=rows,
            columns=[
                "message_id", "idempotency_key", "client_id", "message_type", "schema_version",
                "format", "case_urn", "asns", "source_agency", "source_system", "source_org",
                "status", "content_type", "raw", "raw_sha256", "canonical", "correlation_id",
            ],
        )  # fmt: skip
    finally:
        await conn.close()


async def count_rows(dsn: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


def factory_for(ws: Workspace, pool: int = 64) -> CanonicalFactory:
    return CanonicalFactory(pool, topic_prefix=ws.topic_prefix)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass
class Profiler:
    """py-spy attached to one process for a phase (``--profile DIR``); summarised into the
    result's ``extra["profile"]``: top frames by own samples and by inclusive samples."""

    out_dir: Path | None
    name: str
    pid: int
    proc: Any = None
    path: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Profiler:
        import shutil
        import subprocess
        import sys

        if self.out_dir is None:
            return self
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(exe).exists():
            self.summary = {"error": "py-spy is not installed (pip install py-spy)"}
            return self
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / f"{self.name}.collapsed.txt"
        self.proc = subprocess.Popen(  # noqa: S603 - py-spy on our own child
            [exe, "record", "--pid", str(self.pid), "--rate", "200", "--format", "raw",
             "--nonblocking", "--output", str(self.path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        if self.path and self.path.exists():
            self.summary = summarise_collapsed(self.path)
            self.summary["file"] = str(self.path)


def summarise_collapsed(path: Path, top: int = 15) -> dict[str, Any]:
    """Top frames of a py-spy raw (collapsed) profile: own samples and inclusive samples."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        raw = stack.split(";")
        frames = [_short(f) for f in raw]
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + count
        # inclusive: the project's own frames only (the roots - runpy, typer, asyncio - are
        # in every stack and say nothing)
        for frame in {_short(f) for f in raw if _is_project(f)}:
            inclusive[frame] = inclusive.get(frame, 0) + count

    def ranked(table: dict[str, int]) -> list[list[Any]]:
        best = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [[frame, round(100 * n / total, 1)] for frame, n in best]

    return {"samples": total, "own_pct": ranked(own), "inclusive_pct": ranked(inclusive)}


def _is_project(frame: str) -> bool:
    where = frame.partition(" (")[2]
    return "site-packages" not in where and "/lib/python" not in where and "<frozen" not in where


def _short(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = where.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else where
    return f"{name} ({short})"
