"""The canonical ``CourtBundle``: papers the CPS serves on the court for one case (flow 4).

Binaries never live here: each document is a :class:`DocumentRef` (claim check by SHA-256);
the bytes are stored by the hub in the same transaction as the message. Sources: CP20-style
XML (``transforms/cp20.py``) and CMS JSON (``adapters/cps/documents_served_json.py``).
Mapping tables and what is dropped: ``docs/formats/flow4-court-bundle.md``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import model_validator

from exchange.domain.common import CanonicalModel, operational, personal
from exchange.domain.documents import DocumentRef

__all__ = [
    "COURT_BUNDLE_SCHEMA_VERSION",
    "BundleCase",
    "BundleDefendant",
    "BundleDocument",
    "BundleSection",
    "SECTION_TITLES",
    "CourtBundle",
    "SectionKind",
]

COURT_BUNDLE_SCHEMA_VERSION = "1.0"


class SectionKind(StrEnum):
    """Sections of a court bundle, in the order a bundle index lists them."""

    CASE_SUMMARY = "case-summary"  # MG5 or a Streamlined Process summary
    CHARGES = "charges"  # charge sheet, summons, list of charges
    INDICTMENT = "indictment"
    WITNESS_STATEMENTS = "witness-statements"  # MG11
    EXHIBITS = "exhibits"
    DISCLOSURE = "disclosure"  # MG6 schedules, disclosure notices
    CASE_MANAGEMENT = "case-management"  # PET, PTPH and BCM forms
    SERVED_BUNDLE = "served-bundle"  # a whole bundle as CMS compiled it
    OTHER = "other"


SECTION_TITLES: dict[SectionKind, str] = {
    SectionKind.CASE_SUMMARY: "Case summary",
    SectionKind.CHARGES: "Charges",
    SectionKind.INDICTMENT: "Indictment",
    SectionKind.WITNESS_STATEMENTS: "Witness statements",
    SectionKind.EXHIBITS: "Exhibits",
    SectionKind.DISCLOSURE: "Disclosure",
    SectionKind.CASE_MANAGEMENT: "Case management",
    SectionKind.SERVED_BUNDLE: "Served bundles",
    SectionKind.OTHER: "Other material",
}


class BundleCase(CanonicalModel):
    ptiurn: str = operational(
        min_length=1, max_length=50, description="Case URN as the CPS sends it, split suffix kept"
    )
    court_ou: str = operational(
        min_length=1, max_length=16, description="OU code of the court the papers are served on"
    )
    cms_case_id: int | None = operational(None, description="CPS CMS (Compass) case id")
    transaction_id: int | None = operational(
        None, description="CMS dispatch event id; changes each time the same papers are re-sent"
    )
    served_at: dt.datetime | None = operational(
        None, description="When the CPS served the papers; None when the source does not say"
    )


class BundleDefendant(CanonicalModel):
    cms_defendant_id: str = operational(min_length=1, max_length=32)
    kind: Literal["person", "organisation", "unknown"] = operational(
        "unknown", description="CP20 sends organisations as a surname without forenames or DOB"
    )
    # CP20 names run to 50 characters (PersonName stops at 35), so they are kept as sent.
    surname: str = personal(
        min_length=1, max_length=50, description="Surname, or the organisation's name"
    )
    forenames: str | None = personal(None, max_length=50, description="Space-separated")
    birth_date: dt.date | None = personal(None)
    asn: str | None = operational(None, max_length=21, description="Arrest/summons number")
    court_ou: str | None = operational(None, max_length=16, description="Court of next hearing")


class BundleDocument(CanonicalModel):
    document_id: str = operational(
        min_length=1, max_length=64, description="Source id, e.g. B33622"
    )
    document: DocumentRef = operational(description="Claim check: the stored bytes")
    title: str = operational(min_length=1, max_length=255)
    document_type: str = operational(
        min_length=1, max_length=64, description="e.g. MG11, exhibit, bundle, document"
    )
    cps_material_type: int | None = operational(
        None, ge=0, description="CP20 MaterialType code (CPS bundle code, 0 a single document)"
    )
    served_date: dt.date | None = operational(None)
    page_count: int | None = operational(None, ge=1, description="Counted where the PDF says")
    defendant_ids: tuple[str, ...] = operational(
        (), description="CMS ids of the defendants it concerns; empty means case level"
    )


class BundleSection(CanonicalModel):
    kind: SectionKind = operational()
    title: str = operational(min_length=1, max_length=100)
    documents: tuple[BundleDocument, ...] = operational(min_length=1)


class CourtBundle(CanonicalModel):
    """Documents served on the court for one case, grouped in sections, bytes by reference."""

    case: BundleCase = operational()
    defendants: tuple[BundleDefendant, ...] = operational(min_length=1)
    sections: tuple[BundleSection, ...] = operational(min_length=1)

    @model_validator(mode="after")
    def _defendants_known(self) -> CourtBundle:
        # A document tied to a defendant the bundle does not list could not be filed.
        known = {d.cms_defendant_id for d in self.defendants}
        for section in self.sections:
            for doc in section.documents:
                unknown = [i for i in doc.defendant_ids if i not in known]
                if unknown:
                    raise ValueError(
                        f"document {doc.document_id} names unknown defendant(s) {unknown}"
                    )
        return self

    @property
    def documents(self) -> tuple[BundleDocument, ...]:
        """Every document, section by section."""
        return tuple(doc for section in self.sections for doc in section.documents)
