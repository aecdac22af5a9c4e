"""The async engine and the one place that turns database outages into a typed error."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from exchange.domain.errors import ServiceUnavailable


def make_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


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
