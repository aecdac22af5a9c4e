"""Configuration, read from the environment (prefix ``EXCHANGE_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

# Values that mean "nobody set this": refused for any secret outside development.
PLACEHOLDER_SECRETS: Final = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "default", "example", "test"}
)
_SECRET_WORDS: Final = ("secret", "password", "hmac", "api_key", "private_key", "signing_key")


class InsecureSettings(ValueError):
    """A placeholder or empty secret where a real one is required."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXCHANGE_", env_file=".env", extra="ignore")

    environment: str = Field(default="development", description="development, test or production")
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/exchange"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_client_id: str = "cjs-exchange"
    topic_prefix: str = Field(
        default="", description="namespace before every topic name (tests, shared clusters)"
    )
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    standing_data_dir: Path | None = None
    run_dir: Path = REPO_ROOT / ".run"

    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_document_body_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1024,
        description="largest body from an agency that serves documents (CP20, CMS JSON)",
    )
    max_xml_depth: int = Field(default=64, ge=8)

    auth_issuer: str = "urn:cjs-exchange:dev-issuer"
    auth_audience: str = "cjs-exchange"
    auth_public_keys: list[Path] = Field(
        default_factory=list,
        description="PEM public keys that sign accepted tokens; empty in development means "
        "the local issuer's key under run_dir",
    )

    retry_delays_seconds: list[float] = Field(
        default=[1.0, 5.0, 30.0],
        description="delay before each retry of a retriable failure (one retry topic each); "
        "after the last, the message is parked and dead-lettered",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_seconds: float = Field(default=1.0, gt=0)

    relay_batch_size: int = Field(default=200, ge=1)
    relay_idle_seconds: float = Field(default=0.05, gt=0)
    consumer_group_prefix: str = "cjs-exchange"

    rate_limit_per_second: float = Field(
        default=50.0, ge=0, description="requests per second per client id (0: no limit)"
    )
    rate_limit_burst: int = Field(default=200, ge=1, description="requests a client may burst")
    body_read_timeout_seconds: float = Field(
        default=30.0, gt=0, description="longest wait for the next part of a request body"
    )
    audit_token_use: bool = Field(
        default=True, description="one audit event per authenticated request"
    )
    audit_seal_interval_seconds: float = Field(default=1.0, gt=0)

    otel_exporter: Literal["none", "console", "otlp"] = Field(
        default="none",
        description="where spans go: none (made and propagated, not exported), console "
        "(stdout) or otlp (OTLP over HTTP to otel_endpoint)",
    )
    otel_endpoint: str = Field(
        default="http://127.0.0.1:4318/v1/traces",
        description="the OTLP/HTTP traces URL of the collector, with its /v1/traces path",
    )
    otel_sample_ratio: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="share of new traces recorded; a trace begun by an agency follows the "
        "sampled flag of its traceparent",
    )

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "test")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        """Outside development, refuse to start with a placeholder secret or DB password."""
        if self.is_development:
            return self
        problems = [
            f"EXCHANGE_{name.upper()} is a placeholder"
            for name, value in self
            if any(w in name for w in _SECRET_WORDS)
            and isinstance(value, str)
            and value.strip().lower() in PLACEHOLDER_SECRETS
        ]
        password = urlsplit(self.database_url).password
        if password is not None and password.lower() in PLACEHOLDER_SECRETS | {"postgres"}:
            problems.append("EXCHANGE_DATABASE_URL has a placeholder password")
        if problems:
            raise InsecureSettings(
                f"refusing to start in {self.environment!r}: "
                + "; ".join(problems)
                + " (set real secrets, or EXCHANGE_ENVIRONMENT=development)"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
