"""Retention: monthly audit partitions dropped, personal data sanitised, outbox purged."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from exchange.db import partitions
from exchange.db.tables import messages
from exchange.ops import retention
from exchange.ops.config import OpsSettings
from exchange.ops.sanitise import REDACTED
from exchange.settings import REPO_ROOT
from tests.ops.conftest import parked, post_bundle, post_charge_request
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

CHARGING = REPO_ROOT / "tests" / "fixtures" / "charging"


@pytest.mark.parametrize("table", ["audit_events", "messages", "deliveries"])
async def test_big_tables_are_partitioned_by_month(hub, table: str) -> None:
    async with hub.engine.connect() as conn:
        kind = (
            await conn.execute(
                text("SELECT relkind FROM pg_class WHERE relname = :t"), {"t": table}
            )
        ).scalar_one()
        names = await partitions.partitions_of(conn, table)
    assert kind in ("p", b"p")
    this_month = partitions.month_start(dt.datetime.now(dt.UTC).date())
    for ahead in range(partitions.MONTHS_AHEAD + 1):
        assert partitions.partition_name(table, partitions.add_months(this_month, ahead)) in names
    assert f"{table}_default" in names


async def _move_to(conn, message_id: str, month: str) -> None:
    """Make a message (its key, deliveries and their keys) look received in another month."""
    at = {"mid": message_id, "at": dt.datetime.fromisoformat(f"{month}-15T12:00:00+00:00")}
    for table, column in [
        ("messages", "received_at"),
        ("message_keys", "received_at"),
        ("deliveries", "created_at"),
        ("delivery_keys", "created_at"),
    ]:
        await conn.execute(
            text(f"UPDATE {table} SET {column} = :at WHERE message_id = :mid"),  # noqa: S608
            at,
        )


async def _delivered(hub, message_id: str) -> int:
    async with hub.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text("SELECT count(*) FROM deliveries WHERE message_id = :m"),
                    {"m": message_id},
                )
            ).scalar_one()
        )


async def test_a_retry_months_later_is_still_the_same_message(client, auth, hub) -> None:
    body = (CHARGING / "charge-request-valid.xml").read_bytes()
    headers = {
        "Content-Type": "application/xml",
        "Idempotency-Key": "retry-across-months",
        **auth("police", org="01"),
    }
    first = await client.post("/police/messages", content=body, headers=headers)
    assert first.status_code == 202, first.text
    async with hub.engine.begin() as conn:
        await _move_to(conn, first.json()["message_id"], "2025-01")
    again = await client.post("/police/messages", content=body, headers=headers)
    assert again.status_code == 202, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["message_id"] == first.json()["message_id"]
    changed = await client.post("/police/messages", content=body + b" ", headers=headers)
    assert changed.status_code == 409
    assert changed.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    async with hub.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT count(*) FROM messages WHERE idempotency_key = 'retry-across-months'")
            )
        ).scalar_one()
    assert stored == 1


async def test_old_months_of_messages_are_dropped_unless_a_failure_is_parked(
    client, auth, hub, worker, court_renderer
) -> None:
    asked = await post_charge_request(client, auth)
    old_id = asked.json()["message_id"]
    await eventually(lambda: _delivered(hub, old_id))
    court_renderer.broken = True
    stuck = await post_bundle(client, auth)
    await parked(client, auth, stuck["message_id"])
    async with hub.engine.begin() as conn:
        for table in ("messages", "deliveries"):
            for month in (dt.date(2010, 1, 1), dt.date(2010, 2, 1)):
                await conn.execute(text(partitions.create_sql(table, month)))
        await _move_to(conn, old_id, "2010-01")
        await _move_to(conn, stuck["message_id"], "2010-02")

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=40)
    settings = OpsSettings(retention_message_months=84)
    plan = await retention.run(hub.engine, settings, dry_run=True, now=later)
    drops = {p["partition"]: p["rows"] for p in plan.drop_partitions}
    assert drops["messages_p201001"] == 1
    assert drops["deliveries_p201001"] == 1
    assert "messages_p201002" not in drops
    held = {p["partition"]: p["parked"] for p in plan.held_partitions}
    assert held["messages_p201002"] == 1

    await retention.run(hub.engine, settings, dry_run=False, now=later)
    async with hub.engine.connect() as conn:
        names = set(await partitions.partitions_of(conn, "messages"))
        keys = {str(r[0]) for r in await conn.execute(text("SELECT message_id FROM message_keys"))}
        delivery_keys = {
            str(r[0]) for r in await conn.execute(text("SELECT message_id FROM delivery_keys"))
        }
        dropped = (
            (
                await conn.execute(
                    text(
                        "SELECT detail->>'partition' FROM audit_events "
                        "WHERE event = 'retention.partition_dropped'"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert "messages_p201001" not in names
    assert "messages_p201002" in names
    assert partitions.partition_name("messages", partitions.month_start(later.date())) in names
    assert old_id not in keys
    assert old_id not in delivery_keys
    assert stuck["message_id"] in keys
    assert {"deliveries_p201001", "messages_p201001"} <= set(dropped)
    assert "messages_p201002" not in dropped


async def test_retention_drops_old_partitions_and_sanitises(
    client, auth, hub, worker, court_renderer
) -> None:
    asked = await post_charge_request(client, auth)
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
        assert "audit_events_p201001" in await partitions.partitions_of(conn, "audit_events")

    await retention.run(hub.engine, settings, dry_run=False, now=later)
    async with hub.engine.connect() as conn:
        names = await partitions.partitions_of(conn, "audit_events")
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


async def test_0006_downgrades_and_upgrades_keeping_messages_and_their_keys(
    client, auth, hub, settings
) -> None:
    import asyncio

    from alembic import command

    from exchange.db.migrate import alembic_config, upgrade_async
    from exchange.worker import Worker

    worker = Worker(hub)
    running = asyncio.create_task(worker.run())

    asked = await post_charge_request(client, auth)
    message_id = asked.json()["message_id"]
    await eventually(lambda: _delivered(hub, message_id))
    worker.stop()  # its connections hold locks the migration waits for
    await asyncio.wait_for(running, timeout=30)
    await hub.engine.dispose()

    async def shape() -> tuple[object, int, int]:
        async with hub.engine.connect() as conn:
            kind = (
                await conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'messages'"))
            ).scalar_one()
            kept = (
                await conn.execute(
                    text("SELECT count(*) FROM messages WHERE message_id = :m"), {"m": message_id}
                )
            ).scalar_one()
        await hub.engine.dispose()
        return kind, kept, await _delivered(hub, message_id)

    await asyncio.to_thread(command.downgrade, alembic_config(settings.database_url), "0005")
    kind, kept, delivered = await shape()
    assert kind in ("r", b"r")
    assert (kept, delivered) == (1, 1)
    await upgrade_async(settings.database_url)
    kind, kept, delivered = await shape()
    assert kind in ("p", b"p")
    assert (kept, delivered) == (1, 1)
    async with hub.engine.connect() as conn:
        keyed = (
            await conn.execute(
                text("SELECT count(*) FROM message_keys WHERE message_id = :m"), {"m": message_id}
            )
        ).scalar_one()
    assert keyed == 1


async def test_a_partition_that_cannot_be_made_does_not_stop_the_worker(client, auth, hub) -> None:
    import asyncio

    from exchange.worker import Worker

    body = (CHARGING / "charge-request-valid.xml").read_bytes()
    xml = {"Content-Type": "application/xml", **auth("police", org="01")}
    first = (await client.post("/police/messages", content=body, headers=xml)).json()
    last_month = partitions.wanted_months(dt.datetime.now(dt.UTC).date())[-1]
    async with hub.engine.begin() as conn:
        await conn.execute(
            text(f'DROP TABLE "{partitions.partition_name("messages", last_month)}"')
        )
        # A row of that month now sits in the default partition, so its month cannot be made.
        await _move_to(conn, first["message_id"], f"{last_month:%Y-%m}")
    with pytest.raises(Exception, match="default"):
        async with hub.engine.begin() as conn:
            await partitions.ensure(conn)

    worker = Worker(hub)
    running = asyncio.create_task(worker.run())
    try:
        again = await client.post(
            "/police/messages", content=body.replace(b"01ZD0300124", b"01ZD0300132"), headers=xml
        )
        assert again.status_code == 202, again.text
        await eventually(lambda: _delivered(hub, again.json()["message_id"]))
        await asyncio.sleep(0.5)  # several more failed attempts
        assert not running.done()
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=30)
