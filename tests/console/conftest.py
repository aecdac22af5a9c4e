"""Browser tests of the ops console: Debian's Chromium driven by Playwright, against the hub's
app served by uvicorn in the test's event loop, on the real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from exchange.bootstrap import Hub
from exchange.settings import REPO_ROOT
from tests.ops.conftest import client, court_renderer, hub, ops_app  # noqa: F401 - fixtures

CHROMIUM = os.environ.get("EXCHANGE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "console"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def base_url(hub: Hub) -> AsyncIterator[str]:  # noqa: F811
    port = _free_port()
    config = uvicorn.Config(
        ops_app(hub),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        http="h11",
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


@dataclass
class Shots:
    directory: Path

    async def __call__(self, page, name: str) -> None:  # type: ignore[no-untyped-def]
        await page.screenshot(path=str(self.directory / f"{name}.png"), full_page=True)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    directory = ARTIFACTS / request.node.name
    directory.mkdir(parents=True, exist_ok=True)
    return Shots(directory)


@pytest.fixture
async def page(base_url: str):  # type: ignore[no-untyped-def]
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = await browser.new_context(
            base_url=base_url, accept_downloads=True, viewport={"width": 1400, "height": 1000}
        )
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        await context.close()
        await browser.close()
        assert not errors, f"JavaScript errors in the console: {errors}"


@pytest.fixture
def sign_in(issuer):  # type: ignore[no-untyped-def]
    async def go(page, role: str = "ops", client_id: str = "ops-console") -> None:  # type: ignore[no-untyped-def]
        await page.goto("/console/")
        await page.fill("#token", issuer.token(client_id, [role]))
        await page.click("button[type=submit]")
        await page.wait_for_selector("#sign-out")

    return go
