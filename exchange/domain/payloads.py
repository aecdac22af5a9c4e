"""Which pydantic model carries the payload of each canonical message type."""

from __future__ import annotations

from importlib import import_module

from pydantic import BaseModel

from exchange.domain.envelope import MessageType

SCHEMA_VERSION = "1.0"

_MODELS: dict[MessageType, str] = {
    MessageType.CASE_FILE: "exchange.domain.casefile:CaseFile",
    MessageType.CHARGE_REQUEST: "exchange.domain.charging:ChargeRequest",
    MessageType.CHARGING_DECISION: "exchange.domain.charging:ChargingDecision",
    MessageType.COURT_BUNDLE: "exchange.domain.bundle:CourtBundle",
    MessageType.HEARING_OUTCOME: "exchange.domain.outcome:HearingOutcome",
}


def payload_model(message_type: MessageType) -> type[BaseModel]:
    try:
        module, name = _MODELS[message_type].split(":")
    except KeyError:
        raise LookupError(f"no canonical model for message type {message_type.value!r}") from None
    model: type[BaseModel] = getattr(import_module(module), name)
    return model
