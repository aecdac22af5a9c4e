"""Flow 1 through real PostgreSQL and Kafka: a police new case reaches CMS and the court."""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from exchange.bootstrap import Hub
from exchange.db.tables import messages, outbox
from exchange.domain.envelope import MessageType
from exchange.messaging.topics import topic_for
from tests.support.samples import DEMO_CASE, DEMO_PTIURN, new_case
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

XML = {"Content-Type": "application/xml"}


async def _post(client: httpx.AsyncClient, auth, body: bytes, **headers: str) -> httpx.Response:
    return await client.post(
        "/police/messages", content=body, headers={**XML, **auth("police", org="01"), **headers}
    )


async def test_police_case_reaches_cms_and_court(client, auth, worker) -> None:
    answer = await _post(client, auth, DEMO_CASE)
    assert answer.status_code == 202, answer.text
    receipt = answer.json()
    message_id = receipt["message_id"]
    assert receipt["case_urn"] == DEMO_PTIURN
    assert receipt["message_type"] == "case-file"
    assert answer.headers["location"] == f"/messages/{message_id}"

    async def pull(agency: str) -> list[dict]:
        page = await client.get(f"/{agency}/deliveries", headers=auth(agency))
        assert page.status_code == 200, page.text
        return page.json()["items"]

    for agency in ("cps", "court"):
        items = await eventually(lambda a=agency: pull(a), what=f"{agency} delivery")
        assert [i["message_id"] for i in items] == [message_id]
        assert items[0]["case_urn"] == DEMO_PTIURN
        assert message_id in orjson.dumps(items[0]["body"]).decode()
        ack = await client.post(
            f"/{agency}/deliveries/ack", json={"message_ids": [message_id]}, headers=auth(agency)
        )
        assert ack.json() == {"acknowledged": [message_id], "unknown": []}

    state = await client.get(f"/messages/{message_id}", headers=auth("ops"))
    assert state.status_code == 200
    body = state.json()
    assert body["status"] == "acknowledged"
    events = [e["event"] for e in body["events"]]
    assert events[0] == "validated"
    # Kafka may hand the record to a consumer before the relay's transaction that records
    # "routed" commits, so "routed" is there but not always before the deliveries.
    assert events.count("routed") == 1
    assert events.count("delivery.available") == 2
    assert events.count("delivery.acknowledged") == 2


async def test_published_record_is_keyed_by_ptiurn_with_headers(client, auth, worker, hub: Hub):
    answer = await _post(client, auth, new_case("01ZD0312626"))
    assert answer.status_code == 202
    message_id = answer.json()["message_id"]
    consumer = AIOKafkaConsumer(
        topic_for(MessageType.CASE_FILE, prefix=hub.settings.topic_prefix),
        bootstrap_servers=hub.settings.kafka_bootstrap,
        group_id=f"probe-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert record.key == b"01ZD0312626"
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["message-id"] == message_id
    assert headers["type"] == "case-file"
    assert headers["schema-version"] == "1.0"
    assert headers["source"] == "police/NSPIS"
    assert headers["content-type"] == "application/vnd.cjs.canonical+json"
    assert headers["traceparent"].startswith("00-")
    assert {"correlation-id"} <= headers.keys()
    value = orjson.loads(record.value)
    assert value["envelope"]["message_id"] == message_id
    assert value["payload"]


async def test_same_idempotency_key_twice_gives_one_message(client, auth, hub: Hub) -> None:
    first = await _post(client, auth, DEMO_CASE, **{"Idempotency-Key": "k-1"})
    second = await _post(client, auth, DEMO_CASE, **{"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    async with hub.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(messages))).scalar() == 1
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar() == 1


async def test_blind_retry_without_key_is_the_same_message(client, auth) -> None:
    first = await _post(client, auth, DEMO_CASE)
    second = await _post(client, auth, DEMO_CASE)
    assert first.json()["message_id"] == second.json()["message_id"]


async def test_key_reused_for_another_document_is_a_conflict(client, auth) -> None:
    await _post(client, auth, DEMO_CASE, **{"Idempotency-Key": "k-2"})
    other = await _post(client, auth, new_case("01ZD0399926"), **{"Idempotency-Key": "k-2"})
    assert other.status_code == 409
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_malformed_xml_is_rejected_with_location_and_kept(client, auth) -> None:
    broken = DEMO_CASE.replace(b"</PTIURN>", b"</PTIURNX>")
    answer = await _post(client, auth, broken)
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == "rejected"
    error = body["errors"][0]
    assert error["code"] == "XML_MALFORMED"
    assert error["line"] == 5
    kept = await client.get(f"/messages/{body['message_id']}", headers=auth("ops"))
    assert kept.status_code == 200
    assert kept.json()["status"] == "rejected"


async def test_schema_invalid_case_lists_every_error_with_path(client, auth) -> None:
    bad = DEMO_CASE.replace(b"2026-12-07", b"2026-13-07").replace(
        b"<Gender>1</Gender>", b"<Gender>male</Gender>"
    )
    answer = await _post(client, auth, bad)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert len(errors) >= 2
    assert all(e["code"] == "SCHEMA_INVALID" and e["location"] and e["line"] for e in errors)
    assert {e["location"].rsplit("/", 1)[1] for e in errors} >= {"DateOfHearing", "Gender"}


async def test_wrong_content_type_and_no_token(client, auth) -> None:
    wrong = await client.post(
        "/police/messages",
        content=DEMO_CASE,
        headers={"Content-Type": "application/json", **auth("police", org="01")},
    )
    assert wrong.status_code == 415
    assert wrong.json()["code"] == "CONTENT_TYPE_UNSUPPORTED"
    anonymous = await client.post("/police/messages", content=DEMO_CASE, headers=XML)
    assert anonymous.status_code == 401
    cps_posting_as_police = await client.post(
        "/police/messages", content=DEMO_CASE, headers={**XML, **auth("cps")}
    )
    assert cps_posting_as_police.status_code == 403
