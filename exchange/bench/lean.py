"""A lean HTTP/1.1 load generator: prebuilt POST requests written on keep-alive connections
with asyncio streams, each answer read by its status line and Content-Length. No HTTP client
library: it costs well under a tenth of a millisecond of CPU per request, so on a machine
shared with the hub the API process, not the client, is what ``ingest.max_lean`` measures
(httpx costs the ``ingest.max`` client several milliseconds per request)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Outcome", "post_all", "request_bytes"]


def request_bytes(path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """One complete HTTP/1.1 POST (keep-alive), ready to write."""
    head = [f"POST {path} HTTP/1.1", "Host: hub"]
    head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Outcome:
    statuses: dict[str, int] = field(default_factory=dict)
    latency_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0


async def _answer(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def post_all(host: str, port: int, requests: Iterable[bytes], *, concurrency: int) -> Outcome:
    """Send every request over ``concurrency`` connections, each waiting for its answer before
    the next (closed loop); a connection that fails is counted and replaced."""
    outcome = Outcome()
    pending = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in pending:
                start = time.perf_counter()
                try:
                    writer.write(request)
                    key = str(await _answer(reader))
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                    key = f"error:{type(exc).__name__}"
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                outcome.latency_ms.append((time.perf_counter() - start) * 1000)
                outcome.statuses[key] = outcome.statuses.get(key, 0) + 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    outcome.seconds = time.perf_counter() - began
    return outcome
