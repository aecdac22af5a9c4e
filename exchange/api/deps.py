"""FastAPI dependencies: the hub container, the caller, and request bodies with limits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from exchange.auth import Principal, Unauthenticated
from exchange.bootstrap import Hub
from exchange.domain.errors import ExchangeError
from exchange.ratelimit import RateLimiter


# The dependencies are coroutines: FastAPI runs a plain ``def`` dependency in a worker thread,
# two thread hops per request for work that never blocks.
async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


class PayloadTooLarge(ExchangeError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class BodyTimeout(ExchangeError):
    code = "BODY_TIMEOUT"
    http_status = 408


class ContentTypeUnsupported(ExchangeError):
    code = "CONTENT_TYPE_UNSUPPORTED"
    http_status = 415


@dataclass(frozen=True)
class Body:
    raw: bytes
    content_type: str


XML_TYPES = ("application/xml", "text/xml")
JSON_TYPES = ("application/json",)


async def read_body(request: Request, hub: HubDep) -> Body:
    """Read the body up to the configured limit, refusing more without buffering it.

    Agencies that serve documents (the CPS: CP20 with base64 PDFs) have the larger limit."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (
        content_type in XML_TYPES or content_type in JSON_TYPES or content_type.endswith("+xml")
    ):
        raise ContentTypeUnsupported(
            f"Content-Type {content_type or '(none)'!r} is not accepted; send application/xml "
            "or application/json"
        )
    documents = request.url.path.startswith("/cps/")
    limit = hub.settings.max_document_body_bytes if documents else hub.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    stream = request.stream().__aiter__()
    wait = hub.settings.body_read_timeout_seconds
    while True:
        try:
            # A body that trickles in (slowloris) holds a worker: give up between chunks.
            chunk = await asyncio.wait_for(stream.__anext__(), timeout=wait)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise BodyTimeout(f"no part of the request body arrived for {wait:g} s") from None
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    _check_matches(raw, content_type)
    return Body(raw, content_type)


def _check_matches(raw: bytes, content_type: str) -> None:
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if content_type in JSON_TYPES and head not in (b"{", b"["):
        raise ContentTypeUnsupported("Content-Type says JSON but the body is not a JSON document")
    if content_type not in JSON_TYPES and head != b"<":
        raise ContentTypeUnsupported("Content-Type says XML but the body is not an XML document")


BodyDep = Annotated[Body, Depends(read_body)]


def _limiter(request: Request, hub: Hub) -> RateLimiter:
    """The app's one rate limiter, built from the hub's settings on first use (a hub double
    without settings gets no limit)."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        settings = getattr(hub, "settings", None)
        limiter = (
            RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
            if settings is not None
            else RateLimiter(rate=0, burst=1)
        )
        request.app.state.rate_limiter = limiter
    return limiter


async def get_principal(request: Request, hub: HubDep) -> Principal:
    """The verified caller, rate limited per client id; kept on the request for the audit."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send an OAuth2 bearer token: Authorization: Bearer <token>")
    principal = hub.verifier.verify(token.strip())
    request.state.principal = principal
    _limiter(request, hub).check(principal.client_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
