"""CPS CP20 "documents served" (XML) → canonical ``CourtBundle``.

Takes a ``CP20`` element already validated against ``schemas/xsd/cps/cp20-v1.xsd`` and the
DocumentRefs its documents decoded to (by position), so this module only maps.

CP20 says little about each document: an id, a CPS bundle code (``MaterialType``) and a file
name. The code's meaning lives in HMCTS reference data that is not published; what we know:
0 is a single document, other values name a kind of bundle, and the public samples pair 12
with case-level and 11 with defendant-level service. Like the Common Platform, a document we
cannot place at case level is served on every defendant the message lists. Single documents
are sorted into sections by the MG form or words their file name carries (MG5, MG11, MG6,
indictment, exhibit, ...). Table and reasons: docs/formats/flow4-court-bundle.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Final

from lxml import etree
from pydantic import ValidationError

from exchange.domain.bundle import (
    SECTION_TITLES,
    BundleCase,
    BundleDefendant,
    BundleDocument,
    BundleSection,
    CourtBundle,
    SectionKind,
)
from exchange.domain.documents import DocumentRef
from exchange.domain.errors import InvalidMessage, Issue
from exchange.formats import CP20_NS
from exchange.xmlsafe import element_path

__all__ = ["CASE_LEVEL_MATERIAL_TYPES", "classify", "to_court_bundle"]

_NS: Final = "{" + CP20_NS + "}"
_XSI_NIL: Final = "{http://www.w3.org/2001/XMLSchema-instance}nil"
SINGLE_DOCUMENT: Final = 0
# Bundle codes served at case level (from the public samples; others are defendant level).
CASE_LEVEL_MATERIAL_TYPES: Final = frozenset({12})

# (pattern over the file name, section, document type, case level?) — first match wins.
_BY_NAME: Final[tuple[tuple[re.Pattern[str], SectionKind, str, bool], ...]] = tuple(
    (re.compile(p, re.IGNORECASE), kind, doc_type, case_level)
    for p, kind, doc_type, case_level in (
        (
            r"\bPET\b|\bPTPH\b|\bBCM\b|\bcase management\b",
            SectionKind.CASE_MANAGEMENT,
            "case-management-form",
            True,
        ),
        (r"\bindictment\b", SectionKind.INDICTMENT, "indictment", True),
        (r"\bMG\s?5\b|\bcase summary\b|\bSDN\b", SectionKind.CASE_SUMMARY, "MG5", True),
        (r"\bMG\s?6[A-E]?\b|\bdisclosure\b|\bschedule\b", SectionKind.DISCLOSURE, "MG6", True),
        (r"\bMG\s?11\b|\bstatement\b", SectionKind.WITNESS_STATEMENTS, "MG11", True),
        (r"\bexhibits?\b", SectionKind.EXHIBITS, "exhibit", True),
        (r"\bcharge sheet\b|\bcharges?\b|\bsummons\b", SectionKind.CHARGES, "charges", False),
    )
)


def classify(material_type: int, filename: str) -> tuple[SectionKind, str, bool]:
    """Section, document type and whether the document is served at case level."""
    if material_type != SINGLE_DOCUMENT:
        return SectionKind.SERVED_BUNDLE, "bundle", material_type in CASE_LEVEL_MATERIAL_TYPES
    for pattern, kind, doc_type, case_level in _BY_NAME:
        if pattern.search(filename.replace("_", " ")):
            return kind, doc_type, case_level
    return SectionKind.OTHER, "document", False


def _text(parent: etree._Element, name: str) -> str | None:
    value = parent.findtext(_NS + name)
    return value.strip() or None if value is not None else None


def _date(element: etree._Element, name: str) -> dt.date | None:
    value = _text(element, name)
    if value is None:
        return None
    try:  # xs:date may carry a zone and admits years Python cannot hold
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise _invalid(
            "DATE_UNMAPPABLE", f"date {value!r} is outside 0001-9999", element.find(_NS + name)
        ) from None


def _defendant(element: etree._Element) -> BundleDefendant:
    forenames = _text(element, "Forenames")
    dob = _date(element, "DOB")
    cms_id = _text(element, "CMSDefendantID") or ""
    return BundleDefendant(
        cms_defendant_id=str(int(cms_id)) if cms_id else "",  # "+007" and "7" are one id
        # Only a person has forenames or a date of birth; a bare surname may be either.
        kind="person" if forenames or dob else "unknown",
        surname=_text(element, "Surname") or "",
        forenames=forenames,
        birth_date=dob,
        asn=_text(element, "ASN"),
        court_ou=_text(element, "OUCode"),
    )


def _title(filename: str, fallback: str) -> str:
    stem = PurePath(filename).stem.strip() if filename else ""
    return (stem or fallback)[:255]


def to_court_bundle(
    root: etree._Element, refs: Mapping[int, tuple[DocumentRef, int | None]]
) -> CourtBundle:
    """Map a validated CP20 element; ``refs`` holds each non-nil document's reference and
    page count, keyed by its position among ``Documents/Document``. Values the schema admits
    but the canonical model does not (an empty URN, a 40-digit defendant id) become issues."""
    try:
        return _map(root, refs)
    except ValidationError as exc:
        issues = [
            Issue(
                "CANONICAL_INVALID",
                f"{e['msg']} (value {str(e.get('input'))[:60]!r})",
                "canonical:/" + "/".join(str(p) for p in e["loc"]),
            )
            for e in exc.errors()
        ]
        raise InvalidMessage(
            issues=issues, summary="CP20 cannot be mapped to a CourtBundle"
        ) from None


def _map(root: etree._Element, refs: Mapping[int, tuple[DocumentRef, int | None]]) -> CourtBundle:
    defendants = tuple(_defendant(d) for d in root.iterfind(f"{_NS}Defendants/{_NS}Defendant"))
    court = next((d.court_ou for d in defendants if d.court_ou), None)
    if court is None:
        first = root.find(f"{_NS}Defendants/{_NS}Defendant/{_NS}OUCode")
        raise _invalid(
            "COURT_OU_MISSING",
            "no defendant carries the OU code of a court, so the papers cannot be routed",
            first,
        )
    everyone = tuple(d.cms_defendant_id for d in defendants)
    grouped: dict[SectionKind, list[BundleDocument]] = {}
    for index, element in enumerate(root.iterfind(f"{_NS}Documents/{_NS}Document")):
        if element.get(_XSI_NIL) in ("true", "1") or index not in refs:
            continue
        ref, pages = refs[index]
        filename = (element.findtext(_NS + "FileName") or "").strip()
        material_type = int(_text(element, "MaterialType") or SINGLE_DOCUMENT)
        kind, doc_type, case_level = classify(material_type, filename)
        document_id = _text(element, "DocumentId") or ""
        grouped.setdefault(kind, []).append(
            BundleDocument(
                document_id=document_id,
                document=ref,
                title=_title(filename, document_id),
                document_type=doc_type,
                cps_material_type=material_type,
                page_count=pages,
                defendant_ids=() if case_level else everyone,
            )
        )
    if not grouped:
        raise _invalid(
            "DOCUMENTS_MISSING",
            "the message serves no documents (all are nil)",
            root.find(_NS + "Documents"),
        )
    return CourtBundle(
        case=BundleCase(
            ptiurn=_text(root, "URN") or "",
            court_ou=court,
            cms_case_id=int(_text(root, "CompassCaseId") or 0),
            transaction_id=int(_text(root, "TransactionID") or 0),
        ),
        defendants=defendants,
        sections=tuple(
            BundleSection(kind=kind, title=SECTION_TITLES[kind], documents=tuple(grouped[kind]))
            for kind in SectionKind
            if kind in grouped
        ),
    )


def _invalid(code: str, message: str, element: etree._Element | None) -> InvalidMessage:
    location = element_path(element) if element is not None else ""
    line = element.sourceline if element is not None else None
    return InvalidMessage(issues=[Issue(code, message, location, line)], summary=message)
