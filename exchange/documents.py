"""The claim-check store for documents (PDFs of served papers, bundle documents).

Stored in PostgreSQL, once per SHA-256, in the same transaction as the message that brought
them, so a message never refers to a document that was not kept."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.db.tables import documents
from exchange.domain.documents import DocumentRef
from exchange.domain.errors import NotFound


async def put_many(conn: AsyncConnection, items: list[tuple[DocumentRef, bytes]]) -> None:
    """Store each document unless the same bytes are already kept."""
    for ref, content in items:
        await conn.execute(
            insert(documents)
            .values(sha256=ref.sha256, size=ref.size, media_type=ref.media_type, content=content)
            .on_conflict_do_nothing()
        )


async def get(conn: AsyncConnection, sha256: str) -> tuple[bytes, str]:
    row = (
        await conn.execute(
            select(documents.c.content, documents.c.media_type).where(documents.c.sha256 == sha256)
        )
    ).first()
    if row is None:
        raise NotFound(f"no document {sha256}")
    return bytes(row.content), str(row.media_type)
