"""Which failures are worth retrying: the database being away, or a lost race."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError

from exchange.db.engine import IdlePing, is_outage
from exchange.domain.errors import InvalidMessage, ServiceUnavailable


def _dbapi(cls: type[DBAPIError], text: str) -> DBAPIError:
    return cls("SELECT 1", {}, Exception(text))


@pytest.mark.parametrize(
    "exc",
    [
        ServiceUnavailable("database unavailable"),
        _dbapi(OperationalError, "server closed the connection unexpectedly"),
        _dbapi(DBAPIError, "the database system is starting up"),
        _dbapi(DBAPIError, "deadlock detected"),
        ConnectionRefusedError(111, "refused"),
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        TimeoutError(),
    ],
    ids=["503", "closed", "starting", "deadlock", "refused", "pg-shutdown", "pg-gone", "timeout"],
)
def test_outages_and_lost_races_are_retried(exc: BaseException) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize(
    "exc",
    [
        _dbapi(IntegrityError, 'duplicate key value violates unique constraint "pk"'),
        _dbapi(DBAPIError, "value too long for type character varying(20)"),
        InvalidMessage(),
        ValueError("bad"),
    ],
    ids=["integrity", "too-long", "invalid", "value"],
)
def test_wrong_statements_and_bad_data_are_not(exc: BaseException) -> None:
    assert not is_outage(exc)


class _Record:
    def __init__(self) -> None:
        self.info: dict[str, object] = {}


class _Dialect:
    def __init__(self, *, fails: bool = False) -> None:
        self.pings = 0
        self.fails = fails

    def do_ping(self, _connection: object) -> bool:
        self.pings += 1
        if self.fails:
            raise ConnectionResetError("server closed the connection")
        return True


def test_a_connection_back_from_recent_use_is_not_pinged() -> None:
    now = [100.0]
    dialect = _Dialect()
    ping = IdlePing(dialect, 1.0, clock=lambda: now[0])  # type: ignore[arg-type]
    record = _Record()
    ping.checkout(object(), record, None)  # a new connection: just opened, not pinged
    ping.checkin(object(), record)
    now[0] += 0.5
    ping.checkout(object(), record, None)
    assert dialect.pings == 0


def test_a_connection_idle_in_the_pool_is_pinged_and_dropped_if_dead() -> None:
    now = [100.0]
    alive, dead = _Dialect(), _Dialect(fails=True)
    record = _Record()
    IdlePing(alive, 1.0, clock=lambda: now[0]).checkin(object(), record)  # type: ignore[arg-type]
    now[0] += 1.5
    IdlePing(alive, 1.0, clock=lambda: now[0]).checkout(object(), record, None)  # type: ignore[arg-type]
    assert alive.pings == 1
    with pytest.raises(DisconnectionError):  # the pool then opens another connection
        IdlePing(dead, 1.0, clock=lambda: now[0]).checkout(object(), record, None)  # type: ignore[arg-type]
