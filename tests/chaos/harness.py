"""Drive a stream of police cases through a running hub and count, at the destination and by
message id, what arrived: the figures every fault test prints."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from tests.support.samples import new_case, ptiurn

RETRY_FOR_SECONDS = 180.0


@dataclass
class Tally:
    sent: int = 0
    accepted: set[str] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)
    duplicates: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return len(self.accepted - self.delivered)

    def line(self, name: str) -> str:
        return (
            f"chaos {name}: sent={self.sent} accepted={len(self.accepted)} "
            f"delivered={len(self.delivered & self.accepted)} duplicates={self.duplicates} "
            f"lost={self.lost}"
        )


async def send_cases(
    base: str,
    token: str,
    count: int,
    tally: Tally,
    *,
    first_serial: int = 1,
    concurrency: int = 16,
) -> None:
    """POST ``count`` distinct cases; a 503 or a dropped connection is retried with the same
    Idempotency-Key, as a real sender would, so what the hub accepted is counted once."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(first_serial, first_serial + count):
        queue.put_nowait(n)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def sender() -> None:
            while not queue.empty():
                serial = queue.get_nowait()
                tally.sent += 1
                message_id = await _post_until_answered(client, headers, serial, tally)
                if message_id:
                    tally.accepted.add(message_id)

        await asyncio.gather(*(sender() for _ in range(concurrency)))


async def _post_until_answered(
    client: httpx.AsyncClient, headers: dict[str, str], serial: int, tally: Tally
) -> str | None:
    body = new_case(ptiurn(serial % 100000, year=f"{20 + serial // 100000:02d}"))
    key = {"Idempotency-Key": f"chaos-{serial}"}
    deadline = time.monotonic() + RETRY_FOR_SECONDS
    delay = 0.1
    while time.monotonic() < deadline:
        try:
            answer = await client.post("/police/messages", content=body, headers={**headers, **key})
        except httpx.HTTPError:
            answer = None
        if answer is not None:
            tally.statuses[answer.status_code] = tally.statuses.get(answer.status_code, 0) + 1
            if answer.status_code == 202:
                return str(answer.json()["message_id"])
            if answer.status_code == 429:  # rate limited: wait as told, then the same again
                await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
                continue
            if answer.status_code not in (503, 502, 500):
                return None
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
    return None


async def collect_as_cms(
    base: str,
    token: str,
    tally: Tally,
    *,
    sending_done: asyncio.Event,
    timeout: float = 600.0,
) -> None:
    """Pull and acknowledge as CMS until every accepted message arrived after sending ended
    (or time out). An item served again after this client acknowledged it is a duplicate.
    Each poll starts at cursor 0: deliveries stay until acknowledged, so nothing committed
    late behind a higher sequence number can be skipped."""
    headers = {"Authorization": f"Bearer {token}"}
    acked: set[str] = set()
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline and not (
            sending_done.is_set() and tally.accepted <= tally.delivered
        ):
            try:
                page = await client.get("/cps/deliveries", params={"limit": 500}, headers=headers)
                if page.status_code != 200:
                    await asyncio.sleep(0.5)
                    continue
                ids = [item["message_id"] for item in page.json()["items"]]
                tally.duplicates += sum(1 for i in ids if i in acked)
                fresh = [i for i in ids if i not in acked]
                if fresh:
                    ack = await client.post(
                        "/cps/deliveries/ack", json={"message_ids": fresh}, headers=headers
                    )
                    if ack.status_code == 200:
                        done = set(ack.json()["acknowledged"])
                        acked |= done
                        tally.delivered |= done
                else:
                    await asyncio.sleep(0.2)
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
