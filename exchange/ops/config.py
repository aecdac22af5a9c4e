"""Settings of the ops tools, read from the environment like the hub's (prefix ``EXCHANGE_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXCHANGE_", env_file=".env", extra="ignore")

    replay_max_count: int = Field(
        default=3, ge=1, description="replays of one message refused beyond this (loop guard)"
    )
    replay_rate_per_second: float = Field(default=20.0, gt=0)
    replay_canary_size: int = Field(default=5, ge=0)
    replay_canary_timeout_seconds: float = Field(default=60.0, gt=0)
    retention_personal_days: int = Field(
        default=180,
        ge=1,
        description="personal data (raw bytes, names, addresses) is sanitised this many days "
        "after a message was received",
    )
    retention_audit_months: int = Field(
        default=84, ge=1, description="audit partitions older than this many months are dropped"
    )
    retention_message_months: int = Field(
        default=84,
        ge=1,
        description="monthly partitions of messages and deliveries older than this many months "
        "are dropped, except a month holding a parked failure",
    )
    retention_outbox_days: int = Field(
        default=14, ge=1, description="published outbox rows are deleted after this many days"
    )
    metrics_cache_seconds: float = Field(default=10.0, ge=0)
