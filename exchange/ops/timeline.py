"""One case's story across agencies: every message of a PTIURN in order, how they link
(correlation and causation), what each destination got and what failed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.db.tables import deliveries, failures, messages
from exchange.domain.errors import NotFound
from exchange.ops.inspect import delivery_dict
from exchange.ops.search import failure_summary

__all__ = ["case_timeline"]


async def case_timeline(conn: AsyncConnection, case_urn: str) -> dict[str, Any]:
    urn = case_urn.strip().upper()
    m = messages.c
    rows = (
        await conn.execute(
            select(
                m.message_id,
                m.message_type,
                m.format,
                m.status,
                m.source_agency,
                m.source_system,
                m.source_org,
                m.correlation_id,
                m.replay_count,
                m.received_at,
                m.errors,
                m.canonical["envelope"]["causation_id"].astext.label("causation_id"),
            )
            .where(m.case_urn == urn)
            .order_by(m.received_at, m.message_id)
        )
    ).all()
    if not rows:
        raise NotFound(f"the hub holds no message for case {urn}")
    sent = defaultdict(list)
    for d in (
        await conn.execute(
            select(deliveries).where(deliveries.c.case_urn == urn).order_by(deliveries.c.seq)
        )
    ).all():
        sent[d.message_id].append(delivery_dict(d))
    parked = defaultdict(list)
    for f in (
        await conn.execute(
            select(*[c for c in failures.c if c.name != "record_value"])
            .where(failures.c.case_urn == urn)
            .order_by(failures.c.id)
        )
    ).all():
        parked[f.message_id].append(failure_summary(f))
    ids = {str(r.message_id) for r in rows}
    entries = []
    for r in rows:
        entries.append(
            {
                "message_id": str(r.message_id),
                "message_type": r.message_type,
                "format": r.format,
                "status": r.status,
                "source": {
                    "agency": r.source_agency,
                    "system": r.source_system,
                    "org": r.source_org,
                },
                "received_at": r.received_at.isoformat(),
                "correlation_id": str(r.correlation_id),
                "causation_id": r.causation_id,
                "caused_by_known": r.causation_id in ids if r.causation_id else None,
                "replay_count": r.replay_count,
                "warnings": [e.get("code") for e in (r.errors or [])],
                "deliveries": sent.get(r.message_id, []),
                "failures": parked.get(r.message_id, []),
            }
        )
    links = [
        {"from": e["causation_id"], "to": e["message_id"], "kind": "caused"}
        for e in entries
        if e["causation_id"]
    ]
    return {
        "case_urn": urn,
        "messages": entries,
        "links": links,
        "correlations": sorted({e["correlation_id"] for e in entries}),
        "open_failures": sum(1 for e in entries for f in e["failures"] if f["status"] == "parked"),
    }
