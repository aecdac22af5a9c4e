"""``exchange ops …``: search, replay (dry run, canary, rate, progress bar), timeline and
retention from a terminal, on the same code as the ops API. Replays are audited under the
operator's name (``--actor``, default the login name)."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from exchange.ops.config import OpsSettings
from exchange.settings import get_settings

app = typer.Typer(
    help="Ops: find, replay and amend failed messages; timelines; retention.", no_args_is_help=True
)
console = Console()
T = TypeVar("T")


def _with_engine(work: Callable[[Any], Awaitable[T]]) -> T:
    from exchange.db.engine import make_engine

    async def main() -> T:
        engine = make_engine(get_settings().database_url, pool_size=2)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@app.command()
def search(
    case_urn: Annotated[str | None, typer.Option("--urn", help="PTIURN")] = None,
    error_code: Annotated[str | None, typer.Option("--code")] = None,
    consumer: str | None = None,
    status: Annotated[str, typer.Option(help="parked, replayed or any")] = "parked",
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List failures (newest first)."""
    from exchange.db.engine import transaction
    from exchange.ops.search import FailureFilter, search_failures

    f = FailureFilter(
        case_urn=case_urn,
        error_code=error_code,
        consumer=consumer,
        status=None if status == "any" else status,
    )

    async def work(engine: Any) -> Any:
        async with transaction(engine) as conn:
            return await search_failures(conn, f, limit=limit)

    page = _with_engine(work)
    if as_json:
        _json(page.items)
        return
    table = Table("id", "case", "consumer", "code", "cause", "status", "replays", "parked")
    for i in page.items:
        table.add_row(
            str(i["id"]),
            i["case_urn"] or "",
            i["consumer"],
            i["error_code"],
            i["error_message"][:60],
            i["status"],
            str(i["replay_count"]),
            i["created_at"][:19],
        )
    console.print(table)


@app.command()
def replay(
    failure_ids: Annotated[list[int] | None, typer.Argument(help="failure ids")] = None,
    case_urn: Annotated[str | None, typer.Option("--urn")] = None,
    error_code: Annotated[str | None, typer.Option("--code")] = None,
    consumer: str | None = None,
    reason: Annotated[str, typer.Option(help="why; kept in the audit trail")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run/--execute", help="only show the plan")] = True,
    canary: Annotated[int | None, typer.Option(help="replay these first and check them")] = None,
    rate: Annotated[float | None, typer.Option(help="replays per second at most")] = None,
    actor: Annotated[str | None, typer.Option(help="who replays (audit)")] = None,
) -> None:
    """Replay parked failures: by ids or a filter. A dry run unless --execute."""
    from exchange.db.engine import transaction
    from exchange.ops.replay import Replayer, plan_replay, require_reason
    from exchange.ops.search import FailureFilter

    ops = OpsSettings()
    selection = None
    if not failure_ids:
        if not (case_urn or error_code or consumer):
            console.print("[red]give failure ids or a filter (--urn, --code, --consumer)[/]")
            raise typer.Exit(2)
        selection = FailureFilter(case_urn=case_urn, error_code=error_code, consumer=consumer)
    if not dry_run:
        require_reason(reason)

    async def work(engine: Any) -> Any:
        async with transaction(engine) as conn:
            plan = await plan_replay(
                conn, failure_ids=failure_ids, selection=selection, max_count=ops.replay_max_count
            )
        _show_plan(plan.to_dict())
        if dry_run or not plan.candidates:
            return None
        replayer = Replayer(
            engine,
            max_count=ops.replay_max_count,
            topic_prefix=get_settings().topic_prefix,
            canary_timeout=ops.replay_canary_timeout_seconds,
        )
        with Progress(
            TextColumn("replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("replay", total=len(plan.candidates))
            return await replayer.run(
                plan,
                actor=actor or f"cli/{getpass.getuser()}",
                reason=reason,
                canary=ops.replay_canary_size if canary is None else canary,
                rate=rate or ops.replay_rate_per_second,
                progress=lambda _item: bar.advance(task),
            )

    outcome = _with_engine(work)
    if outcome is None:
        if dry_run:
            console.print("dry run: nothing replayed; add --execute --reason '…' to replay")
        return
    console.print(f"replayed {len(outcome.replayed)}; refused {len(outcome.refused)}")
    if outcome.stopped:
        console.print(f"[red]{outcome.stopped}[/]")
        raise typer.Exit(1)


def _show_plan(plan: dict[str, Any]) -> None:
    console.print(f"[bold]{plan['count']}[/] message(s) to replay")
    table = Table("error code", "count")
    for code, n in plan["by_error_code"].items():
        table.add_row(code, str(n))
    console.print(table)
    for r in plan["refused"]:
        console.print(f"refused failure {r['failure_id']}: {r['reason']}")


@app.command()
def timeline(case_urn: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every message of one case, in order, with deliveries and failures."""
    from exchange.db.engine import transaction
    from exchange.ops.timeline import case_timeline

    async def work(engine: Any) -> Any:
        async with transaction(engine) as conn:
            return await case_timeline(conn, case_urn)

    found = _with_engine(work)
    if as_json:
        _json(found)
        return
    table = Table("received", "type", "from", "status", "caused by", "deliveries", "failures")
    for m in found["messages"]:
        table.add_row(
            m["received_at"][:19],
            m["message_type"] or "",
            m["source"]["agency"],
            m["status"],
            (m["causation_id"] or "")[:8],
            ", ".join(f"{d['destination']}:{d['status']}" for d in m["deliveries"]),
            ", ".join(f"{f['error_code']}:{f['status']}" for f in m["failures"]),
        )
    console.print(f"case {found['case_urn']}")
    console.print(table)


@app.command()
def retention(
    dry_run: Annotated[bool, typer.Option("--dry-run/--execute")] = True,
    now: Annotated[str | None, typer.Option(help="pretend it is this time (ISO)")] = None,
) -> None:
    """Drop old audit partitions, sanitise personal data, purge the published outbox."""
    from exchange.ops import retention as job

    at = dt.datetime.fromisoformat(now) if now else None

    async def work(engine: Any) -> Any:
        return await job.run(engine, OpsSettings(), dry_run=dry_run, now=at)

    plan = _with_engine(work)
    _json({"dry_run": dry_run, **plan.to_dict()})
