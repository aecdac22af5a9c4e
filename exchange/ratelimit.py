"""Per-client rate limiting: a token bucket per client id, in process memory.

Each client may make ``burst`` requests at once and ``rate`` per second after that; past it,
the hub answers 429 with ``Retry-After`` and the stable code ``RATE_LIMITED``. Buckets live in
each API process, so N uvicorn workers allow N times the rate: size the limit per process,
and keep a shared limit at the ingress if one is needed across replicas.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from exchange.domain.errors import ExchangeError

__all__ = ["RateLimited", "RateLimiter"]

MAX_CLIENTS: Final = 10_000


class RateLimited(ExchangeError):
    code = "RATE_LIMITED"
    http_status = 429
    retriable = True

    def __init__(self, client_id: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"client {client_id!r} is over its request rate; retry in {seconds} s")
        self.headers = {"Retry-After": str(seconds)}


class RateLimiter:
    """Token buckets keyed by client id; ``rate`` <= 0 disables limiting."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client_id: str) -> None:
        """Take one token for ``client_id`` or raise :class:`RateLimited`."""
        if self.rate <= 0:
            return
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(client_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client_id] = (tokens, now)
                raise RateLimited(client_id, (1.0 - tokens) / self.rate)
            self._buckets[client_id] = (tokens - 1.0, now)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)  # the least recently seen client
