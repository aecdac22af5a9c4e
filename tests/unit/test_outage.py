"""Which failures are worth retrying: the database being away, or a lost race."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from exchange.db.engine import is_outage
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
