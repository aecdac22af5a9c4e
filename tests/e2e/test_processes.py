"""The hub as a user runs it: `exchange serve` and `exchange worker` as separate processes,
driven over HTTP, against the real PostgreSQL and Kafka started for the test session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exchange.auth import LocalIssuer
from exchange.devservices.ports import free_ports
from exchange.settings import Settings
from tests.support.samples import DEMO_CASE, DEMO_PTIURN

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub_processes(settings: Settings, tmp_path: Path) -> Iterator[str]:
    (port,) = free_ports(1)
    env = {
        **os.environ,
        "EXCHANGE_ENVIRONMENT": "test",
        "EXCHANGE_DATABASE_URL": settings.database_url,
        "EXCHANGE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "EXCHANGE_TOPIC_PREFIX": settings.topic_prefix,
        "EXCHANGE_TOPIC_PARTITIONS": "3",
        "EXCHANGE_RUN_DIR": str(settings.run_dir),
    }
    logs = [(tmp_path / f"{name}.log").open("wb") for name in ("api", "worker")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "exchange.cli", *args], env=env, stdout=log, stderr=log
        )
        for args, log in ((["serve", "--port", str(port)], logs[0]), (["worker"], logs[1]))
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, procs, tmp_path)
        yield base
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()
    assert all(p.returncode in (0, -15) for p in procs), [p.returncode for p in procs]


def _wait_ready(base: str, procs: list[subprocess.Popen[bytes]], logs: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            pytest.fail("a hub process exited: " + _tails(logs))
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("API not ready in 60 s: " + _tails(logs))


def _tails(logs: Path) -> str:
    return " | ".join(p.read_text()[-2000:] for p in logs.glob("*.log"))


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
