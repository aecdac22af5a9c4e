"""Validate any inbound document and turn it into its canonical payload, whichever agency
format it is: the formats are those the discovered adapters accept (``exchange.registry``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from exchange.domain.errors import InvalidMessage, Issue, UnsupportedFormat
from exchange.formats import Detected, detect
from exchange.registry import Inbound, Registry
from exchange.standingdata import StandingData

__all__ = ["ValidationResult", "inbound_for", "to_canonical", "validate_document"]


@dataclass(frozen=True, slots=True)
class ValidationResult:
    format: str
    valid: bool
    issues: list[Issue] = field(default_factory=list)


def inbound_for(detected: Detected, registry: Registry) -> Inbound:
    """The adapter entry for a detected format, or ``UnsupportedFormat`` naming what we take."""
    inbound = registry.inbound_for_format(detected.format)
    if inbound is None:
        raise UnsupportedFormat(
            f"format {detected.format!r} (root {detected.root!r}) is recognised but not "
            f"accepted; accepted: {', '.join(registry.formats())}"
        )
    return inbound


def validate_document(
    raw: bytes, registry: Registry | None = None, standing: StandingData | None = None
) -> ValidationResult:
    """Check a document: its format, whether it is valid, and every issue found.

    Malformed, hostile or unsupported documents are reported as invalid results, never raised.
    """
    registry = registry or Registry.discover()
    try:
        detected = detect(raw)
    except InvalidMessage as exc:
        return ValidationResult(format="unknown", valid=False, issues=list(exc.issues))
    except UnsupportedFormat as exc:
        return ValidationResult("unknown", False, [Issue(code=exc.code, message=exc.message)])
    try:
        inbound = inbound_for(detected, registry)
        parsed = inbound.parse(detected)
        issues = inbound.quality(parsed.payload, standing or StandingData.load())
    except InvalidMessage as exc:
        return ValidationResult(detected.format, False, list(exc.issues))
    except UnsupportedFormat as exc:
        return ValidationResult(detected.format, False, [Issue(exc.code, exc.message)])
    errors = [i for i in issues if i.severity == "error"]
    return ValidationResult(format=detected.format, valid=not errors, issues=issues)


def to_canonical(
    raw: bytes, registry: Registry | None = None, standing: StandingData | None = None
) -> tuple[Inbound, BaseModel]:
    """Detect, validate and map ``raw``; ``InvalidMessage`` carries every issue found."""
    registry = registry or Registry.discover()
    detected = detect(raw)
    inbound = inbound_for(detected, registry)
    parsed = inbound.parse(detected)
    issues = inbound.quality(parsed.payload, standing or StandingData.load())
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise InvalidMessage(issues=errors, summary=f"{len(errors)} data-quality error(s)")
    return inbound, parsed.payload
