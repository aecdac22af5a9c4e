"""``exchange schemas``: generate the canonical JSON Schemas, check a new schema version for
what it would break, register versions, list them."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import orjson
import typer

from exchange.schemas import compat, corpus, generate
from exchange.schemas import registry as reg
from exchange.settings import REPO_ROOT, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")

app = typer.Typer(help="Canonical JSON Schemas, compatibility checks and the schema registry.")


@app.command("generate")
def generate_cmd(
    check: Annotated[
        bool, typer.Option(help="only report files that differ; exit 1 if any")
    ] = False,
) -> None:
    """Write schemas/json/canonical/*.json from the canonical models."""
    if check:
        stale = [
            p
            for p, c in generate.generated_files().items()
            if not p.exists() or p.read_bytes() != c
        ]
        for path in stale:
            typer.echo(f"out of date: {path.relative_to(REPO_ROOT)}")
        raise typer.Exit(1 if stale else 0)
    for path in generate.write_all():
        typer.echo(f"wrote {path.relative_to(REPO_ROOT)}")


@app.command("check")
def check_cmd(
    new_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    against: Annotated[Path | None, typer.Option(help="old JSON Schema to compare with")] = None,
    corpus_dir: Annotated[
        Path | None, typer.Option("--corpus", help="folder of past accepted XML messages")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="format the XSD governs")] = None,
) -> None:
    """Report what NEW_FILE would break; exit 1 if anything. Without --against/--corpus, the
    registry in the database is the reference (latest version; stored accepted messages)."""
    name, kind = reg.name_and_kind(new_file)
    if kind == "json" and against is not None:
        problems = compat.breaking_changes(
            orjson.loads(against.read_bytes()), orjson.loads(new_file.read_bytes())
        )
        checked = 1
    elif kind == "xsd" and corpus_dir is not None:
        checked, broken = corpus.corpus_breakages(new_file, corpus.files_corpus(corpus_dir))
        problems = [f"{b.document}: {b.issues[0].message}" for b in broken]
    else:
        content = new_file.read_text()
        report = asyncio.run(_with_db(lambda conn: reg.check(conn, new_file, content, fmt=fmt)))
        problems, checked = report.problems, report.checked
    for problem in problems:
        typer.echo(f"breaks: {problem}")
    verdict = "compatible" if not problems else f"{len(problems)} breaking change(s)"
    extra = f" ({checked} stored message(s) checked)" if kind == "xsd" else ""
    typer.echo(f"{name} ({kind}): {verdict}{extra}")
    raise typer.Exit(1 if problems else 0)


@app.command("register")
def register_cmd(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)],
    fmt: Annotated[str | None, typer.Option("--format", help="format the XSD governs")] = None,
) -> None:
    """Check and store each file as the next version of its schema."""
    failed = False
    for path in files:
        report = asyncio.run(
            _with_db(functools.partial(reg.register, path=path, content=path.read_text(), fmt=fmt))
        )
        if report.compatible:
            typer.echo(f"{report.name} ({report.kind}): version {report.version}")
        else:
            failed = True
            for problem in report.problems:
                typer.echo(f"breaks: {problem}")
            typer.echo(f"{report.name}: refused, {len(report.problems)} breaking change(s)")
    raise typer.Exit(1 if failed else 0)


@app.command("list")
def list_cmd() -> None:
    """Every registered schema and its latest version."""
    for name, kind, version in asyncio.run(_with_db(reg.versions)):
        typer.echo(f"{name:40} {kind:5} v{version}")


async def _with_db(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    from exchange.db.engine import make_engine, transaction

    engine = make_engine(get_settings().database_url, pool_size=1)
    try:
        async with transaction(engine) as conn:
            return await work(conn)
    finally:
        await engine.dispose()
