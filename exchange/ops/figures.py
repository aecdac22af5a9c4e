"""Shared figures: one set of numbers every agency reads the same way.

- volumes and file quality per sending organisation (police force, CPS unit, court):
  messages, rejections, rejection rate and the top rejection codes;
- deliveries per receiving organisation and their state;
- charging timeliness per police force and CPS unit: from the charge request's submission to
  the charging decision (joined by causation: the decision's ``causation_id`` is the request's
  message id), median and 90th percentile hours, and requests still waiting;
- charge to first court bundle per court: from a decision to charge to the first bundle the
  CPS served for that case.

Every query is bounded by a time window on an indexed ``received_at``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["TABLES", "figures", "to_csv"]

_VOLUMES = text(
    """
    WITH sent AS (
      SELECT source_agency AS agency, coalesce(source_org, 'national') AS org, status, errors
      FROM messages WHERE received_at >= :since AND received_at < :until
    ), codes AS (
      SELECT agency, org, e->>'code' AS code, count(*) AS n
      FROM sent, jsonb_array_elements(coalesce(errors, '[]'::jsonb)) e
      WHERE status = 'rejected' GROUP BY 1, 2, 3
    ), ranked AS (
      SELECT agency, org, code, n,
             row_number() OVER (PARTITION BY agency, org ORDER BY n DESC, code) AS r
      FROM codes
    )
    SELECT s.agency, s.org, count(*) AS messages,
           count(*) FILTER (WHERE s.status = 'rejected') AS rejected,
           (SELECT coalesce(jsonb_agg(jsonb_build_object('code', code, 'count', n)
                    ORDER BY r), '[]'::jsonb)
            FROM ranked k WHERE k.agency = s.agency AND k.org = s.org AND k.r <= 5)
             AS top_rejections
    FROM sent s GROUP BY s.agency, s.org ORDER BY s.agency, s.org
    """
)

_DELIVERIES = text(
    """
    SELECT destination, coalesce(destination_org, 'national') AS org, count(*) AS deliveries,
           count(*) FILTER (WHERE status = 'acknowledged') AS acknowledged,
           count(*) FILTER (WHERE status IN ('available', 'taken')) AS waiting,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY
             extract(epoch FROM acknowledged_at - created_at) / 3600.0)
             FILTER (WHERE acknowledged_at IS NOT NULL) AS median_hours_to_ack
    FROM deliveries WHERE created_at >= :since AND created_at < :until
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)

_CHARGING = text(
    """
    WITH req AS (
      SELECT message_id, left(case_urn, 2) AS force,
             coalesce(canonical->'payload'->>'cps_organisation', 'unknown') AS cps_unit,
             (canonical->'payload'->>'submitted_at')::timestamptz AS asked
      FROM messages
      WHERE message_type = 'charge-request' AND received_at >= :since AND received_at < :until
        AND status <> 'rejected'
    ), dec AS (
      SELECT DISTINCT ON (r.message_id) r.message_id,
             (d.canonical->'payload'->>'decided_at')::timestamptz AS decided
      FROM req r JOIN messages d
        ON d.canonical->'envelope'->>'causation_id' = r.message_id::text
       AND d.message_type = 'charging-decision'
      ORDER BY r.message_id, d.received_at
    )
    SELECT r.force, r.cps_unit, count(*) AS requests, count(d.message_id) AS decided,
           count(*) - count(d.message_id) AS waiting,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY
             extract(epoch FROM d.decided - r.asked) / 3600.0) AS median_hours,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY
             extract(epoch FROM d.decided - r.asked) / 3600.0) AS p90_hours
    FROM req r LEFT JOIN dec d ON d.message_id = r.message_id
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)

_CHARGE_TO_BUNDLE = text(
    """
    WITH charged AS (
      SELECT case_urn, min((canonical->'payload'->>'decided_at')::timestamptz) AS charged_at
      FROM messages
      WHERE message_type = 'charging-decision' AND received_at >= :since
        AND received_at < :until AND status <> 'rejected'
        AND canonical->'payload'->'suspect_decisions' @> '[{"outcome": "charge"}]'
      GROUP BY case_urn
    ), bundle AS (
      SELECT DISTINCT ON (c.case_urn) c.case_urn, c.charged_at,
             b.canonical->'payload'->'case'->>'court_ou' AS court, b.received_at AS served
      FROM charged c JOIN messages b
        ON b.case_urn = c.case_urn AND b.message_type = 'court-bundle'
       AND b.status <> 'rejected' AND b.received_at >= c.charged_at
      ORDER BY c.case_urn, b.received_at
    )
    SELECT coalesce(court, 'unknown') AS court, count(*) AS cases,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY
             extract(epoch FROM served - charged_at) / 86400.0) AS median_days,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY
             extract(epoch FROM served - charged_at) / 86400.0) AS p90_days
    FROM bundle GROUP BY 1 ORDER BY 1
    """
)

TABLES = {
    "volumes": _VOLUMES,
    "deliveries": _DELIVERIES,
    "charging": _CHARGING,
    "charge_to_bundle": _CHARGE_TO_BUNDLE,
}


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    return value


async def figures(conn: AsyncConnection, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """Every table of shared figures for the window [since, until)."""
    result: dict[str, Any] = {"since": since.isoformat(), "until": until.isoformat()}
    for name, query in TABLES.items():
        rows = (await conn.execute(query, {"since": since, "until": until})).mappings().all()
        result[name] = [{k: _clean(v) for k, v in r.items()} for r in rows]
    for row in result["volumes"]:
        row["rejection_rate"] = (
            round(row["rejected"] / row["messages"], 4) if row["messages"] else 0
        )
    return result


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One table as CSV (nested values, e.g. top rejections, as ``code:count`` lists)."""
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: "; ".join(f"{i['code']}:{i['count']}" for i in v) if isinstance(v, list) else v
                for k, v in row.items()
            }
        )
    return out.getvalue()
