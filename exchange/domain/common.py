"""Canonical value types shared by the payloads: names, addresses, contacts, hearings.

Every field carries a sensitivity marking in its JSON Schema (``"sensitivity"``):
``operational`` (case facts any party to the case may see), ``personal`` (identifies or
contacts a person) or ``special-category`` (UK GDPR art. 9/10 data such as ethnicity).
Destinations use the marking to decide what to withhold; a unit test fails if a field has none.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SENSITIVITY",
    "Address",
    "CanonicalModel",
    "ContactDetails",
    "Ethnicity",
    "Gender",
    "Hearing",
    "PersonName",
    "SensitivityLevel",
    "operational",
    "personal",
    "special_category",
]

SensitivityLevel = Literal["personal", "special-category", "operational"]
SENSITIVITY: Final = "sensitivity"


def _marked(level: SensitivityLevel, default: Any, **kwargs: Any) -> Any:
    return Field(default, json_schema_extra={SENSITIVITY: level}, **kwargs)


def operational(default: Any = ..., **kwargs: Any) -> Any:
    """A field holding case facts any party to the case may see."""
    return _marked("operational", default, **kwargs)


def personal(default: Any = ..., **kwargs: Any) -> Any:
    """A field that identifies or contacts a person."""
    return _marked("personal", default, **kwargs)


def special_category(default: Any = ..., **kwargs: Any) -> Any:
    """A field of special-category personal data (e.g. ethnicity)."""
    return _marked("special-category", default, **kwargs)


class CanonicalModel(BaseModel):
    """Base of canonical payload parts: immutable, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Gender(StrEnum):
    """Gender as the CJS codes it (0 not known, 1 male, 2 female, 9 not specified)."""

    NOT_KNOWN = "not-known"
    MALE = "male"
    FEMALE = "female"
    NOT_SPECIFIED = "not-specified"


class PersonName(CanonicalModel):
    title: str | None = personal(None, max_length=35)
    given_names: tuple[str, ...] = personal((), max_length=3)
    family_name: str | None = personal(None, max_length=35, description="Absent only for victims")

    @property
    def display(self) -> str:
        """The name as a person reads it: title, given names, family name."""
        parts = [self.title, *self.given_names, self.family_name]
        return " ".join(p for p in parts if p)


class Address(CanonicalModel):
    """A UK address in BS7666 terms; PAON/SAON are decoded into readable text."""

    saon: str | None = personal(None, description="Secondary addressable object, e.g. flat 2")
    paon: str | None = personal(None, description="Primary addressable object, e.g. 12A")
    street: str | None = personal(None)
    usrn: int | None = personal(None, description="Unique street reference number")
    locality: str | None = personal(None)
    town: str | None = personal(None)
    administrative_area: str | None = personal(None)
    post_town: str | None = personal(None)
    postcode: str | None = personal(None)
    uprn: int | None = personal(None, description="Unique property reference number")

    @property
    def lines(self) -> tuple[str, ...]:
        """Postal lines without the postcode, blank parts left out."""
        first = " ".join(p for p in (self.saon, self.paon, self.street) if p)
        rest = (self.locality, self.town, self.administrative_area, self.post_town)
        return tuple(p for p in (first, *rest) if p)


class ContactDetails(CanonicalModel):
    phone_business: str | None = personal(None)
    phone_home: str | None = personal(None)
    phone_mobile: str | None = personal(None)
    fax: str | None = personal(None)
    emails: tuple[str, ...] = personal(())
    dx_address: str | None = personal(None, description="Document exchange address")

    @property
    def is_empty(self) -> bool:
        return not (
            self.phone_business
            or self.phone_home
            or self.phone_mobile
            or self.fax
            or self.emails
            or self.dx_address
        )


class Ethnicity(CanonicalModel):
    observed_code: int | None = special_category(
        None, ge=0, le=9, description="Officer-observed IC code (0-9)"
    )
    self_defined_code: str | None = special_category(
        None, description="Self-defined 16+1 census code, e.g. W1"
    )


class Hearing(CanonicalModel):
    court_ou: str = operational(description="OU code of the court, e.g. B01EF01")
    date: dt.date = operational()
    time: dt.time | None = operational(None, description="Local time as sent, with offset if any")
