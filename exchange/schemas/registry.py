"""The schema registry: every version of every schema the hub has used, stored in PostgreSQL.
A new version is registered only if it passes its compatibility check:

- JSON Schema: backward compatible with the latest registered version (``compat``);
- XSD: every stored message of its format that the hub accepted still validates (``corpus``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.db.tables import messages, schema_versions
from exchange.schemas.compat import breaking_changes
from exchange.schemas.corpus import corpus_breakages


@dataclass
class Report:
    name: str
    kind: str
    version: int | None = None
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def compatible(self) -> bool:
        return not self.problems


def name_and_kind(path: Path) -> tuple[str, str]:
    """``schemas/xsd/police/spi-new-case-v1.xsd`` → (``spi-new-case``, ``xsd``)."""
    kind = "xsd" if path.suffix == ".xsd" else "json"
    stem = re.sub(r"[.-]v\d+$", "", path.stem)
    return stem, kind


async def latest(conn: AsyncConnection, name: str) -> tuple[int, str] | None:
    row = (
        await conn.execute(
            select(schema_versions.c.version, schema_versions.c.content)
            .where(schema_versions.c.name == name)
            .order_by(schema_versions.c.version.desc())
            .limit(1)
        )
    ).first()
    return (row.version, row.content) if row else None


async def _stored_corpus(conn: AsyncConnection, fmt: str) -> AsyncIterator[tuple[str, bytes]]:
    result = await conn.stream(
        select(messages.c.message_id, messages.c.raw)
        .where(messages.c.format == fmt)
        .where(messages.c.status != "rejected")
    )
    async for row in result:
        yield str(row.message_id), bytes(row.raw)


async def check(
    conn: AsyncConnection, path: Path, content: str, *, fmt: str | None = None
) -> Report:
    """What registering ``content`` (the file at ``path``) would break, without registering."""
    name, kind = name_and_kind(path)
    report = Report(name, kind)
    if kind == "json":
        previous = await latest(conn, name)
        if previous is not None:
            report.problems = breaking_changes(orjson.loads(previous[1]), orjson.loads(content))
        return report
    corpus = [item async for item in _stored_corpus(conn, fmt or name)]
    report.checked, broken = corpus_breakages(path, corpus)
    report.problems = [
        f"message {b.document}: {b.issues[0].message} at {b.issues[0].location}" for b in broken
    ]
    return report


async def register(
    conn: AsyncConnection, path: Path, content: str, *, fmt: str | None = None
) -> Report:
    """Check, then store ``content`` as the next version of its schema (no-op if unchanged)."""
    report = await check(conn, path, content, fmt=fmt)
    if not report.compatible:
        return report
    digest = hashlib.sha256(content.encode()).hexdigest()
    previous = await latest(conn, report.name)
    if previous is not None and hashlib.sha256(previous[1].encode()).hexdigest() == digest:
        report.version = previous[0]
        return report
    version = (previous[0] if previous else 0) + 1
    await conn.execute(
        schema_versions.insert().values(
            name=report.name, version=version, kind=report.kind, sha256=digest, content=content
        )
    )
    report.version = version
    return report


async def versions(conn: AsyncConnection) -> list[tuple[str, str, int]]:
    """(name, kind, latest version) of every registered schema."""
    rows = (
        await conn.execute(
            select(
                schema_versions.c.name, schema_versions.c.kind, func.max(schema_versions.c.version)
            )
            .group_by(schema_versions.c.name, schema_versions.c.kind)
            .order_by(schema_versions.c.name)
        )
    ).all()
    return [(r[0], r[1], int(r[2])) for r in rows]
