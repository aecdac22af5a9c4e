"""The async engine and the one place that turns database outages into a typed error."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import asyncpg
import orjson
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from exchange.domain.errors import ServiceUnavailable

# A pooled connection idle for longer than this is pinged before use (see IdlePing).
PING_AFTER_IDLE_SECONDS: Final = 1.0
_LAST_USED: Final = "exchange.last_used"


def json_serializer(value: Any) -> str:
    """JSONB parameters (canonical messages, rendered deliveries, audit details) with orjson:
    the standard library's encoder was a tenth of the worker's CPU (docs/performance.md)."""
    return orjson.dumps(value).decode()


def make_engine(
    database_url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
) -> AsyncEngine:
    """``pool_size`` connections kept, and ``max_overflow`` (default: as many again) opened
    past it when needed and closed when given back. The hub's long-running processes keep
    all of theirs (see ``bootstrap``): a connection opened per request under load costs a
    connect, type introspection and preparing its statements again."""
    engine = create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 30},
        json_serializer=json_serializer,
    )
    IdlePing(engine.sync_engine.dialect, ping_after_idle).install(engine)
    return engine


class IdlePing:
    """Ping a pooled connection on checkout only when it sat idle in the pool.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout; with asyncpg outside a
    transaction that is three round trips (BEGIN, an empty query, ROLLBACK), more than a
    whole ingest costs. A connection given back moments ago is as good as a pinged one: under
    load connections come back within milliseconds and are not pinged; one idle longer than
    ``after`` seconds is, so a server restarted while the pool sat idle is noticed before a
    request uses it. A connection that breaks mid-use still fails its statement, which
    :func:`transaction` answers as a 503 outage, and SQLAlchemy then renews the whole pool."""

    def __init__(
        self, dialect: Dialect, after: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._dialect = dialect
        self.after = after
        self._clock = clock

    def install(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "checkin", self.checkin)
        event.listen(engine.sync_engine, "checkout", self.checkout)

    def checkin(self, dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            record.info[_LAST_USED] = self._clock()

    def checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        # ``info`` lives as long as the DBAPI connection: no entry means a new connection.
        last = record.info.get(_LAST_USED)
        if last is None or self._clock() - last <= self.after:
            return
        try:
            self._dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


_OUTAGE_MARKERS = (
    "connection",
    "closed",
    "terminat",
    "shutdown",
    "refused",
    "timeout",
    "deadlock detected",
    "could not serialize",
    "the database system is",  # starting up / shutting down / in recovery mode
)


# Raised raw by asyncpg while connecting (SQLAlchemy does not wrap connect-time errors):
# a server shutting down, starting up or refusing connections; a connection dropped.
_ASYNCPG_OUTAGES = (
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def is_outage(exc: BaseException) -> bool:
    """True when the database is unreachable or the transaction lost a race (deadlock,
    serialisation failure): trying the same work again later can succeed. False when the
    statement itself is wrong."""
    outages = (ServiceUnavailable, OperationalError, InterfaceError, PoolTimeout)
    if isinstance(exc, (*outages, *_ASYNCPG_OUTAGES)):
        return True
    if isinstance(exc, DBAPIError):
        text = str(exc).lower()
        return exc.connection_invalidated or any(m in text for m in _OUTAGE_MARKERS)
    return isinstance(exc, ConnectionError | OSError | TimeoutError)


@contextlib.asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One unit of work: commits on success, rolls back on error; outages become 503s."""
    try:
        async with engine.begin() as conn:
            yield conn
    except ServiceUnavailable:
        raise
    except Exception as exc:
        if is_outage(exc):
            raise ServiceUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        raise
