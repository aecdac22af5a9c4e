"""The web console for ops staff: static HTML, CSS and ES modules served from
``exchange/console/`` (no build step). The pages call the ops API with the operator's bearer
token; nothing here reads data itself, so the console needs no permissions of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response

from exchange.domain.errors import NotFound

__all__ = ["STATIC", "router"]

router = APIRouter(tags=["console"], include_in_schema=False)

STATIC: Final = Path(__file__).resolve().parent.parent / "console"
TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Same-origin everything, no inline script: the console runs only its own modules.
HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/console")
async def console_root() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
async def console_index() -> Response:
    return FileResponse(STATIC / "index.html", media_type=TYPES[".html"], headers=HEADERS)


@router.get("/console/{name}")
async def console_file(
    name: Annotated[str, PathParam(pattern=r"^[a-z0-9-]+\.(html|js|css|svg)$")],
) -> Response:
    path = (STATIC / name).resolve()
    if path.parent != STATIC or not path.is_file():
        raise NotFound(f"no console file {name}")
    return FileResponse(path, media_type=TYPES[path.suffix], headers=HEADERS)
