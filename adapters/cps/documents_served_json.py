"""CPS adapter for CMS "documents served" JSON: bytes in, canonical ``CourtBundle`` out.

The JSON twin of CP20 (``schemas/json/cms/documents-served-v1.json``, draft 2020-12, no
unknown properties anywhere). Size is checked before parsing and nesting depth after
(orjson itself stops at 1024 levels, so parsing a hostile document stays cheap); every
schema error becomes an issue with its JSON pointer. Documents are decoded with the same
rules as CP20 (``adapters.cps.cp20.decode_document``); an optional ``sha256`` per document
lets CMS prove the bytes arrived whole.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from itertools import islice
from pathlib import Path
from typing import Any, Final

import jsonschema
from pydantic import ValidationError

from adapters.cps.cp20 import DocumentProblem, decode_document
from exchange import jsonsafe
from exchange.domain.bundle import (
    SECTION_TITLES,
    BundleCase,
    BundleDefendant,
    BundleDocument,
    BundleSection,
    CourtBundle,
    SectionKind,
)
from exchange.domain.documents import DocumentRef, Parsed
from exchange.domain.errors import InvalidMessage, Issue

__all__ = [
    "DOCUMENT_TYPE",
    "MAX_BYTES",
    "MAX_DEPTH",
    "SCHEMA_PATH",
    "is_documents_served",
    "parse_documents_served",
    "validator",
]

SCHEMA_PATH: Final = (
    Path(__file__).resolve().parents[2] / "schemas" / "json" / "cms" / "documents-served-v1.json"
)
DOCUMENT_TYPE: Final = "DocumentsServed"
MAX_BYTES: Final = 128 * 1024 * 1024
MAX_DEPTH: Final = 16


@functools.cache
def validator() -> jsonschema.Draft202012Validator:
    """The compiled documents-served JSON Schema (loaded once per process)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def is_documents_served(document: Any) -> bool:
    """How ingest tells this CMS JSON from the others: ``"documentType": "DocumentsServed"``."""
    return isinstance(document, dict) and document.get("documentType") == DOCUMENT_TYPE


def _pointer(path: Any) -> str:
    return jsonsafe.pointer(tuple(path)) or "/"  # the document itself is "/" here


def _load(raw: bytes, max_bytes: int) -> Any:
    # The documents are long strings, not many values: a value-count bound stops JSON bombs.
    return jsonsafe.load_json(raw, max_bytes=max_bytes, max_depth=MAX_DEPTH, max_values=10_000)


def _schema_issues(document: Any) -> list[Issue]:
    issues = []
    found = islice(validator().iter_errors(document), jsonsafe.MAX_REPORTED_ISSUES)
    for error in sorted(found, key=lambda e: [str(p) for p in e.absolute_path]):
        # Never echo a document's base64 back in an error message.
        message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
        issues.append(Issue("JSON_SCHEMA_INVALID", message, _pointer(error.absolute_path)))
    return issues


def _decode(
    document: dict[str, Any],
) -> tuple[
    list[list[tuple[DocumentRef, int | None]]], list[tuple[DocumentRef, bytes]], list[Issue]
]:
    refs: list[list[tuple[DocumentRef, int | None]]] = []
    stored: dict[str, tuple[DocumentRef, bytes]] = {}
    issues: list[Issue] = []
    for s, section in enumerate(document["sections"]):
        refs.append([])
        for d, item in enumerate(section["documents"]):
            where = f"/sections/{s}/documents/{d}"
            try:
                ref, data, pages = decode_document(
                    item.pop("content"),  # drop the base64 as soon as it is decoded
                    filename=item["fileName"],
                    media_type=item["mediaType"],
                    location=where + "/content",
                )
            except DocumentProblem as problem:
                issues.append(problem.issue)
                continue
            if item.get("sha256") not in (None, ref.sha256):
                issues.append(
                    Issue(
                        "DOCUMENT_HASH_MISMATCH",
                        f"content hashes to {ref.sha256}, not the sha256 given",
                        where + "/sha256",
                    )
                )
                continue
            refs[-1].append((ref, pages))
            stored.setdefault(ref.sha256, (ref, data))
    return refs, list(stored.values()), issues


def _bundle(
    document: dict[str, Any], refs: list[list[tuple[DocumentRef, int | None]]]
) -> CourtBundle:
    def date(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    defendants = tuple(
        BundleDefendant(
            cms_defendant_id=str(int(d["cmsDefendantId"])),
            kind=d.get("kind")
            or ("person" if d.get("forenames") or d.get("dateOfBirth") else "unknown"),
            surname=d["surname"],
            forenames=d.get("forenames"),
            birth_date=date(d.get("dateOfBirth")),
            asn=d.get("asn"),
            court_ou=d.get("courtOu"),
        )
        for d in document["defendants"]
    )
    sections = []
    for section, section_refs in zip(document["sections"], refs, strict=True):
        kind = SectionKind(section["section"])
        docs = tuple(
            BundleDocument(
                document_id=item["documentId"],
                document=ref,
                title=item["title"],
                document_type=item["documentType"],
                cps_material_type=item.get("materialType"),
                served_date=date(item.get("servedDate")),
                # A page count we counted beats none; the sender's beats ours.
                page_count=item.get("pageCount") or pages,
                defendant_ids=tuple(str(int(i)) for i in item.get("defendantIds", ())),
            )
            for item, (ref, pages) in zip(section["documents"], section_refs, strict=True)
        )
        sections.append(
            BundleSection(
                kind=kind, title=section.get("title") or SECTION_TITLES[kind], documents=docs
            )
        )
    served_at = document.get("servedAt")
    return CourtBundle(
        case=BundleCase(
            ptiurn=document["urn"],
            court_ou=document["courtOu"],
            cms_case_id=document.get("cmsCaseId"),
            transaction_id=document.get("transactionId"),
            served_at=dt.datetime.fromisoformat(served_at.replace("Z", "+00:00"))
            if served_at
            else None,
        ),
        defendants=defendants,
        sections=tuple(sections),
    )


def parse_documents_served(raw: bytes, *, max_bytes: int = MAX_BYTES) -> Parsed:
    """Parse, validate and map a CMS documents-served JSON message.

    Returns :class:`Parsed` (a ``CourtBundle`` and each document's bytes); raises
    ``InvalidMessage`` with every issue found.
    """
    document = _load(bytes(raw), max_bytes)
    issues = _schema_issues(document)
    if issues:
        raise InvalidMessage(
            issues=issues,
            summary=f"documents-served JSON is not valid against its schema: {len(issues)} errors",
        )
    refs, stored, issues = _decode(document)
    if issues:
        raise InvalidMessage(issues=issues, summary=f"documents rejected: {len(issues)} error(s)")
    try:
        bundle = _bundle(document, refs)
    except (ValidationError, ValueError) as exc:
        errors = (
            exc.errors() if isinstance(exc, ValidationError) else [{"msg": str(exc), "loc": ()}]
        )
        raise InvalidMessage(
            issues=[
                Issue(
                    "CANONICAL_INVALID", str(e["msg"]), "canonical:/" + "/".join(map(str, e["loc"]))
                )
                for e in errors
            ],
            summary="documents-served JSON cannot be mapped to a CourtBundle",
        ) from None
    return Parsed(bundle, stored)
