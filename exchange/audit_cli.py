"""``exchange audit verify``: seal what is waiting, then recompute the audit hash chain.

Exit 0 with ``verified N events`` when every link holds; exit 1 naming the first broken link.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from exchange import audit
from exchange.db.engine import make_engine, transaction

__all__ = ["verify"]


async def _verify(database_url: str, *, seal: bool) -> audit.Verification:
    engine = make_engine(database_url, pool_size=1)
    try:
        if seal:
            async with transaction(engine) as conn:
                await audit.seal(conn)
        async with engine.connect() as conn:
            # One snapshot for the whole walk: a consistent view while writers keep going.
            await conn.execution_options(isolation_level="REPEATABLE READ")
            return await audit.verify(conn)
    finally:
        await engine.dispose()


def verify(database_url: str, *, seal: bool = True, out: TextIO | None = None) -> int:
    """Verify the chain in the database at ``database_url``; returns the exit code."""
    out = out or sys.stdout
    result = asyncio.run(_verify(database_url, seal=seal))
    if result.broken is not None:
        b = result.broken
        out.write(
            f"audit chain broken at event {b.event_id} (seal {b.seal_seq}): {b.reason}; "
            f"{result.checked} events verified before it\n"
        )
        return 1
    waiting = f", {result.unsealed} not yet sealed" if result.unsealed else ""
    out.write(f"verified {result.checked} events{waiting}; head {result.head or '-'}\n")
    return 0
