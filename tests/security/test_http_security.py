"""Authentication answers, rate limiting and cross-force submissions over HTTP."""

from __future__ import annotations

import httpx
import pytest

from exchange.api.app import create_app
from tests.support.samples import new_case

pytestmark = pytest.mark.integration

XML = {"Content-Type": "application/xml"}


async def test_401_carries_the_bearer_challenge(client, auth) -> None:
    missing = await client.get("/police/deliveries")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="cjs-exchange"'
    forged = await client.get("/police/deliveries", headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401
    assert forged.json()["code"] == "UNAUTHENTICATED"
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]


async def test_a_client_over_its_rate_gets_429_with_retry_after(hub, auth) -> None:
    hub.settings.rate_limit_per_second = 0.5
    hub.settings.rate_limit_burst = 3
    app = create_app(hub=hub)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        headers = auth("ops", client="busy-ops")
        codes = [(await client.get("/audit", headers=headers)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = await client.get("/audit", headers=headers)
        assert refused.json()["code"] == "RATE_LIMITED"
        assert refused.headers["retry-after"] == "2"
        other = await client.get("/audit", headers=auth("ops", client="calm-ops"))
        assert other.status_code == 200


async def test_a_force_may_not_submit_another_forces_case(client, auth) -> None:
    answer = await client.post(
        "/police/messages",
        content=new_case("02ZD0312526"),
        headers={**XML, **auth("police", org="01")},
    )
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "TENANCY_FORBIDDEN"
