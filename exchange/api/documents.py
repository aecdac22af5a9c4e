"""Fetching a stored document by its SHA-256: the link a court bundle index gives.

Courts, the CPS and ops may read documents. Tenancy: a court (or CPS unit) with an ``org``
reads a document only when a delivery to it references it (a CPS unit also the papers it
served); another tenant's document is a 404, exactly as a missing one. Every read is
audited. The content is immutable (its name is its hash), so the SHA-256 is a strong ETag.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from exchange import audit, documents, tenancy
from exchange.api.deps import HubDep, PrincipalDep
from exchange.auth import Forbidden, Principal
from exchange.db.engine import transaction
from exchange.domain.errors import NotFound

__all__ = ["READER_ROLES", "router"]

router = APIRouter(tags=["documents"])

READER_ROLES: Final = frozenset({"court", "cps", "ops"})
CHUNK: Final = 1024 * 1024
_EXTENSIONS: Final = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/rtf": ".rtf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "text/plain": ".txt",
}

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the content")]


def _authorise(principal: Principal) -> None:
    if not principal.roles & READER_ROLES:
        raise Forbidden(
            f"client {principal.client_id!r} may not read documents; "
            f"it needs one of the scopes {', '.join(sorted(READER_ROLES))}"
        )


def _chunks(content: bytes) -> Iterator[bytes]:
    # Slices of a memoryview share the stored bytes instead of copying 50 MB at once.
    view = memoryview(content)
    for start in range(0, len(view), CHUNK):
        yield bytes(view[start : start + CHUNK])


@router.get(
    "/documents/{sha256}",
    summary="A stored document (PDF of served papers) by its SHA-256",
    responses={404: {"description": "No document with that SHA-256"}},
    response_class=StreamingResponse,
)
async def get_document(sha256: Sha256, hub: HubDep, principal: PrincipalDep) -> StreamingResponse:
    _authorise(principal)
    allowed = tenancy.document_filter(principal, sha256)
    async with transaction(hub.engine) as conn:
        if allowed is not None and not (await conn.execute(tenancy.visible(allowed))).scalar():
            raise NotFound(f"no document {sha256}")
        content, media_type = await documents.get(conn, sha256)
        await audit.record(
            conn,
            "document.read",
            actor=principal.client_id,
            detail={"sha256": sha256, "size": len(content)},
        )
    filename = sha256 + _EXTENSIONS.get(media_type, "")
    return StreamingResponse(
        _chunks(content),
        media_type=media_type,
        headers={
            "Content-Length": str(len(content)),
            "Content-Disposition": f'attachment; filename="{filename}"',
            "ETag": f'"{sha256}"',
            "Cache-Control": "private, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
