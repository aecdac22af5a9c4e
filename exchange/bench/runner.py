"""Runs the selected workloads and baselines in one process and links each workload to the
baseline it is compared with."""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Awaitable, Callable

from exchange.bench import baselines, workloads
from exchange.bench.common import BenchConfig
from exchange.bench.env import BenchEnv
from exchange.bench.report import Report, Target, machine_info

Step = Callable[[BenchEnv, BenchConfig, Report], Awaitable[None]]

STEPS: dict[str, Step] = {
    "baselines": baselines.run,
    "ingest": workloads.ingest,
    "pipeline": workloads.pipeline,
    "e2e": workloads.e2e,
    "replay": workloads.replay,
    "backlog": workloads.backlog,
}

#: workload row -> the baseline it is divided by (throughput ratio)
LINKS = {
    "ingest.max": "baseline.ingest_cpu",
    "pipeline.drain": "baseline.kafka_passthrough",
    "e2e.rate": "baseline.kafka_passthrough",
    "replay": "baseline.kafka_produce",
    "backlog": "baseline.kafka_passthrough",
}


async def run_bench(cfg: BenchConfig, env: BenchEnv) -> Report:
    config = {k: (str(v) if v is not None and k == "profile_dir" else v)
              for k, v in dataclasses.asdict(cfg).items()}  # fmt: skip
    report = Report(config=config, machine=machine_info())
    steps = [w for w in STEPS if w in cfg.workloads or (w == "backlog" and cfg.backlog > 0)]
    try:
        for name in steps:
            try:
                await STEPS[name](env, cfg, report)
            except Exception as exc:  # noqa: BLE001 - report it and go on with the others
                report.errors.append(f"{name}: {exc!r}\n{traceback.format_exc(limit=6)}")
    finally:
        await env.cleanup()
    for row in report.results:
        for prefix, baseline in LINKS.items():
            if row.name == prefix or row.name.startswith(prefix):
                report.link(row.name, baseline)
        if row.name == "pipeline.drain":
            row.targets.append(Target("ratio to raw passthrough", 0.5, row.ratio_to_baseline, "x"))
    return report
