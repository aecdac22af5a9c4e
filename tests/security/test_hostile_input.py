"""Hostile documents over HTTP and through ``exchange validate``: each gets a clear 4xx with a
stable code, quickly, and every rejected document that got past the size limit is kept."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from exchange.devservices.ports import free_ports
from exchange.formats import LIBRA_NS
from exchange.settings import Settings
from tests.support.samples import DEMO_CASE

pytestmark = pytest.mark.integration

XML = {"Content-Type": "application/xml"}
JSON_TYPE = {"Content-Type": "application/json"}
DTD = b'<?xml version="1.0"?>\n'
NEW_CASE = f'<NewCaseMessage xmlns="{LIBRA_NS}">'.encode()

HOSTILE_XML: dict[str, tuple[bytes, str]] = {
    "xxe": (
        DTD
        + b'<!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + NEW_CASE
        + b"&e;</NewCaseMessage>",
        "XML_DTD_FORBIDDEN",
    ),
    "external-dtd": (
        DTD
        + b'<!DOCTYPE m SYSTEM "http://127.0.0.1:9/evil.dtd">'
        + NEW_CASE
        + b"</NewCaseMessage>",
        "XML_DTD_FORBIDDEN",
    ),
    "billion-laughs": (
        DTD
        + b'<!DOCTYPE m [<!ENTITY a "lol">'
        + b"".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)
        )
        + b"]>"
        + NEW_CASE
        + b"&j;</NewCaseMessage>",
        "XML_DTD_FORBIDDEN",
    ),
    "deep-nesting": (b"<a>" * 50_000 + b"</a>" * 50_000, "XML_TOO_DEEP"),
    "invalid-utf8": (DEMO_CASE.replace(b"Stole", b"St\xff\xfele"), "XML_ENCODING"),
    "wrong-namespace": (
        DEMO_CASE.replace(LIBRA_NS.encode(), b"urn:not-libra", 1),
        "FORMAT_UNSUPPORTED",
    ),
    "not-well-formed": (DEMO_CASE[: len(DEMO_CASE) // 2], "XML_MALFORMED"),
}

HOSTILE_JSON: dict[str, tuple[bytes, set[str]]] = {
    "deep-arrays": (b"[" * 200_000 + b"]" * 200_000, {"JSON_MALFORMED", "JSON_TOO_DEEP"}),
    "deep-objects": (
        b'{"documentType":"ChargingDecision","x":' + b'{"a":' * 900 + b"1" + b"}" * 901,
        {"JSON_TOO_DEEP"},
    ),
    "huge-array": (
        orjson.dumps({"documentType": "ChargingDecision", "charges": [0] * 400_000}),
        {"JSON_TOO_MANY_VALUES", "JSON_TOO_LARGE"},
    ),
    "invalid-utf8": (b'{"documentType":"ChargingDecision","a":"\xff"}', {"JSON_MALFORMED"}),
}


async def _kept(client, auth, message_id: str) -> None:  # type: ignore[no-untyped-def]
    kept = await client.get(f"/messages/{message_id}", headers=auth("ops"))
    assert kept.status_code == 200
    assert kept.json()["status"] == "rejected"


@pytest.mark.parametrize("name", list(HOSTILE_XML))
async def test_hostile_xml_is_refused_and_kept(client, auth, name: str) -> None:
    body, code = HOSTILE_XML[name]
    started = time.monotonic()
    answer = await client.post(
        "/police/messages", content=body, headers={**XML, **auth("police", org="01")}
    )
    assert time.monotonic() - started < 5
    assert answer.status_code == (415 if code == "FORMAT_UNSUPPORTED" else 422), answer.text
    found = answer.json()
    assert found["errors"][0]["code"] == code
    assert "root:" not in answer.text  # /etc/passwd never comes back
    await _kept(client, auth, found["message_id"])


@pytest.mark.parametrize("name", list(HOSTILE_JSON))
async def test_json_bombs_are_refused_and_kept(client, auth, name: str) -> None:
    body, codes = HOSTILE_JSON[name]
    started = time.monotonic()
    answer = await client.post("/cps/messages", content=body, headers={**JSON_TYPE, **auth("cps")})
    assert time.monotonic() - started < 5
    assert answer.status_code == 422, answer.text
    found = answer.json()
    assert {e["code"] for e in found["errors"]} <= codes
    assert len(found["errors"]) == 1
    await _kept(client, auth, found["message_id"])


async def test_documents_served_with_a_huge_array_is_refused_quickly(client, auth) -> None:
    body = orjson.dumps(
        {"documentType": "DocumentsServed", "sections": [{"documents": [{}] * 5000}]}
    )
    started = time.monotonic()
    answer = await client.post("/cps/messages", content=body, headers={**JSON_TYPE, **auth("cps")})
    assert answer.status_code == 422
    assert len(answer.json()["errors"]) <= 100
    assert time.monotonic() - started < 1


async def test_oversized_body_is_413(client, auth) -> None:
    answer = await client.post(
        "/police/messages",
        content=b"<a>" + b" " * (6 * 1024 * 1024) + b"</a>",
        headers={**XML, **auth("police", org="01")},
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", DEMO_CASE),
        ("application/xml", b'{"documentType":"ChargingDecision"}'),
        ("text/plain", DEMO_CASE),
        ("", DEMO_CASE),
    ],
)
async def test_content_type_mismatch_is_415(client, auth, content_type: str, body: bytes) -> None:
    headers = {**auth("police", org="01"), "Content-Type": content_type}
    answer = await client.post("/police/messages", content=body, headers=headers)
    assert answer.status_code == 415
    assert answer.json()["code"] == "CONTENT_TYPE_UNSUPPORTED"


# --- a real server: what only a socket can send ------------------------------------------


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, int]]:
    (port,) = free_ports(1)
    env = {
        **os.environ,
        "EXCHANGE_ENVIRONMENT": "test",
        "EXCHANGE_DATABASE_URL": settings.database_url,
        "EXCHANGE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "EXCHANGE_RUN_DIR": str(settings.run_dir),
        "EXCHANGE_BODY_READ_TIMEOUT_SECONDS": "1",
    }
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "exchange.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "api.log").read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "API did not start"
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _exchange(address: tuple[str, int], chunks: list[bytes], pause: float = 0.0) -> bytes:
    """Send raw bytes (pausing between chunks), return what the server answered."""
    with socket.create_connection(address, timeout=10) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
            time.sleep(pause)
        answer = b""
        while True:
            try:
                part = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not part:
                break
            answer += part
    return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


async def test_oversized_headers_and_slow_bodies_get_4xx(server, issuer) -> None:
    host, port = server
    token = issuer.token("slow-police", ["police"], "01")
    huge = b"X-Padding: " + b"a" * 200_000 + b"\r\n"
    request = b"GET /health/live HTTP/1.1\r\nHost: hub\r\n" + huge + b"\r\n"
    answer = await asyncio.to_thread(_exchange, server, [request])
    assert _status(answer) == 431, answer[:300]
    assert b"HEADERS_TOO_LARGE" in answer

    started = time.monotonic()
    head = (
        b"POST /police/messages HTTP/1.1\r\nHost: hub\r\nContent-Type: application/xml\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 1000\r\n\r\n<a>"
    )
    answer = await asyncio.to_thread(_exchange, server, [head])
    assert _status(answer) == 408, answer[:300]
    assert b"BODY_TIMEOUT" in answer
    assert time.monotonic() - started < 15

    alive = await asyncio.to_thread(httpx.get, f"http://{host}:{port}/health/live", timeout=5)
    assert alive.status_code == 200


# --- exchange validate treats the same files the same way ---------------------------------


def test_validate_command_refuses_the_same_files(tmp_path: Path) -> None:
    paths = []
    expected = {}
    for name, (body, code) in HOSTILE_XML.items():
        path = tmp_path / f"{name}.xml"
        path.write_bytes(body)
        paths.append(str(path))
        expected[str(path)] = {code}
    for name, (body, codes) in HOSTILE_JSON.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(body)
        paths.append(str(path))
        expected[str(path)] = codes
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "exchange.cli", "validate", *paths],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < 30
    assert done.returncode == 1, done.stderr.decode()[-2000:]
    lines = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [line["path"] for line in lines] == paths
    for line in lines:
        assert line["valid"] is False
        assert {e["code"] for e in line["errors"]} <= expected[line["path"]], line
