"""Canonical ``CourtBundle`` → the court's bundle index (DCS-style), with links, never bytes.

The court fetches each document from the hub (``GET /documents/<sha256>``) and checks it
against the SHA-256 in the index. Data minimisation, from an allowlist so a new canonical
field is withheld until someone decides otherwise: the court gets the case, the defendants'
names, dates of birth and ASNs (to match the papers to the people in its own records) and
the index. Withheld: CMS internal ids (Compass case id, dispatch transaction id), which mean
nothing outside the CPS; the CPS response e-mail never reaches the canonical model at all.
"""

from __future__ import annotations

from typing import Any

from exchange.domain.bundle import BundleDefendant, BundleDocument, CourtBundle
from exchange.domain.envelope import Envelope

__all__ = ["COURT_BUNDLE_INDEX_SCHEMA", "DOCUMENTS_PATH", "court_bundle_to_dcs"]

COURT_BUNDLE_INDEX_SCHEMA = "cjs-exchange/court-bundle-index/1.0"
DOCUMENTS_PATH = "/documents/"


def _defendant(defendant: BundleDefendant) -> dict[str, Any]:
    return {
        "defendantId": defendant.cms_defendant_id,
        "type": defendant.kind,
        "surname": defendant.surname,
        "forenames": defendant.forenames,
        "dateOfBirth": defendant.birth_date.isoformat() if defendant.birth_date else None,
        "asn": defendant.asn,
        "courtCode": defendant.court_ou,
    }


def _document(doc: BundleDocument, served_default: str | None) -> dict[str, Any]:
    ref = doc.document
    return {
        "documentId": doc.document_id,
        "title": doc.title,
        "documentType": doc.document_type,
        # CP20 has no served date: the papers are served when the hub receives them.
        "servedDate": doc.served_date.isoformat() if doc.served_date else served_default,
        "pageCount": doc.page_count,
        "fileName": ref.filename,
        "mediaType": ref.media_type,
        "size": ref.size,
        "sha256": ref.sha256,
        "href": DOCUMENTS_PATH + ref.sha256,
        "defendantIds": list(doc.defendant_ids),
    }


def court_bundle_to_dcs(bundle: CourtBundle, envelope: Envelope) -> dict[str, Any]:
    """The court's bundle index: sections → documents with title, type, served date, size,
    SHA-256 and the hub path to fetch each one. Holds no document bytes."""
    served = bundle.case.served_at or envelope.received_at
    served_date = served.date().isoformat()
    sections = [
        {
            "section": section.kind.value,
            "title": section.title,
            "documents": [_document(d, served_date) for d in section.documents],
        }
        for section in bundle.sections
    ]
    documents = bundle.documents
    return {
        "schema": COURT_BUNDLE_INDEX_SCHEMA,
        "messageId": str(envelope.message_id),
        "caseUrn": bundle.case.ptiurn,
        "courtCode": bundle.case.court_ou,
        "servedAt": served.isoformat(),
        "defendants": [_defendant(d) for d in bundle.defendants],
        "sections": sections,
        "documentCount": len(documents),
        "totalSize": sum(d.document.size for d in documents),
    }
