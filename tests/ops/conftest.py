"""Fixtures for the ops tests: a hub whose court bundle renderer can be broken on purpose
(a test-only adapter built through ``Registry``), and the ops routers on the test app."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from exchange import metrics
from exchange.api import console, ops
from exchange.api.app import create_app
from exchange.bootstrap import Hub, bootstrap
from exchange.domain.envelope import Agency, MessageType
from exchange.domain.errors import ExchangeError
from exchange.registry import Adapter, Outbound, Registry
from exchange.settings import REPO_ROOT, Settings
from tests.support.wait import eventually

BUNDLE_CONSUMER = "court.dcs-bundle-json"
SERVED = REPO_ROOT / "tests" / "fixtures" / "cps" / "documents-served.json"


class TemplateMissing(ExchangeError):
    code = "DCS_TEMPLATE_MISSING"


@dataclasses.dataclass
class CourtRenderer:
    """The court's bundle renderer with a switch: broken (a missing DCS template, fixed by a
    deploy) or, for amendments, failing only for one court OU code."""

    broken: bool = False
    refuse_court: str | None = None
    real: Any = None

    def render(self, payload: Any, envelope: Any) -> dict[str, Any]:
        if self.broken:
            raise TemplateMissing("DCS bundle template for this court is missing")
        if self.refuse_court and payload.case.court_ou == self.refuse_court:
            raise TemplateMissing(f"DCS does not know court {payload.case.court_ou}")
        return self.real(payload, envelope)  # type: ignore[no-any-return]


def registry_with(renderer: CourtRenderer) -> Registry:
    base = Registry.discover()
    adapters: list[Adapter] = []
    for adapter in base.adapters:
        if adapter.agency is Agency.COURT:
            outbound: list[Outbound] = []
            for o in adapter.outbound:
                if o.message_type is MessageType.COURT_BUNDLE:
                    renderer.real = o.render
                    o = dataclasses.replace(o, render=renderer.render)
                outbound.append(o)
            adapter = dataclasses.replace(adapter, outbound=tuple(outbound))
        adapters.append(adapter)
    return Registry(adapters)


@pytest.fixture
def court_renderer() -> CourtRenderer:
    return CourtRenderer()


@pytest.fixture
async def hub(settings: Settings, court_renderer: CourtRenderer) -> AsyncIterator[Hub]:
    hub = bootstrap(settings, registry=registry_with(court_renderer))
    yield hub
    await hub.close()


def ops_app(hub: Hub) -> FastAPI:
    """The app with the ops routers, whether or not app.py includes them yet."""
    app = create_app(hub=hub)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/ops/messages" not in paths:
        app.include_router(ops.router)
    if "/metrics" not in paths:
        app.include_router(metrics.router)
    if "/console/" not in paths and "/console" not in paths:
        app.include_router(console.router)
    return app


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=ops_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


def served_bundle(urn: str | None = None, court: str | None = None) -> bytes:
    served = orjson.loads(SERVED.read_bytes())
    served["transactionId"] = uuid.uuid4().int % 10**8
    if urn:
        served["urn"] = urn
    if court:
        served["courtOu"] = court
    return orjson.dumps(served)


CHARGING = REPO_ROOT / "tests" / "fixtures" / "charging"


async def post_charge_request(client: httpx.AsyncClient, auth: Any) -> httpx.Response:
    """A police charge request (one destination: CMS), accepted."""
    answer = await client.post(
        "/police/messages",
        content=(CHARGING / "charge-request-valid.xml").read_bytes(),
        headers={"Content-Type": "application/xml", **auth("police", org="01")},
    )
    assert answer.status_code == 202, answer.text
    return answer


async def post_charging_case(client: httpx.AsyncClient, auth: Any) -> tuple[str, str]:
    """A charge request and the CPS decision answering it: their message ids."""
    asked = await post_charge_request(client, auth)
    decision = orjson.loads((CHARGING / "charging-decision-charge.json").read_bytes())
    decision["requestMessageId"] = asked.json()["message_id"]
    answered = await client.post(
        "/cps/messages",
        content=orjson.dumps(decision),
        headers={"Content-Type": "application/json", **auth("cps")},
    )
    assert answered.status_code == 202, answered.text
    return asked.json()["message_id"], answered.json()["message_id"]


async def post_bundle(client: httpx.AsyncClient, auth: Any, **kw: Any) -> dict[str, Any]:
    answer = await client.post(
        "/cps/messages",
        content=served_bundle(**kw),
        headers={"Content-Type": "application/json", **auth("cps")},
    )
    assert answer.status_code == 202, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def parked(client: httpx.AsyncClient, auth: Any, message_id: str) -> dict[str, Any]:
    """Wait until the message is parked by the court bundle consumer; the failure."""

    async def probe() -> list[dict[str, Any]]:
        page = await client.get(
            "/ops/failures", params={"message_id": message_id}, headers=auth("ops")
        )
        assert page.status_code == 200, page.text
        return page.json()["items"]  # type: ignore[no-any-return]

    (failure,) = await eventually(probe, what=f"failure of {message_id}")
    return failure


async def court_delivery(client: httpx.AsyncClient, auth: Any, message_id: str) -> dict[str, Any]:
    async def probe() -> list[dict[str, Any]]:
        page = await client.get("/court/deliveries", headers=auth("court"))
        return [i for i in page.json()["items"] if i["message_id"] == message_id]

    (item,) = await eventually(probe, what=f"court delivery of {message_id}")
    return item
