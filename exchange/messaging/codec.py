"""Canonical messages on the wire: one JSON object ``{"envelope": …, "payload": …}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel

from exchange.domain.envelope import Envelope
from exchange.domain.payloads import payload_model


@dataclass(frozen=True)
class CanonicalMessage:
    envelope: Envelope
    payload: BaseModel

    def to_dict(self) -> dict[str, Any]:
        return {
            "envelope": self.envelope.model_dump(mode="json"),
            "payload": self.payload.model_dump(mode="json", exclude_none=True),
        }

    def encode(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CanonicalMessage:
        envelope = Envelope.model_validate(data["envelope"])
        payload = payload_model(envelope.message_type).model_validate(data["payload"])
        return cls(envelope, payload)

    @classmethod
    def decode(cls, raw: bytes) -> CanonicalMessage:
        return cls.from_dict(orjson.loads(raw))
