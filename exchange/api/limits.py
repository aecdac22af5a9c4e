"""Request-header limits, enforced in the app whatever HTTP parser the server uses.

uvicorn's ``h11_max_incomplete_event_size`` bounds headers only with the h11 parser; with
httptools (installed by ``uvicorn[standard]``) a client can send hundreds of kilobytes of
headers. This middleware answers 431 with a stable code before any route runs."""

from __future__ import annotations

from typing import Final

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_HEADER_BYTES: Final = 16 * 1024
MAX_HEADERS: Final = 100


class HeaderLimits:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int = MAX_HEADER_BYTES, max_count: int = MAX_HEADERS
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_count = max_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers", [])
            size = sum(len(k) + len(v) + 4 for k, v in headers)
            if size > self.max_bytes or len(headers) > self.max_count:
                body = orjson.dumps(
                    {
                        "code": "HEADERS_TOO_LARGE",
                        "message": f"request headers exceed {self.max_bytes} bytes or "
                        f"{self.max_count} fields",
                    }
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 431,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
