"""Retention: monthly audit partitions dropped, personal data sanitised, outbox purged."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from exchange.db.tables import messages
from exchange.ops import retention
from exchange.ops.config import OpsSettings
from exchange.ops.sanitise import REDACTED
from exchange.settings import REPO_ROOT
from tests.ops.conftest import parked, post_bundle

pytestmark = pytest.mark.integration

CHARGING = REPO_ROOT / "tests" / "fixtures" / "charging"


async def test_audit_events_are_partitioned_by_month(hub) -> None:
    async with hub.engine.connect() as conn:
        kind = (
            await conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'audit_events'"))
        ).scalar_one()
        names = await retention._partitions(conn)  # noqa: SLF001
    assert kind in ("p", b"p")
    assert f"audit_events_p{dt.datetime.now(dt.UTC):%Y%m}" in names
    assert "audit_events_default" in names


async def test_retention_drops_old_partitions_and_sanitises(
    client, auth, hub, worker, court_renderer
) -> None:
    asked = await client.post(
        "/police/messages",
        content=(CHARGING / "charge-request-valid.xml").read_bytes(),
        headers={"Content-Type": "application/xml", **auth("police", org="01")},
    )
    kept_id = asked.json()["message_id"]
    court_renderer.broken = True
    still_parked = await post_bundle(client, auth)
    await parked(client, auth, still_parked["message_id"])
    async with hub.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE audit_events_p201001 PARTITION OF audit_events "
                "FOR VALUES FROM ('2010-01-01') TO ('2010-02-01')"
            )
        )
        await conn.execute(
            text("INSERT INTO audit_events (event, actor, at) VALUES ('old', 'test', '2010-01-15')")
        )

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    settings = OpsSettings(retention_personal_days=180, retention_audit_months=84)
    plan = await retention.run(hub.engine, settings, dry_run=True, now=later)
    assert [p["partition"] for p in plan.drop_partitions] == ["audit_events_p201001"]
    assert plan.drop_partitions[0]["rows"] == 1
    assert plan.messages_to_sanitise >= 1
    async with hub.engine.connect() as conn:  # a dry run changes nothing
        assert "audit_events_p201001" in await retention._partitions(conn)  # noqa: SLF001

    await retention.run(hub.engine, settings, dry_run=False, now=later)
    async with hub.engine.connect() as conn:
        names = await retention._partitions(conn)  # noqa: SLF001
        rows = {str(r.message_id): r for r in (await conn.execute(select(messages))).all()}
    assert "audit_events_p201001" not in names
    assert f"audit_events_p{later:%Y%m}" in names
    sanitised = rows[kept_id]
    assert sanitised.raw == b""
    payload = sanitised.canonical["payload"]
    assert payload["case_urn"] == "01ZD0300124"  # ids, codes and dates stay
    assert payload["suspects"][0]["asn"] == "2401ZD0100000448754W"
    assert payload["submitted_at"].startswith("2024-03-02")
    assert payload["suspects"][0]["name"]["family_name"] == REDACTED
    assert payload["officer"]["contact"]["emails"] == []
    assert "FICTIONAL" not in str(sanitised.canonical)
    assert rows[still_parked["message_id"]].raw != b""  # ops may still replay it


async def test_0004_downgrades_and_upgrades_keeping_audit_events_and_triggers(
    hub, settings
) -> None:
    import asyncio

    from alembic import command

    from exchange.db.migrate import alembic_config, upgrade_async

    async with hub.engine.begin() as conn:
        await conn.execute(text("INSERT INTO audit_events (event, actor) VALUES ('kept', 't')"))
    await hub.engine.dispose()
    await asyncio.to_thread(command.downgrade, alembic_config(settings.database_url), "0003")
    async with hub.engine.connect() as conn:
        kind = (
            await conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'audit_events'"))
        ).scalar_one()
        triggers = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass "
                    "AND NOT tgisinternal"
                )
            )
        ).scalar_one()
    assert kind in ("r", b"r")
    assert triggers == 2
    await hub.engine.dispose()
    await upgrade_async(settings.database_url)
    async with hub.engine.begin() as conn:
        events = (
            (await conn.execute(text("SELECT event FROM audit_events WHERE event = 'kept'")))
            .scalars()
            .all()
        )
        assert events == ["kept"]
        refused = None
        try:
            async with conn.begin_nested():
                await conn.execute(text("DELETE FROM audit_events"))
        except Exception as exc:  # noqa: BLE001
            refused = exc
    assert refused is not None
    assert "append-only" in str(refused)
