"""Replaying parked messages through the ops API, on real PostgreSQL and Kafka."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from exchange.db.tables import audit_events, messages, outbox
from tests.ops.conftest import BUNDLE_CONSUMER, court_delivery, parked, post_bundle

pytestmark = pytest.mark.integration


async def test_a_court_that_did_not_get_a_bundle_gets_it_after_a_replay(
    client, auth, worker, hub, court_renderer
) -> None:
    court_renderer.broken = True
    receipt = await post_bundle(client, auth, urn="01ZD0312526")
    failure = await parked(client, auth, receipt["message_id"])
    assert failure["consumer"] == BUNDLE_CONSUMER
    assert failure["error_code"] == "DCS_TEMPLATE_MISSING"

    found = await client.get(
        "/ops/failures", params={"case_urn": "01zd0312526"}, headers=auth("ops")
    )
    assert [f["id"] for f in found.json()["items"]] == [failure["id"]]

    dry = await client.post(
        "/ops/replays/dry-run", json={"failure_ids": [failure["id"]]}, headers=auth("ops")
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["count"] == 1
    assert dry.json()["by_error_code"] == {"DCS_TEMPLATE_MISSING": 1}

    court_renderer.broken = False  # the template was deployed
    done = await client.post(
        "/ops/replays",
        json={"failure_ids": [failure["id"]], "reason": "DCS template deployed (INC-42)"},
        headers=auth("ops", client="ops-jo"),
    )
    assert done.status_code == 200, done.text
    assert done.json()["replayed"] == 1

    item = await court_delivery(client, auth, receipt["message_id"])
    assert item["format"] == "dcs-bundle-json"

    async with hub.engine.connect() as conn:
        row = (
            await conn.execute(select(messages).where(messages.c.message_id == item["message_id"]))
        ).one()
        assert row.replay_count == 1
        sent = (
            (
                await conn.execute(
                    select(outbox.c.headers)
                    .where(outbox.c.message_id == row.message_id)
                    .order_by(outbox.c.id)
                )
            )
            .scalars()
            .all()
        )
        replayed = sent[-1]
        assert replayed["replay-count"] == "1"
        assert replayed["message-id"] == receipt["message_id"]  # destinations de-duplicate
        events = (
            await conn.execute(
                select(audit_events)
                .where(audit_events.c.message_id == row.message_id)
                .where(audit_events.c.event == "replayed")
            )
        ).all()
    assert [(e.actor, e.detail["reason"]) for e in events] == [
        ("ops-jo", "DCS template deployed (INC-42)")
    ]
    state = await client.get(f"/ops/messages/{receipt['message_id']}", headers=auth("ops"))
    detail = state.json()
    assert [f["status"] for f in detail["failures"]] == ["replayed"]
    # The CMS copy is not delivered twice: only the court consumer applied the replay.
    assert [d["destination"] for d in detail["deliveries"]] == ["court"]


async def test_a_replay_needs_a_reason_and_the_ops_role(client, auth, worker, court_renderer):
    court_renderer.broken = True
    receipt = await post_bundle(client, auth)
    failure = await parked(client, auth, receipt["message_id"])
    no_reason = await client.post(
        "/ops/replays", json={"failure_ids": [failure["id"]], "reason": ""}, headers=auth("ops")
    )
    assert no_reason.status_code == 422
    as_court = await client.post(
        "/ops/replays",
        json={"failure_ids": [failure["id"]], "reason": "because"},
        headers=auth("court"),
    )
    assert as_court.status_code == 403


async def test_the_loop_guard_refuses_a_message_replayed_too_often(
    client, auth, worker, court_renderer
) -> None:
    court_renderer.broken = True  # it stays broken: each replay parks it again
    receipt = await post_bundle(client, auth)
    ids = []
    for attempt in range(3):
        failure = await _newest_parked(client, auth, receipt["message_id"], attempt + 1)
        ids.append(failure["id"])
        done = await client.post(
            "/ops/replays",
            json={"failure_ids": [failure["id"]], "reason": "try again", "canary": 0},
            headers=auth("ops"),
        )
        assert done.json()["replayed"] == 1, done.text
    last = await _newest_parked(client, auth, receipt["message_id"], 4)
    assert last["replay_count"] == 3
    dry = await client.post(
        "/ops/replays/dry-run", json={"failure_ids": [last["id"]]}, headers=auth("ops")
    )
    assert dry.json()["count"] == 0
    assert "replayed 3 times already" in dry.json()["refused"][0]["reason"]
    refused = await client.post(
        "/ops/replays",
        json={"failure_ids": [last["id"]], "reason": "once more"},
        headers=auth("ops"),
    )
    assert refused.json()["replayed"] == 0


async def _newest_parked(client, auth, message_id: str, count: int) -> dict:
    from tests.support.wait import eventually

    async def probe() -> list[dict]:
        page = await client.get(
            "/ops/failures",
            params={"message_id": message_id, "status": "parked"},
            headers=auth("ops"),
        )
        return page.json()["items"]

    async def all_failures() -> list[dict]:
        page = await client.get(
            "/ops/failures",
            params={"message_id": message_id, "status": "any"},
            headers=auth("ops"),
        )
        return page.json()["items"]

    await eventually(all_failures, lambda v: len(v) >= count, what=f"{count} failures")
    (found,) = await eventually(probe, what="a parked failure")
    return found


async def test_a_canary_that_fails_again_stops_the_batch(client, auth, worker, court_renderer):
    court_renderer.broken = True
    receipts = [await post_bundle(client, auth) for _ in range(3)]
    for r in receipts:
        await parked(client, auth, r["message_id"])
    dry = await client.post(
        "/ops/replays/dry-run",
        json={"filter": {"error_code": "DCS_TEMPLATE_MISSING"}},
        headers=auth("ops"),
    )
    assert dry.json()["count"] == 3
    done = await client.post(
        "/ops/replays",
        json={
            "filter": {"error_code": "DCS_TEMPLATE_MISSING"},
            "reason": "after the fix",
            "canary": 1,
        },
        headers=auth("ops"),
    )
    body = done.json()
    assert body["replayed"] == 1
    assert body["canary_failed"] == body["canary"]
    assert "were not replayed" in body["stopped"]


async def test_a_canary_that_succeeds_lets_the_rest_through(client, auth, worker, court_renderer):
    court_renderer.broken = True
    receipts = [await post_bundle(client, auth) for _ in range(3)]
    for r in receipts:
        await parked(client, auth, r["message_id"])
    court_renderer.broken = False
    done = await client.post(
        "/ops/replays",
        json={"filter": {"consumer": BUNDLE_CONSUMER}, "reason": "fixed", "canary": 1, "rate": 50},
        headers=auth("ops"),
    )
    body = done.json()
    assert body["replayed"] == 3, body
    assert body["canary_failed"] == []
    for r in receipts:
        await court_delivery(client, auth, r["message_id"])


async def test_a_delivery_never_acknowledged_is_delivered_again(client, auth, worker) -> None:
    receipt = await post_bundle(client, auth)
    first = await court_delivery(client, auth, receipt["message_id"])
    after = (
        await client.get(
            "/court/deliveries", params={"cursor": first["cursor"]}, headers=auth("court")
        )
    ).json()
    assert all(i["message_id"] != receipt["message_id"] for i in after["items"])
    again = await client.post(
        "/ops/deliveries/replay",
        json={
            "message_id": receipt["message_id"],
            "destination": "court",
            "reason": "court lost it (call 123)",
        },
        headers=auth("ops"),
    )
    assert again.status_code == 200, again.text
    page = (
        await client.get(
            "/court/deliveries", params={"cursor": first["cursor"]}, headers=auth("court")
        )
    ).json()
    assert [i["message_id"] for i in page["items"]] == [receipt["message_id"]]
    ack = await client.post(
        "/court/deliveries/ack",
        json={"message_ids": [receipt["message_id"]]},
        headers=auth("court"),
    )
    assert ack.status_code == 200
    refused = await client.post(
        "/ops/deliveries/replay",
        json={"message_id": receipt["message_id"], "destination": "court", "reason": "again"},
        headers=auth("ops"),
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "DELIVERY_ACKNOWLEDGED"
