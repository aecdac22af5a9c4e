"""Searching messages and failures: filters, keyset pages, and index use (EXPLAIN)."""

from __future__ import annotations

import datetime as dt
import json
import re

import orjson
import pytest
from sqlalchemy import text

from exchange.ops.search import FailureFilter, MessageFilter, failure_query, message_query
from exchange.settings import REPO_ROOT

pytestmark = pytest.mark.integration

CHARGING = REPO_ROOT / "tests" / "fixtures" / "charging"
XML = {"Content-Type": "application/xml"}
JSON_TYPE = {"Content-Type": "application/json"}


async def _seed(client, auth) -> dict[str, str]:
    """A charge request (urn 01ZD0300124), its decision, and two rejected documents."""
    ok = await client.post(
        "/police/messages",
        content=(CHARGING / "charge-request-valid.xml").read_bytes(),
        headers={**XML, **auth("police", org="01")},
    )
    assert ok.status_code == 202, ok.text
    decision = orjson.loads((CHARGING / "charging-decision-charge.json").read_bytes())
    decision["requestMessageId"] = ok.json()["message_id"]
    answered = await client.post(
        "/cps/messages", content=orjson.dumps(decision), headers={**JSON_TYPE, **auth("cps")}
    )
    assert answered.status_code == 202, answered.text
    bad = await client.post(
        "/police/messages",
        content=(CHARGING / "charge-request-invalid-rules.xml").read_bytes(),
        headers={**XML, **auth("police", org="01")},
    )
    assert bad.status_code == 422
    worse = await client.post(
        "/cps/messages",
        content=(CHARGING / "charging-decision-invalid-schema.json").read_bytes(),
        headers={**JSON_TYPE, **auth("cps")},
    )
    assert worse.status_code == 422
    return {
        "request": ok.json()["message_id"],
        "decision": answered.json()["message_id"],
        "bad": bad.json()["message_id"],
        "bad_code": bad.json()["errors"][0]["code"],
    }


async def _ids(client, auth, **params) -> list[str]:
    page = await client.get("/ops/messages", params=params, headers=auth("ops"))
    assert page.status_code == 200, page.text
    return [i["message_id"] for i in page.json()["items"]]


async def test_messages_are_found_by_each_business_key(client, auth) -> None:
    seeded = await _seed(client, auth)
    assert await _ids(client, auth, case_urn="01ZD0300124") == [
        seeded["decision"],
        seeded["request"],
    ]
    by_asn = await _ids(client, auth, asn="2401ZD0100000448754W")
    assert seeded["request"] in by_asn
    assert seeded["bad"] not in by_asn
    assert seeded["request"] in await _ids(client, auth, asn="2401zd0100000448754w")
    assert await _ids(client, auth, message_type="charging-decision") == [seeded["decision"]]
    assert seeded["bad"] in await _ids(client, auth, status="rejected")
    assert await _ids(client, auth, error_code=seeded["bad_code"]) == [seeded["bad"]]
    assert set(await _ids(client, auth, agency="police")) == {seeded["request"], seeded["bad"]}
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert await _ids(client, auth, since=later) == []
    assert len(await _ids(client, auth, until=later)) == 4


async def test_pages_follow_a_keyset_cursor_without_gaps_or_repeats(client, auth) -> None:
    await _seed(client, auth)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/ops/messages", params=params, headers=auth("ops"))).json()
        seen += [i["message_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    assert seen == await _ids(client, auth)
    bad = await client.get("/ops/messages", params={"cursor": "nonsense"}, headers=auth("ops"))
    assert bad.status_code == 422


async def test_a_message_shows_raw_canonical_errors_and_history(client, auth) -> None:
    seeded = await _seed(client, auth)
    found = (await client.get(f"/ops/messages/{seeded['request']}", headers=auth("ops"))).json()
    assert found["raw"]["text"].startswith("<?xml")
    assert found["canonical"]["envelope"]["message_id"] == seeded["request"]
    assert [e["event"] for e in found["events"]][:1] == ["validated"]
    rejected = (await client.get(f"/ops/messages/{seeded['bad']}", headers=auth("ops"))).json()
    assert rejected["errors"][0]["code"] == seeded["bad_code"]
    assert rejected["canonical"] is None


async def test_search_is_for_ops_only(client, auth) -> None:
    for role in ("police", "cps", "court", "manager"):
        answer = await client.get("/ops/messages", headers=auth(role))
        assert answer.status_code == 403, role


async def _plan(conn, query) -> str:
    compiled = query.compile(dialect=conn.dialect)
    params = tuple(compiled.params[name] for name in compiled.positiontup)
    await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    result = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), params)
    return json.dumps(result.scalar_one())


@pytest.mark.parametrize(
    ("name", "query", "index"),
    [
        ("ptiurn", message_query(MessageFilter(case_urn="01ZD0300124")), "ix_messages_case_urn"),
        ("asn", message_query(MessageFilter(asn="2401ZD0100000448754W")), "ix_messages_asns"),
        (
            "error code",
            message_query(MessageFilter(error_code="ASN_INVALID")),
            "ix_messages_errors",
        ),
        (
            "agency",
            message_query(MessageFilter(agency="police")),
            "ix_messages_source_agency_received_at",
        ),
        (
            "type",
            message_query(MessageFilter(message_type="court-bundle")),
            "ix_messages_message_type_received_at",
        ),
        (
            "status",
            message_query(MessageFilter(status="rejected")),
            "ix_messages_status_received_at",
        ),
        (
            "time",
            message_query(MessageFilter(since=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))),
            "ix_messages_received_at",
        ),
        ("failure code", failure_query(FailureFilter(error_code="X")), "ix_failures_"),
        ("failure urn", failure_query(FailureFilter(case_urn="01ZD0300124")), "ix_failures_"),
        ("parked", failure_query(FailureFilter()), "ix_failures_status_created_at"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_the_main_searches_use_indexes(hub, name, query, index) -> None:
    async with hub.engine.begin() as conn:
        plan = await _plan(conn, query.limit(51))
        # On a partitioned table the plan names each partition's copy of the index.
        copies = (
            await conn.execute(
                text(
                    "SELECT c.relname FROM pg_class p JOIN pg_inherits i ON i.inhparent = p.oid "
                    "JOIN pg_class c ON c.oid = i.inhrelid WHERE p.relname = :index"
                ),
                {"index": index},
            )
        ).scalars()
        expected = {index, *copies}
    assert "Seq Scan" not in plan, plan
    used = set(re.findall(r'"Index Name": "([^"]+)"', plan))
    assert used, plan
    assert all(u in expected or u.startswith(index) for u in used), (used, expected)
