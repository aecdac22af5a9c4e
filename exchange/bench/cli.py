"""``exchange bench``: the hub against the physical ceiling of this machine."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

ALL = "baselines,ingest,pipeline,e2e,replay"


def bench(
    quick: Annotated[bool, typer.Option(help="smoke run: seconds, tiny counts")] = False,
    json: Annotated[bool, typer.Option("--json", help="machine-readable report")] = False,
    workloads: Annotated[
        str, typer.Option(help=f"comma-separated, of: {ALL} (backlog: see --backlog)")
    ] = ALL,
    backlog: Annotated[
        int, typer.Option(help="also measure worker RSS with a backlog of N messages (slow)")
    ] = 0,
    backlog_seconds: Annotated[float, typer.Option(help="how long to watch the backlog")] = 120,
    messages: Annotated[
        int | None, typer.Option(help="messages for ingest max and pipeline")
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="ingest: concurrent clients")] = None,
    ingest_rate: Annotated[float | None, typer.Option(help="ingest: offered rate /s")] = None,
    e2e_rate: Annotated[float | None, typer.Option(help="end to end: offered rate /s")] = None,
    seconds: Annotated[float | None, typer.Option(help="length of each fixed-rate phase")] = None,
    replay: Annotated[int | None, typer.Option(help="replay: parked messages")] = None,
    baseline_messages: Annotated[int | None, typer.Option(help="raw Kafka records")] = None,
    profile: Annotated[
        Path | None, typer.Option(help="attach py-spy to the API and worker; write here")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="also write the JSON report here")] = None,
) -> None:
    """Measure ingest, pipeline, end to end and replay on real Kafka and PostgreSQL, with
    raw Kafka and XSD baselines from the same run, against the targets."""
    from exchange.bench.common import WORKLOADS, BenchConfig
    from exchange.bench.env import local_services
    from exchange.bench.runner import run_bench

    chosen = tuple(w.strip() for w in workloads.split(",") if w.strip())
    unknown = set(chosen) - set(WORKLOADS) - {"backlog"}
    if unknown:
        typer.echo(f"unknown workloads: {', '.join(sorted(unknown))}; known: {ALL}", err=True)
        raise typer.Exit(2)
    overrides: dict[str, object] = {
        "workloads": chosen,
        "backlog": backlog,
        "backlog_seconds": backlog_seconds,
        "profile_dir": profile,
    }
    for key, value in {
        "ingest_messages": messages,
        "pipeline_messages": messages,
        "ingest_concurrency": concurrency,
        "ingest_rate": ingest_rate,
        "e2e_rate": e2e_rate,
        "ingest_rate_seconds": seconds,
        "pipeline_rate_seconds": seconds,
        "e2e_seconds": seconds,
        "replay_messages": replay,
        "baseline_messages": baseline_messages,
    }.items():
        if value is not None:
            overrides[key] = value
    if "backlog" in chosen and not backlog:
        overrides["backlog"] = 1_000 if quick else 100_000
    cfg = BenchConfig.quick_run(**overrides) if quick else BenchConfig(**overrides)  # type: ignore[arg-type]

    async def main() -> object:
        with local_services() as env:
            return await run_bench(cfg, env)

    if not json:
        typer.echo("starting Kafka and PostgreSQL (or using EXCHANGE_* servers) …", err=True)
    report = asyncio.run(main())
    if not json:
        sys.stdout.write(report.render() + "\n")  # type: ignore[attr-defined]
        sys.stdout.flush()
    text = _json(report.to_dict())  # type: ignore[attr-defined]
    if output:
        output.write_text(text + "\n")
    if json:
        sys.stdout.write(text + "\n")
    raise typer.Exit(1 if report.errors else 0)  # type: ignore[attr-defined]


def _json(data: object) -> str:
    import orjson

    return orjson.dumps(
        data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
    ).decode()


bench_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
bench_app.command()(bench)
