"""Amend and replay, case timelines, shared figures and metrics through the ops API."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from exchange.db.tables import audit_events
from exchange.settings import REPO_ROOT
from tests.ops.conftest import court_delivery, parked, post_bundle, post_charging_case
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

CHARGING = REPO_ROOT / "tests" / "fixtures" / "charging"


async def test_amend_shows_the_diff_validates_and_replays(
    client, auth, worker, hub, court_renderer
) -> None:
    court_renderer.refuse_court = "B01EF01"
    receipt = await post_bundle(client, auth, court="B01EF01")
    failure = await parked(client, auth, receipt["message_id"])
    url = f"/ops/failures/{failure['id']}/amend"
    change = {"pointer": "/payload/case/court_ou", "value": "B01LY00"}

    preview = await client.post(url + "/preview", json={"changes": [change]}, headers=auth("ops"))
    assert preview.status_code == 200, preview.text
    assert preview.json()["diff"] == [
        {"pointer": "/payload/case/court_ou", "old": "B01EF01", "new": "B01LY00"}
    ]
    assert preview.json()["valid"] is True

    invalid = await client.post(
        url + "/preview",
        json={"changes": [{"pointer": "/payload/case/court_ou", "value": ""}]},
        headers=auth("ops"),
    )
    assert invalid.json()["valid"] is False
    assert invalid.json()["issues"][0]["location"] == "/payload/case/court_ou"
    refused = await client.post(
        url,
        json={"changes": [{"pointer": "/payload/case/court_ou", "value": ""}], "reason": "try"},
        headers=auth("ops"),
    )
    assert refused.status_code == 422
    outside = await client.post(
        url + "/preview",
        json={"changes": [{"pointer": "/envelope/message_id", "value": "x"}]},
        headers=auth("ops"),
    )
    assert outside.json()["code"] == "POINTER_INVALID"
    manager = await client.post(
        url, json={"changes": [change], "reason": "x" * 5}, headers=auth("manager")
    )
    assert manager.status_code == 403

    done = await client.post(
        url,
        json={"changes": [change], "reason": "court code mistyped"},
        headers=auth("ops", client="ops-sam"),
    )
    assert done.status_code == 200, done.text
    item = await court_delivery(client, auth, receipt["message_id"])
    assert item["message_id"] == receipt["message_id"]
    assert "B01LY00" in orjson.dumps(item["body"]).decode()
    async with hub.engine.connect() as conn:
        amended = (
            await conn.execute(
                select(audit_events.c.actor, audit_events.c.detail)
                .where(audit_events.c.message_id == failure["message_id"])
                .where(audit_events.c.event == "amended")
            )
        ).one()
    assert amended.actor == "ops-sam"
    assert amended.detail["diff"][0]["new"] == "B01LY00"
    state = (await client.get(f"/ops/messages/{receipt['message_id']}", headers=auth("ops"))).json()
    assert state["canonical"]["payload"]["case"]["court_ou"] == "B01LY00"
    assert '"courtOu":"B01EF01"' in state["raw"]["text"]  # what the CPS sent is kept as sent


async def test_case_timeline_orders_and_links_messages(client, auth, worker) -> None:
    request, decision = await post_charging_case(client, auth)
    bundle = await post_bundle(client, auth, urn="01ZD0300124")
    await court_delivery(client, auth, bundle["message_id"])
    found = await client.get("/ops/cases/01zd0300124/timeline", headers=auth("ops"))
    assert found.status_code == 200, found.text
    t = found.json()
    assert [m["message_id"] for m in t["messages"]] == [request, decision, bundle["message_id"]]
    assert t["links"] == [{"from": request, "to": decision, "kind": "caused"}]
    assert t["messages"][1]["correlation_id"] == request
    assert t["messages"][2]["deliveries"][0]["destination"] == "court"
    missing = await client.get("/ops/cases/99ZZ9999999/timeline", headers=auth("ops"))
    assert missing.status_code == 404


async def test_figures_for_managers_with_csv(client, auth) -> None:
    await post_charging_case(client, auth)
    await client.post(
        "/police/messages",
        content=(CHARGING / "charge-request-invalid-rules.xml").read_bytes(),
        headers={"Content-Type": "application/xml", **auth("police", org="01")},
    )
    f = (await client.get("/ops/figures", headers=auth("manager"))).json()
    police = next(r for r in f["volumes"] if r["agency"] == "police")
    assert (police["org"], police["messages"], police["rejected"]) == ("01", 2, 1)
    assert police["rejection_rate"] == 0.5
    assert police["top_rejections"][0]["count"] >= 1
    (charging,) = f["charging"]
    assert (charging["force"], charging["cps_unit"], charging["requests"]) == ("01", "A01AH00", 1)
    assert charging["decided"] == 1
    assert charging["median_hours"] is not None
    csv = await client.get("/ops/figures/volumes.csv", headers=auth("manager"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("agency,org,messages,rejected,top_rejections")
    assert (await client.get("/ops/figures", headers=auth("police"))).status_code == 403
    assert (await client.get("/ops/figures/nope.csv", headers=auth("ops"))).status_code == 404


async def test_metrics_show_dead_letter_depth_replays_and_lag(
    client, auth, worker, court_renderer
) -> None:
    court_renderer.broken = True
    receipt = await post_bundle(client, auth)
    failure = await parked(client, auth, receipt["message_id"])
    text = (await client.get("/metrics")).text
    assert 'exchange_dead_letter_depth{consumer="court.dcs-bundle-json"} 1.0' in text
    court_renderer.broken = False
    await client.post(
        "/ops/replays",
        json={"failure_ids": [failure["id"]], "reason": "fixed"},
        headers=auth("ops"),
    )
    await court_delivery(client, auth, receipt["message_id"])

    async def scrape() -> str:
        from exchange import metrics

        metrics._cache.at = 0.0  # noqa: SLF001 - skip the scrape cache in the test
        return (await client.get("/metrics")).text

    text = await eventually(
        scrape,
        lambda t: 'exchange_dead_letter_depth{consumer="court.dcs-bundle-json"} 0.0' in t,
        what="the dead-letter depth back to 0",
    )
    assert 'exchange_replays_total{kind="failure",outcome="replayed"}' in text
    assert "exchange_consumer_lag{" in text
