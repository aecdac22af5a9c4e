"""The audit trail: every read and token use recorded, append-only, queryable by ops, and a
hash chain that shows tampering."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from exchange import audit
from exchange.audit_cli import verify as verify_cli
from exchange.db.tables import audit_events
from tests.security.seed import CASE, COURT, seed
from tests.support.samples import new_case, ptiurn

pytestmark = pytest.mark.integration


async def _events(hub, **where) -> list:  # type: ignore[no-untyped-def]
    stmt = select(audit_events).order_by(audit_events.c.id)
    for key, value in where.items():
        stmt = stmt.where(audit_events.c[key] == value)
    async with hub.engine.connect() as conn:
        return list((await conn.execute(stmt)).all())


async def test_reads_of_case_data_and_token_uses_are_recorded(client, auth, hub) -> None:
    seeded = await seed(hub.engine)
    court = auth("court", org=COURT, client="dcs-b01")
    assert (await client.get(f"/messages/{seeded.case_file}", headers=court)).status_code == 200
    assert (await client.get("/court/deliveries", headers=court)).status_code == 200
    assert (await client.get(f"/documents/{seeded.document}", headers=court)).status_code == 200
    assert (await client.get("/health/live")).status_code == 200  # no token, no event

    mine = await _events(hub, actor="dcs-b01")
    kinds = [e.event for e in mine]
    assert "message.read" in kinds
    assert kinds.count("delivery.taken") == 2  # the case file and the bundle
    assert "document.read" in kinds
    uses = [e.detail for e in mine if e.event == "token.used"]
    assert [(u["method"], u["path"], u["status"]) for u in uses] == [
        ("GET", f"/messages/{seeded.case_file}", 200),
        ("GET", "/court/deliveries", 200),
        ("GET", f"/documents/{seeded.document}", 200),
    ]
    assert all(u["jti"] for u in uses)
    assert len({u["jti"] for u in uses}) == 1  # one token, used three times


async def test_refused_requests_are_recorded_with_their_status(client, auth, hub) -> None:
    await client.get("/audit", headers=auth("court", client="nosy-court"))
    (use,) = [e.detail for e in await _events(hub, actor="nosy-court")]
    assert use["status"] == 403


async def test_ops_query_the_trail_by_case_actor_and_time(client, auth, hub) -> None:
    seeded = await seed(hub.engine)
    await client.get(f"/messages/{seeded.case_file}", headers=auth("ops", client="ops-alice"))
    answer = await client.get(
        "/audit",
        params={"case_urn": CASE, "actor": "ops-alice", "from": "2000-01-01T00:00:00Z"},
        headers=auth("ops", client="ops-bob"),
    )
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [(i["event"], i["message_id"]) for i in items] == [
        ("message.read", str(seeded.case_file))
    ]
    later = await client.get(
        "/audit", params={"to": "2000-01-01T00:00:00Z"}, headers=auth("ops", client="ops-bob")
    )
    assert later.json()["items"] == []
    by_message = await client.get(
        "/audit", params={"message_id": str(seeded.case_file)}, headers=auth("ops")
    )
    assert {i["event"] for i in by_message.json()["items"]} == {"message.read"}


async def _events_with_transaction(hub, actor: str) -> list:  # type: ignore[no-untyped-def]
    """(event, detail, transaction id) of an actor's events, in id order."""
    async with hub.engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT event, detail, xmin::text AS tx FROM audit_events "
                        "WHERE actor = :actor ORDER BY id"
                    ),
                    {"actor": actor},
                )
            ).all()
        )


async def test_a_submission_records_its_token_use_in_its_own_transaction(client, auth, hub) -> None:
    """An ingest writes ``token.used`` with the message and its audit event, in one
    transaction: exactly one per request, with the status the caller is answered."""
    police = {**auth("police", org="01", client="force-01"), "Content-Type": "application/xml"}
    accepted = await client.post("/police/messages", content=new_case(ptiurn(41)), headers=police)
    assert accepted.status_code == 202, accepted.text
    rejected = await client.post(
        "/police/messages", content=b"<NewCaseMessage xmlns='nope'/>", headers=police
    )
    assert rejected.status_code in (415, 422), rejected.text
    replayed = await client.post("/police/messages", content=new_case(ptiurn(41)), headers=police)
    assert replayed.status_code == 202
    assert replayed.headers["Idempotent-Replayed"] == "true"

    events = await _events_with_transaction(hub, "force-01")
    assert [e.event for e in events] == [
        "validated",
        "token.used",
        "rejected",
        "token.used",
        "token.used",
    ]
    uses = [e.detail for e in events if e.event == "token.used"]
    assert [(u["method"], u["path"], u["status"]) for u in uses] == [
        ("POST", "/police/messages", 202),
        ("POST", "/police/messages", rejected.status_code),
        ("POST", "/police/messages", 202),
    ]
    assert all(u["jti"] for u in uses)
    # The first two requests' token uses share their message's transaction; the replay,
    # which stores nothing, has its token use recorded on its own.
    assert events[0].tx == events[1].tx
    assert events[2].tx == events[3].tx
    assert len({events[0].tx, events[2].tx, events[4].tx}) == 3


async def test_update_delete_and_truncate_are_refused(hub) -> None:
    async with hub.engine.begin() as conn:
        await audit.record(conn, "test.event", actor="tester")
    for statement in (
        "UPDATE audit_events SET actor = 'someone else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with hub.engine.begin() as conn:
                await conn.execute(text(statement))
    async with hub.engine.begin() as conn:
        assert await audit.seal(conn) == 1
    with pytest.raises(DBAPIError, match="append-only"):  # a sealed row cannot be resealed
        async with hub.engine.begin() as conn:
            await conn.execute(text("UPDATE audit_events SET hash = repeat('0', 64)"))


async def _write(hub, n: int, actor: str = "writer") -> None:  # type: ignore[no-untyped-def]
    async with hub.engine.begin() as conn:
        await audit.record_many(
            conn,
            [{"event": "test.event", "actor": actor, "detail": {"n": i}} for i in range(n)],
        )


async def test_sealing_chains_rows_in_order_and_verifies(hub) -> None:
    await _write(hub, 5)
    async with hub.engine.begin() as conn:
        assert await audit.seal(conn) == 5
    await _write(hub, 3)
    async with hub.engine.begin() as conn:
        assert await audit.seal(conn, batch=2) == 3
        assert await audit.seal(conn) == 0
    async with hub.engine.connect() as conn:
        result = await audit.verify(conn)
    assert result.ok
    assert (result.checked, result.unsealed) == (8, 0)
    rows = await _events(hub)
    assert [r.seal_seq for r in rows] == list(range(1, 9))
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


async def test_concurrent_writers_and_sealers_keep_one_chain(hub) -> None:
    async def writer(k: int) -> None:
        for _ in range(5):
            await _write(hub, 3, actor=f"w{k}")

    async def sealer() -> None:
        for _ in range(10):
            async with hub.engine.begin() as conn:
                await audit.seal(conn)
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(k) for k in range(4)), sealer(), sealer())
    async with hub.engine.begin() as conn:
        await audit.seal(conn)
    async with hub.engine.connect() as conn:
        result = await audit.verify(conn)
    assert result.ok, result.broken
    assert result.checked == 60


def _superuser_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _tamper(database_url: str, statement: str) -> None:
    """What an attacker with superuser rights does: switch the triggers off and edit."""
    conn = await asyncpg.connect(_superuser_dsn(database_url))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("UPDATE audit_events SET actor = 'cover-up' WHERE detail->>'n' = '3'", "content"),
        ("DELETE FROM audit_events WHERE detail->>'n' = '3'", "missing"),
        (
            "UPDATE audit_events SET hash = repeat('a', 64) WHERE detail->>'n' = '3'",
            "content",
        ),
        (
            "UPDATE audit_events SET prev_hash = repeat('a', 64) WHERE detail->>'n' = '3'",
            "link",
        ),
    ],
    ids=["edited", "deleted", "rehashed", "relinked"],
)
async def test_tampering_with_a_sealed_row_is_detected(hub, settings, statement, reason) -> None:
    await _write(hub, 6)
    out = io.StringIO()
    assert await asyncio.to_thread(verify_cli, settings.database_url, out=out) == 0
    assert out.getvalue().startswith("verified 6 events")
    await _tamper(settings.database_url, statement)
    out = io.StringIO()
    assert await asyncio.to_thread(verify_cli, settings.database_url, out=out) == 1
    report = out.getvalue()
    assert report.startswith("audit chain broken at event ")
    assert reason in report
    async with hub.engine.connect() as conn:
        result = await audit.verify(conn)
    assert result.broken is not None
    assert result.checked == 3  # events 0..2 still hold; the break is at the 4th or 5th


async def test_verify_command_runs_as_a_process(settings, hub) -> None:
    await _write(hub, 2)
    code = "import sys; from exchange.audit_cli import verify; sys.exit(verify(sys.argv[1]))"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", code, settings.database_url],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verified 2 events")
    async with hub.engine.connect() as conn:
        assert (
            await conn.scalar(
                select(func.count())
                .select_from(audit_events)
                .where(audit_events.c.seal_seq.is_(None))
            )
            == 0
        )
