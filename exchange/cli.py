"""The ``exchange`` command line: serve, worker, migrate, validate, transform, token, run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from exchange.domain.errors import Issue
from exchange.settings import get_settings

app = typer.Typer(
    help="CJS Exchange Hub: canonical case messages between police, CPS and courts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from exchange import logs

    logs.configure()
    uvicorn.run(
        "exchange.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_keep_alive=5,
        limit_concurrency=1000,
        h11_max_incomplete_event_size=16 * 1024,
    )


@app.command()
def worker(
    relay: Annotated[bool, typer.Option(help="run the outbox relay")] = True,
    consumers: Annotated[bool, typer.Option(help="run the destination consumers")] = True,
) -> None:
    """Run the outbox relay and the destination consumers."""
    from exchange import gctune, logs, telemetry
    from exchange.bootstrap import bootstrap
    from exchange.worker import Worker, run_until_signalled

    logs.configure()
    telemetry.configure(get_settings(), telemetry.WORKER)

    async def main() -> None:
        hub = bootstrap(get_settings())
        gctune.tune_after_start()
        try:
            await run_until_signalled(Worker(hub, relay=relay, consumers=consumers))
        finally:
            await hub.close()

    try:
        asyncio.run(main())
    finally:
        telemetry.shutdown()


@app.command()
def migrate(revision: str = "head") -> None:
    """Apply the database migrations."""
    from exchange.db.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument(help="documents to check")]) -> None:
    """Validate documents; one JSON line per file. Exit 0 all valid, 1 any invalid, 2 usage."""
    from exchange.validation import validate_document

    all_valid = True
    for path in paths:
        if not path.is_file():
            typer.echo(f"error: {path} is not a readable file", err=True)
            raise typer.Exit(2)
        result = validate_document(path.read_bytes())
        all_valid &= result.valid
        line = {
            "path": str(path),
            "format": result.format,
            "valid": result.valid,
            "errors": [_issue(i) for i in result.issues if i.severity == "error"],
        }
        warnings = [_issue(i) for i in result.issues if i.severity != "error"]
        if warnings:
            line["warnings"] = warnings
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
    raise typer.Exit(0 if all_valid else 1)


def _issue(issue: Issue) -> dict[str, object]:
    found: dict[str, object] = {
        "code": issue.code,
        "message": issue.message,
        "location": issue.location,
    }
    if issue.line is not None:
        found["line"] = issue.line
    return found


@app.command()
def transform(
    path: Path,
    to: Annotated[
        str, typer.Option("--to", help="canonical, or a destination format, e.g. cms-case-json")
    ] = "canonical",
) -> None:
    """Transform a document to the canonical message (envelope and payload) as JSON, or on
    to a destination's format."""
    from exchange.transform_cli import transform_document

    if not path.is_file():
        typer.echo(f"error: {path} is not a readable file", err=True)
        raise typer.Exit(2)
    code = transform_document(path.read_bytes(), to, sys.stdout, sys.stderr)
    raise typer.Exit(code)


@app.command()
def token(
    client_id: Annotated[str, typer.Argument(help="the client's id (sub claim)")],
    role: Annotated[list[str], typer.Option("--role", help="police, cps, court, ops, manager")],
    org: Annotated[str | None, typer.Option(help="tenant: force, CPS area or court OU")] = None,
    ttl: int = 3600,
) -> None:
    """Mint a development token from the local issuer (development only)."""
    from exchange.bootstrap import dev_issuer

    settings = get_settings()
    if not settings.is_development:
        typer.echo("the local issuer exists only in development", err=True)
        raise typer.Exit(2)
    typer.echo(dev_issuer(settings).token(client_id, role, org, ttl))


def _add_sub_apps() -> None:
    from exchange.ops_cli import app as ops_app
    from exchange.schemas_cli import app as schemas_app

    app.add_typer(schemas_app, name="schemas")
    app.add_typer(ops_app, name="ops")


_add_sub_apps()

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(seal: bool = True) -> None:
    """Recompute the audit hash chain: exit 0 if intact, 1 at the first broken link."""
    from exchange.audit_cli import verify

    raise typer.Exit(verify(get_settings().database_url, seal=seal))


webhook_app = typer.Typer(help="Agency webhooks: deliveries pushed instead of pulled.")
app.add_typer(webhook_app, name="webhook")


@webhook_app.command("add")
def webhook_add(
    destination: Annotated[str, typer.Option(help="police, cps or court")],
    url: Annotated[str, typer.Option(help="the agency's HTTPS endpoint")],
    secret: Annotated[str, typer.Option(envvar="EXCHANGE_WEBHOOK_SECRET", help="HMAC key")],
    org: Annotated[str | None, typer.Option(help="only this organisation's deliveries")] = None,
) -> None:
    """Register (or replace) a webhook; its deliveries are then pushed, signed."""
    from exchange.db.engine import make_engine, transaction
    from exchange.webhook import add_webhook

    async def main() -> None:
        engine = make_engine(get_settings().database_url, pool_size=1)
        try:
            async with transaction(engine) as conn:
                await add_webhook(
                    conn, destination=destination, organisation=org, url=url, secret=secret
                )
        finally:
            await engine.dispose()

    asyncio.run(main())
    typer.echo(f"webhook for {destination}{'/' + org if org else ''}: {url}")


@app.command()
def run(
    port: int = 8000,
    demo: Annotated[bool, typer.Option(help="feed a demo police case")] = True,
) -> None:
    """Start local Kafka and PostgreSQL, the API and a worker, and feed a demo (make run)."""
    from exchange.devrun import run_local

    raise typer.Exit(run_local(port=port, demo=demo))


def _add_bench() -> None:
    from exchange.bench.cli import bench

    app.command("bench")(bench)


_add_bench()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
