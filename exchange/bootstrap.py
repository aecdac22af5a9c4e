"""The one place that wires the hub together from settings. Nothing connects at import time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from exchange.auth import LocalIssuer, TokenVerifier
from exchange.db.engine import make_engine
from exchange.ingest import Ingest
from exchange.registry import Registry
from exchange.settings import Settings
from exchange.standingdata import StandingData


@dataclass
class Hub:
    settings: Settings
    engine: AsyncEngine
    registry: Registry
    standing: StandingData
    ingest: Ingest
    verifier: TokenVerifier

    async def close(self) -> None:
        await self.engine.dispose()


def bootstrap(settings: Settings, *, registry: Registry | None = None) -> Hub:
    # 20 connections at most, as before (10 kept + 10 overflow), but all kept once opened:
    # overflow connections, closed on return, were reopened for ~10% of the API's CPU.
    engine = make_engine(settings.database_url, pool_size=20, max_overflow=0)
    registry = registry or Registry.discover()
    standing = StandingData.load(settings.standing_data_dir).preload()
    ingest = Ingest(
        engine,
        registry,
        standing,
        topic_prefix=settings.topic_prefix,
        max_bytes=max(settings.max_body_bytes, settings.max_document_body_bytes),
    )
    return Hub(settings, engine, registry, standing, ingest, make_verifier(settings))


def dev_issuer(settings: Settings) -> LocalIssuer:
    return LocalIssuer(
        settings.run_dir / "auth", issuer=settings.auth_issuer, audience=settings.auth_audience
    )


def make_verifier(settings: Settings) -> TokenVerifier:
    if settings.auth_public_keys:
        keys = [p.read_bytes() for p in settings.auth_public_keys]
    elif settings.is_development:
        keys = [dev_issuer(settings).public_pem()]
    else:
        raise RuntimeError(
            "EXCHANGE_AUTH_PUBLIC_KEYS must name the token issuer's public keys outside "
            "development; the local development issuer is refused in production"
        )
    return TokenVerifier(keys, issuer=settings.auth_issuer, audience=settings.auth_audience)
