"""The envelope every canonical message carries, whatever its payload."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Agency(StrEnum):
    POLICE = "police"
    CPS = "cps"
    COURT = "court"
    HUB = "hub"


class Sensitivity(StrEnum):
    """Government Security Classification marking carried by the whole message."""

    OFFICIAL = "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE"


class MessageType(StrEnum):
    CASE_FILE = "case-file"
    CHARGE_REQUEST = "charge-request"
    CHARGING_DECISION = "charging-decision"
    COURT_BUNDLE = "court-bundle"
    HEARING_OUTCOME = "hearing-outcome"


class Party(BaseModel):
    """An agency and the system within it that sent or will receive a message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: Agency
    system: str = Field(min_length=1, max_length=64, examples=["NSPIS", "CMS", "DCS"])
    organisation: str | None = Field(
        default=None, max_length=16, description="OU code or force code of the sender/receiver"
    )


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Routing and tracing facts about one canonical message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: uuid.UUID = Field(description="Stable across retries and replays")
    message_type: MessageType
    schema_version: str = Field(pattern=r"^\d+\.\d+$", examples=["1.0"])
    case_urn: str = Field(description="PTIURN of the case; also the Kafka key")
    source: Party
    destinations: list[Party] = Field(default_factory=list)
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    occurred_at: datetime
    received_at: datetime = Field(default_factory=_now)
    sensitivity: Sensitivity = Sensitivity.OFFICIAL_SENSITIVE

    @property
    def schema_major(self) -> int:
        return int(self.schema_version.split(".", 1)[0])

    @property
    def topic(self) -> str:
        return f"cjs.{self.message_type.value}.v{self.schema_major}"
