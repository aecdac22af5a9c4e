"""The ops console in a real browser: search, dry run and replay, amend, timeline, figures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from playwright.async_api import expect

from exchange.settings import REPO_ROOT
from tests.ops.conftest import court_delivery, parked, post_bundle, post_charging_case
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

CHARGING = REPO_ROOT / "tests" / "fixtures" / "charging"


async def test_a_court_that_did_not_get_a_bundle(
    page, sign_in, shot, client, auth, worker, court_renderer
) -> None:
    """The operator searches by PTIURN, sees the parked failure and its cause, dry-runs,
    replays, and sees the bundle delivered."""
    court_renderer.broken = True
    receipt = await post_bundle(client, auth, urn="01ZD0312526")
    await parked(client, auth, receipt["message_id"])

    await sign_in(page)
    await page.fill("#f-case-urn", "01ZD0312526")
    await page.click("#failure-search button[type=submit]")
    rows = page.locator("#failures tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("DCS_TEMPLATE_MISSING")
    await expect(rows.first).to_contain_text("DCS bundle template for this court is missing")
    await shot(page, "1-parked-failure")

    await page.click("#dry-run")
    await expect(page.locator("#dry-run-count")).to_have_text("1 message(s) would be replayed")
    await expect(page.locator("#dry-run-breakdown")).to_contain_text("DCS_TEMPLATE_MISSING")
    await shot(page, "2-dry-run")

    court_renderer.broken = False  # the missing template was deployed
    await page.fill("#reason", "DCS template deployed (INC-42)")
    await page.click("#replay")
    await expect(page.locator("#replay-count")).to_have_text("1 message(s) replayed")
    await shot(page, "3-replayed")

    await page.goto(f"/console/#/message/{receipt['message_id']}")

    async def delivered() -> str:
        await page.reload()
        await page.wait_for_selector("#deliveries")
        return await page.locator("#deliveries").inner_text()

    text = await eventually(
        delivered,
        lambda t: "court" in t and "available" in t,
        what="the court delivery on the message page",
    )
    assert "dcs-bundle-json" in text
    await expect(page.locator("#events")).to_contain_text("replayed")
    await expect(page.locator("#message-failures")).to_contain_text("replayed")
    await shot(page, "4-delivered")
    item = await court_delivery(client, auth, receipt["message_id"])
    assert item["format"] == "dcs-bundle-json"


async def test_amend_and_replay_from_the_message_page(
    page, sign_in, shot, client, auth, worker, court_renderer
) -> None:
    court_renderer.refuse_court = "B01EF01"  # DCS does not know this court code
    receipt = await post_bundle(client, auth, court="B01EF01")
    await parked(client, auth, receipt["message_id"])
    await sign_in(page)
    await page.goto(f"/console/#/message/{receipt['message_id']}")
    await page.fill("#amend-pointer", "/payload/case/court_ou")
    await page.fill("#amend-value", "B01LY00")
    await page.click("#amend-preview")
    diff = page.locator("#amend-diff")
    await expect(diff).to_contain_text("B01EF01")
    await expect(diff).to_contain_text("B01LY00")
    await shot(page, "1-preview")
    await page.fill("#amend-reason", "court code mistyped by CMS; confirmed with listing")
    await page.click("#amend-replay")
    await expect(page.locator("#amend-done")).to_contain_text("Amended 1 field(s) and replayed")
    await shot(page, "2-amended")
    item = await court_delivery(client, auth, receipt["message_id"])
    assert "B01LY00" in orjson.dumps(item["body"]).decode()


async def test_case_timeline_links_a_decision_to_its_request(page, sign_in, shot, client, auth):
    await post_charging_case(client, auth)
    await sign_in(page)
    await page.goto("/console/#/case")
    await page.fill("#case-urn", "01zd0300124")
    await page.click('button:has-text("Show timeline")')
    items = page.locator("#timeline > li")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("charge-request")
    await expect(items.nth(1)).to_contain_text("charging-decision")
    await expect(items.nth(1)).to_contain_text("answers charge-request")
    await shot(page, "timeline")


async def test_dashboard_shows_charts_and_exports_csv(page, sign_in, shot, client, auth) -> None:
    await client.post(
        "/police/messages",
        content=(CHARGING / "charge-request-invalid-rules.xml").read_bytes(),
        headers={"Content-Type": "application/xml", **auth("police", org="01")},
    )
    await sign_in(page, role="manager", client_id="manager-1")
    await page.goto("/console/#/figures")
    volumes = page.locator("#fig-volumes")
    await expect(volumes.locator("svg")).to_be_visible()
    await expect(volumes.locator("table")).to_contain_text("police")
    await shot(page, "dashboard")
    async with page.expect_download() as info:
        await page.click("#csv-volumes")
    download = await info.value
    path = await download.path()
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    assert text.splitlines()[0].startswith("agency,org,messages,rejected")
    assert "police,01" in text
