"""The schema registry keeps every version and refuses one that would break what it holds."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest

from exchange.db.engine import transaction
from exchange.schemas import registry
from exchange.settings import REPO_ROOT
from tests.support.samples import DEMO_CASE

pytestmark = pytest.mark.integration

CASE_FILE = REPO_ROOT / "schemas" / "json" / "canonical" / "case-file.v1.json"


async def test_json_schema_versions_must_stay_backward_compatible(hub, tmp_path: Path) -> None:
    schema = orjson.loads(CASE_FILE.read_bytes())
    path = tmp_path / "case-file.v1.json"
    async with transaction(hub.engine) as conn:
        first = await registry.register(conn, path, CASE_FILE.read_text())
        assert (first.compatible, first.version) == (True, 1)
        again = await registry.register(conn, path, CASE_FILE.read_text())
        assert again.version == 1  # unchanged content is not a new version

        looser = copy.deepcopy(schema)
        looser["$defs"]["CaseInfo"]["properties"]["note"] = {"type": "string"}
        second = await registry.register(conn, path, orjson.dumps(looser).decode())
        assert (second.compatible, second.version) == (True, 2)

        stricter = copy.deepcopy(looser)
        stricter["$defs"]["CaseInfo"]["required"].append("note")
        refused = await registry.register(conn, path, orjson.dumps(stricter).decode())
        assert not refused.compatible
        assert any("newly required" in p for p in refused.problems)
        assert await registry.versions(conn) == [("case-file", "json", 2)]


async def test_xsd_version_must_accept_stored_messages(client, auth, hub, tmp_path: Path) -> None:
    answer = await client.post(
        "/police/messages",
        content=DEMO_CASE,
        headers={"Content-Type": "application/xml", **auth("police", org="01")},
    )
    assert answer.status_code == 202
    source = REPO_ROOT / "schemas" / "xsd"
    for xsd in source.rglob("*.xsd"):
        target = tmp_path / xsd.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(xsd.read_bytes())
    new_case = tmp_path / "police" / "spi-new-case-v1.xsd"
    async with transaction(hub.engine) as conn:
        same = await registry.register(conn, new_case, new_case.read_text())
        assert same.compatible
        assert same.checked == 1
        renamed = new_case.read_text().replace('name="Informant"', 'name="Informer"')
        new_case.write_text(renamed)
        refused = await registry.register(conn, new_case, renamed)
    assert not refused.compatible
    assert answer.json()["message_id"] in refused.problems[0]


def test_the_register_command_stores_versions_and_refuses_a_break(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from exchange.schemas_cli import app
    from exchange.settings import get_settings

    monkeypatch.setenv("EXCHANGE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        path = tmp_path / "case-file.v1.json"
        path.write_bytes(CASE_FILE.read_bytes())
        runner = CliRunner()
        first = runner.invoke(app, ["register", str(path)])
        assert first.exit_code == 0, first.output
        assert "case-file (json): version 1" in first.output
        stricter = orjson.loads(CASE_FILE.read_bytes())
        stricter["$defs"]["CaseInfo"]["required"].append("note")
        stricter["$defs"]["CaseInfo"]["properties"]["note"] = {"type": "string"}
        path.write_bytes(orjson.dumps(stricter))
        refused = runner.invoke(app, ["register", str(path)])
        assert refused.exit_code == 1, refused.output
        assert "refused" in refused.output
        listed = runner.invoke(app, ["list"])
        assert "v1" in listed.output
    finally:
        get_settings.cache_clear()
