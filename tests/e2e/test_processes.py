"""The hub as a user runs it: `exchange serve` and `exchange worker` as separate processes,
driven over HTTP, against the real PostgreSQL and Kafka started for the test session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exchange.auth import LocalIssuer
from exchange.settings import Settings
from tests.support.processes import HubProcesses
from tests.support.samples import DEMO_CASE, DEMO_PTIURN

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub_processes(settings: Settings, tmp_path: Path) -> Iterator[str]:
    hub = HubProcesses(settings, tmp_path)
    try:
        hub.start()
        yield hub.base
    finally:
        codes = hub.stop()
    assert all(code in (0, -15) for code in codes), (codes, hub.tails())


def test_police_case_reaches_cms_through_the_running_hub(
    hub_processes: str, issuer: LocalIssuer
) -> None:
    base = hub_processes
    police = {"Authorization": f"Bearer {issuer.token('force-01', ['police'], '01')}"}
    cms = {"Authorization": f"Bearer {issuer.token('cms', ['cps'])}"}
    court = {"Authorization": f"Bearer {issuer.token('dcs', ['court'])}"}
    answer = httpx.post(
        f"{base}/police/messages",
        content=DEMO_CASE,
        headers={**police, "Content-Type": "application/xml", "Idempotency-Key": "e2e-1"},
    )
    assert answer.status_code == 202, answer.text
    message_id = answer.json()["message_id"]

    for agency, headers in (("cps", cms), ("court", court)):
        deadline = time.monotonic() + 30
        items: list[dict[str, object]] = []
        while not items and time.monotonic() < deadline:
            items = httpx.get(f"{base}/{agency}/deliveries", headers=headers).json()["items"]
            time.sleep(0.1)
        assert [i["message_id"] for i in items] == [message_id], agency
        assert items[0]["case_urn"] == DEMO_PTIURN
        ack = httpx.post(
            f"{base}/{agency}/deliveries/ack", json={"message_ids": [message_id]}, headers=headers
        )
        assert ack.json()["acknowledged"] == [message_id]

    docs = httpx.get(f"{base}/openapi.json").json()
    assert "/police/messages" in docs["paths"]
