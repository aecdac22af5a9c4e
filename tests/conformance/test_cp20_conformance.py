"""CP20 conformance: over every public CPS sample, our parser accepts exactly what the
PUBLISHED cp20.xsd (read from ../shared at test time, never copied) accepts, and maps every
document it carries: same count, same SHA-256 of the decoded bytes."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from lxml import etree

from adapters.cps.cp20 import parse_cp20
from exchange.domain.bundle import CourtBundle
from exchange.domain.errors import InvalidMessage
from tests.conformance.conftest import shared_dir

SHARED = shared_dir()
PUBLISHED_XSD = SHARED / "standards" / "cps" / "cp20.xsd"
SAMPLES = SHARED / "samples" / "hmcts-cps"
NS = "{http://www.cgi.com/CP/CP20/2020-03}"
SAMPLE_FILES = sorted(SAMPLES.glob("*.xml")) if SAMPLES.is_dir() else []

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(
        not (PUBLISHED_XSD.is_file() and SAMPLE_FILES),
        reason=f"published CP20 schema or samples not found under {SHARED}",
    ),
]


def _reference_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


@pytest.fixture(scope="module")
def published() -> etree.XMLSchema:
    """The published schema as lxml compiles it (it does: its imports are local files)."""
    return etree.XMLSchema(etree.parse(str(PUBLISHED_XSD), _reference_parser()))


def _published_documents(raw: bytes) -> list[str]:
    """SHA-256 of each non-nil document's content, decoded independently of our adapter."""
    root = etree.fromstring(raw, _reference_parser())
    hashes = []
    for doc in root.iterfind(f"{NS}Documents/{NS}Document"):
        content = doc.findtext(f"{NS}DocumentContent")
        if content is None:
            continue
        decoded = base64.b64decode("".join(content.split()), validate=True)
        hashes.append(hashlib.sha256(decoded).hexdigest())
    return hashes


def test_samples_are_present() -> None:
    names = {p.name for p in SAMPLE_FILES}
    assert {"CP20_caseLevel.xml", "CP20_defendantLevel.xml", "CP20_schema_invalid.xml"} <= names


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_is_judged_as_the_published_schema_judges_it(
    sample: Path, published: etree.XMLSchema
) -> None:
    raw = sample.read_bytes()
    valid = published.validate(etree.fromstring(raw, _reference_parser()))
    if not valid:
        with pytest.raises(InvalidMessage) as exc:
            parse_cp20(raw)
        assert exc.value.issues, "a rejection must say why"
        assert {i.code for i in exc.value.issues} == {"SCHEMA_INVALID"}
        assert all(i.location.startswith("/CP20") and i.line for i in exc.value.issues)
        return
    parsed = parse_cp20(raw)
    bundle = parsed.payload
    assert isinstance(bundle, CourtBundle)
    expected = _published_documents(raw)
    assert [d.document.sha256 for d in bundle.documents] == expected
    stored = {ref.sha256: content for ref, content in parsed.documents}
    assert set(stored) == set(expected)
    for ref, content in parsed.documents:
        assert (ref.size, hashlib.sha256(content).hexdigest()) == (len(content), ref.sha256)
    root = etree.fromstring(raw, _reference_parser())
    assert bundle.case.ptiurn == root.findtext(f"{NS}URN")
    assert [d.asn for d in bundle.defendants] == [
        d.findtext(f"{NS}ASN") for d in root.iterfind(f"{NS}Defendants/{NS}Defendant")
    ]
