"""Flows 2 to 5 end to end through real PostgreSQL and Kafka: each agency posts in its own
format, and each destination pulls what it may see in its own format."""

from __future__ import annotations

import base64
import hashlib
import uuid

import orjson
import pytest
from lxml import etree

from exchange.settings import REPO_ROOT
from tests.conftest import SHARED
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

FIXTURES = REPO_ROOT / "tests" / "fixtures"
XML = {"Content-Type": "application/xml"}
JSON_TYPE = {"Content-Type": "application/json"}


async def _post(client, headers: dict[str, str], agency: str, body: bytes, kind: dict) -> dict:
    answer = await client.post(f"/{agency}/messages", content=body, headers={**kind, **headers})
    assert answer.status_code == 202, answer.text
    return answer.json()


async def _delivered(client, headers: dict[str, str], agency: str, message_id: str) -> dict:
    """Pull as ``agency`` until the delivery for ``message_id`` is there; acknowledge it."""

    async def probe() -> list[dict]:
        page = await client.get(f"/{agency}/deliveries", headers=headers)
        assert page.status_code == 200, page.text
        return [i for i in page.json()["items"] if i["message_id"] == message_id]

    (item,) = await eventually(probe, what=f"{agency} delivery of {message_id}")
    ack = await client.post(
        f"/{agency}/deliveries/ack", json={"message_ids": [message_id]}, headers=headers
    )
    assert ack.json()["acknowledged"] == [message_id]
    return item


async def test_flow2_charge_request_reaches_cms(client, auth, worker) -> None:
    body = (FIXTURES / "charging" / "charge-request-valid.xml").read_bytes()
    receipt = await _post(client, auth("police", org="01"), "police", body, XML)
    assert receipt["message_type"] == "charge-request"
    item = await _delivered(client, auth("cps"), "cps", receipt["message_id"])
    assert item["format"] == "cms-charge-request-json"
    assert item["case_urn"] == "01ZD0300124"
    assert receipt["message_id"] in orjson.dumps(item["body"]).decode()


async def test_flow3_charging_decision_reaches_police_linked_to_request(
    client, auth, worker
) -> None:
    request = (FIXTURES / "charging" / "charge-request-valid.xml").read_bytes()
    asked = await _post(client, auth("police", org="01"), "police", request, XML)
    decision = orjson.loads((FIXTURES / "charging" / "charging-decision-charge.json").read_bytes())
    decision["requestMessageId"] = asked["message_id"]
    receipt = await _post(client, auth("cps"), "cps", orjson.dumps(decision), JSON_TYPE)
    assert receipt["message_type"] == "charging-decision"
    assert "warnings" not in receipt or all(
        w["code"] != "CAUSATION_UNKNOWN" for w in receipt["warnings"]
    )
    item = await _delivered(client, auth("police", org="01"), "police", receipt["message_id"])
    assert item["format"] == "police-charging-decision-xml"
    xml = etree.fromstring(item["body"]["xml"].encode())
    assert receipt["message_id"] in etree.tostring(xml).decode()

    state = (await client.get(f"/messages/{receipt['message_id']}", headers=auth("ops"))).json()
    envelope = state["canonical"]["envelope"]
    assert envelope["causation_id"] == asked["message_id"]
    assert envelope["correlation_id"] == asked["message_id"]


async def test_flow4_documents_served_become_a_court_bundle(client, auth, worker) -> None:
    body = (FIXTURES / "cps" / "documents-served.json").read_bytes()
    receipt = await _post(client, auth("cps"), "cps", body, JSON_TYPE)
    assert receipt["message_type"] == "court-bundle"
    item = await _delivered(client, auth("court"), "court", receipt["message_id"])
    assert item["format"] == "dcs-bundle-json"
    served = orjson.loads(body)
    first = served["sections"][0]["documents"][0]
    expected = base64.b64decode(first["content"])
    link = f"/documents/{hashlib.sha256(expected).hexdigest()}"
    assert link in orjson.dumps(item["body"]).decode()
    fetched = await client.get(link, headers=auth("court"))
    assert fetched.status_code == 200
    assert fetched.content == expected


async def test_flow4_cp20_xml_is_accepted(client, auth, worker) -> None:
    body = (FIXTURES / "cps" / "cp20-documents-served.xml").read_bytes()
    receipt = await _post(client, auth("cps"), "cps", body, XML)
    item = await _delivered(client, auth("court"), "court", receipt["message_id"])
    assert item["format"] == "dcs-bundle-json"


async def test_flow4_a_50_mb_bundle_goes_through_by_claim_check(client, auth, worker, hub) -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * (50 * 1024 * 1024 // 256)
    served = orjson.loads((FIXTURES / "cps" / "documents-served.json").read_bytes())
    served["sections"] = served["sections"][:1]
    served["sections"][0]["documents"][0]["content"] = base64.b64encode(pdf).decode()
    receipt = await _post(client, auth("cps"), "cps", orjson.dumps(served), JSON_TYPE)
    item = await _delivered(client, auth("court"), "court", receipt["message_id"])
    assert len(orjson.dumps(item["body"])) < 64 * 1024
    link = f"/documents/{hashlib.sha256(pdf).hexdigest()}"
    fetched = await client.get(link, headers=auth("court"))
    assert fetched.status_code == 200
    assert len(fetched.content) == len(pdf)
    assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(pdf).digest()


RESULTS = SHARED / "samples" / "bichard-e2e" / "results" / "013-extra-offence-on-pnc.xml"


@pytest.mark.skipif(not RESULTS.exists(), reason="needs ../shared/samples")
async def test_flow5_court_results_reach_police_and_cps(client, auth, worker) -> None:
    receipt = await _post(client, auth("court"), "court", RESULTS.read_bytes(), XML)
    assert receipt["message_type"] == "hearing-outcome"
    police = await _delivered(client, auth("police"), "police", receipt["message_id"])
    assert police["format"] == "police-outcome-xml"
    assert etree.fromstring(police["body"]["xml"].encode()) is not None
    cps = await _delivered(client, auth("cps"), "cps", receipt["message_id"])
    assert cps["format"] == "cms-outcome-json"
    assert "finalisation" in orjson.dumps(cps["body"]).decode().lower()


async def test_invalid_charging_decision_is_rejected_with_json_pointers(client, auth) -> None:
    body = (FIXTURES / "charging" / "charging-decision-invalid-schema.json").read_bytes()
    answer = await client.post("/cps/messages", content=body, headers={**JSON_TYPE, **auth("cps")})
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert errors
    assert all(e["location"].startswith("/") for e in errors)


async def test_unknown_json_document_type_is_415(client, auth) -> None:
    answer = await client.post(
        "/cps/messages",
        content=orjson.dumps({"documentType": "Mystery", "id": str(uuid.uuid4())}),
        headers={**JSON_TYPE, **auth("cps")},
    )
    assert answer.status_code == 415
    assert answer.json()["errors"][0]["code"] == "FORMAT_UNSUPPORTED"
