"""``exchange ops``: search, dry run, replay with a progress bar, timeline, retention."""

from __future__ import annotations

import asyncio
import re

import orjson
import pytest
from typer.testing import CliRunner

from exchange.ops_cli import app
from exchange.settings import get_settings
from tests.ops.conftest import court_delivery, parked, post_bundle

pytestmark = pytest.mark.integration

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d")


def _json(output: str):  # type: ignore[no-untyped-def]
    """The command's JSON, without log lines the worker in this process printed meanwhile."""
    return orjson.loads("\n".join(x for x in output.splitlines() if not LOG_LINE.match(x)))


async def test_replay_from_the_command_line(
    client, auth, worker, settings, court_renderer, monkeypatch
) -> None:
    monkeypatch.setenv("EXCHANGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("EXCHANGE_TOPIC_PREFIX", settings.topic_prefix)
    get_settings.cache_clear()
    court_renderer.broken = True
    receipt = await post_bundle(client, auth, urn="01ZD0312526")
    failure = await parked(client, auth, receipt["message_id"])
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return asyncio.to_thread(runner.invoke, app, list(args))

    try:
        found = await run("search", "--urn", "01ZD0312526", "--json")
        assert found.exit_code == 0, found.output
        assert [f["id"] for f in _json(found.stdout)] == [failure["id"]]

        dry = await run("replay", "--urn", "01ZD0312526")
        assert dry.exit_code == 0, dry.output
        assert "1 message(s) to replay" in dry.output
        assert "DCS_TEMPLATE_MISSING" in dry.output
        assert "nothing replayed" in dry.output

        no_reason = await run("replay", str(failure["id"]), "--execute")
        assert no_reason.exit_code != 0

        court_renderer.broken = False
        done = await run(
            "replay",
            str(failure["id"]),
            "--execute",
            "--reason",
            "fixed",
            "--actor",
            "ops-cli-test",
            "--rate",
            "10",
        )
        assert done.exit_code == 0, done.output
        assert "replayed 1" in done.output
        await court_delivery(client, auth, receipt["message_id"])

        shown = await run("timeline", "01ZD0312526", "--json")
        assert _json(shown.stdout)["messages"][0]["message_id"] == receipt["message_id"]

        kept = await run("retention")
        assert kept.exit_code == 0, kept.output
        assert _json(kept.stdout)["dry_run"] is True
    finally:
        get_settings.cache_clear()
