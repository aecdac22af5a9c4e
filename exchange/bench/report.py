"""Benchmark results: one row per measurement, its targets, and the report (table or JSON)."""

from __future__ import annotations

import math
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Every field a result row carries in ``--json`` output (the smoke test checks them all).
RESULT_FIELDS = (
    "name",
    "workload",
    "kind",
    "measured",
    "messages",
    "seconds",
    "throughput_per_s",
    "latency_ms",
    "cpu_s",
    "cpu_s_total",
    "peak_rss_mb",
    "baseline",
    "ratio_to_baseline",
    "targets",
    "extra",
)
LATENCY_FIELDS = ("p50", "p95", "p99", "max", "count")
TARGET_FIELDS = ("name", "target", "value", "unit", "met")


def percentiles(samples_ms: list[float]) -> dict[str, float | int | None]:
    """p50/p95/p99/max (nearest-rank) of latencies in milliseconds."""
    if not samples_ms:
        return {"p50": None, "p95": None, "p99": None, "max": None, "count": 0}
    ordered = sorted(samples_ms)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)

    return {
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": round(ordered[-1], 2),
        "count": len(ordered),
    }


@dataclass
class Target:
    name: str
    target: float
    value: float | None
    unit: str
    higher_is_better: bool = True

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def to_dict(self) -> dict[str, Any]:
        op = ">=" if self.higher_is_better else "<="
        return {
            "name": self.name,
            "target": f"{op} {self.target:g}",
            "value": self.value,
            "unit": self.unit,
            "met": self.met,
        }


@dataclass
class Result:
    """One measurement: a workload (or one phase of it) or a baseline."""

    name: str  # e.g. "ingest.max", "baseline.kafka_passthrough"
    workload: str  # ingest, pipeline, e2e, replay, backlog, baseline
    kind: str  # "workload" or "baseline"
    measured: str  # one sentence: exactly what the clock covered
    messages: int = 0
    seconds: float = 0.0
    latency_ms: dict[str, float | int | None] = field(default_factory=lambda: percentiles([]))
    cpu_s: dict[str, float] = field(default_factory=dict)  # per process group
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    baseline: str | None = None
    ratio_to_baseline: float | None = None
    targets: list[Target] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput_per_s(self) -> float:
        return round(self.messages / self.seconds, 1) if self.seconds > 0 else 0.0

    @property
    def cpu_s_total(self) -> float:
        return round(sum(self.cpu_s.values()), 2)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["throughput_per_s"] = self.throughput_per_s
        body["cpu_s_total"] = self.cpu_s_total
        body["targets"] = [t.to_dict() for t in self.targets]
        body["seconds"] = round(self.seconds, 3)
        return {k: body[k] for k in RESULT_FIELDS}


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    errors: list[str] = field(default_factory=list)

    def add(self, result: Result) -> Result:
        self.results.append(result)
        return result

    def get(self, name: str) -> Result | None:
        return next((r for r in self.results if r.name == name), None)

    def link(self, name: str, baseline: str) -> None:
        """Set ``name``'s ratio to the throughput of ``baseline`` measured in this run."""
        row, base = self.get(name), self.get(baseline)
        if row is None:
            return
        row.baseline = baseline
        if base is not None and base.throughput_per_s > 0:
            row.ratio_to_baseline = round(row.throughput_per_s / base.throughput_per_s, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "machine": self.machine,
            "config": self.config,
            "results": [r.to_dict() for r in self.results],
            "targets_met": all(t.met for r in self.results for t in r.targets if t.met is not None),
            "errors": self.errors,
        }

    def render(self) -> str:
        """A plain-text table, then each target next to its figure."""
        head = (
            f"{'measurement':<28} {'msgs':>8} {'s':>7} {'msg/s':>9} {'p50ms':>8} {'p95ms':>8} "
            f"{'p99ms':>8} {'cpu s':>7} {'rssMB':>7} {'ratio':>6}  baseline"
        )
        lines = [f"CJS Exchange Hub benchmark, {self.started_at}", _machine_line(self.machine)]
        lines += ["", head, "-" * len(head)]
        for r in self.results:
            lat = r.latency_ms
            hub = {k: v for k, v in r.peak_rss_mb.items() if k in ("api", "worker")}
            rss_of = hub or r.peak_rss_mb  # the hub's processes; else the load generator
            rss = max(rss_of.values()) if rss_of else None
            lines.append(
                f"{r.name:<28} {r.messages:>8} {r.seconds:>7.2f} {r.throughput_per_s:>9.1f} "
                f"{_num(lat.get('p50')):>8} {_num(lat.get('p95')):>8} {_num(lat.get('p99')):>8} "
                f"{r.cpu_s_total:>7.1f} {_num(rss):>7} {_num(r.ratio_to_baseline):>6}  "
                f"{r.baseline or ''}"
            )
        lines += ["", "targets:"]
        for r in self.results:
            for t in r.targets:
                d = t.to_dict()
                verdict = {True: "MET", False: "NOT MET", None: "not measured"}[t.met]
                lines.append(
                    f"  {r.name:<26} {t.name:<34} {_num(t.value):>10} {t.unit:<6} "
                    f"target {d['target']:<10} {verdict}"
                )
        lines += ["", "what each measurement covers:"]
        for r in self.results:
            cpu = ", ".join(f"{k} {v:.1f}" for k, v in r.cpu_s.items())
            lines.append(f"  {r.name}: {r.measured}" + (f" [cpu s: {cpu}]" if cpu else ""))
        for error in self.errors:
            lines.append(f"ERROR {error}")
        return "\n".join(lines)


def _num(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _machine_line(m: dict[str, Any]) -> str:
    if not m:
        return ""
    return (
        f"machine: {m.get('cpu_model')} x{m.get('cpus')}, {m.get('memory_gib')} GiB, "
        f"Python {m.get('python')}, {m.get('platform')}"
    )


def machine_info() -> dict[str, Any]:
    import psutil  # type: ignore[import-untyped]

    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
