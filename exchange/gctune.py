"""Garbage-collector settings for the long-running processes (API and worker).

Both hold a large, long-lived heap built at start (the CJS standing data, the schemas, the
adapters' models: some 180,000 objects) and then allocate many short-lived objects per
message (pydantic models, dicts). With CPython's defaults a full collection, which walks the
whole heap, runs every few hundred messages, and young collections every 700 allocations:
measured in the worker, decoding canonical messages took twice as long as with the heap frozen
and a larger young generation (docs/performance.md). Reference counting still frees almost
everything at once; only cycles wait for a collection.
"""

from __future__ import annotations

import gc
from typing import Final

# Allocations (net) before a young collection; CPython's default is 700.
YOUNG_THRESHOLD: Final = 50_000


def tune_after_start() -> None:
    """Call once the long-lived objects exist: move them out of every future collection
    (``gc.freeze``) and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
