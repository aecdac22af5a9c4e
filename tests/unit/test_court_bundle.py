"""Flow 4: CP20 and CMS JSON "documents served" → CourtBundle → the court's bundle index,
and the documents endpoint. Messages here are fictional (tests/fixtures/cps and built
below); the public CP20 samples are run by tests/conformance/test_cp20_conformance.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import exchange.audit
import exchange.documents
from adapters.cps import cp20 as cp20_adapter
from adapters.cps.cp20 import parse_cp20
from adapters.cps.documents_served_json import (
    SCHEMA_PATH,
    is_documents_served,
    parse_documents_served,
)
from exchange.api.errors import install as install_errors
from exchange.auth import Principal
from exchange.domain import bundle as b
from exchange.domain.common import SENSITIVITY
from exchange.domain.documents import DocumentRef, Parsed
from exchange.domain.envelope import Agency, Envelope, MessageType, Party
from exchange.domain.errors import InvalidMessage, NotFound, UnsupportedFormat
from transforms.dcs_bundle import court_bundle_to_dcs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cps"
CP20_XML = (FIXTURES / "cp20-documents-served.xml").read_bytes()
CMS_JSON = (FIXTURES / "documents-served.json").read_bytes()
NS = "http://www.cgi.com/CP/CP20/2020-03"


def make_pdf(pages: int = 1, padding: bytes = b"") -> bytes:
    """A small well-formed PDF with ``pages`` page objects and an optional binary stream."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages)).encode()
    objs.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages)
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * pages
    if padding:
        objs.append(b"<< /Length %d >>\nstream\n" % len(padding) + padding + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n")
    for n, body in enumerate(objs, 1):
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    out += b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    return bytes(out)


def cp20(*documents: tuple[str, int, str, str], defendants: str | None = None) -> bytes:
    """A CP20 of ours: documents as (id, material type, file name, base64 content)."""
    docs = "".join(
        f"<Document><DocumentId>{i}</DocumentId><MaterialType>{m}</MaterialType>"
        f"<FileName>{f}</FileName><DocumentContent>{c}</DocumentContent></Document>"
        for i, m, f, c in documents
    )
    defendants = defendants or (
        "<Defendant><CMSDefendantID>1</CMSDefendantID><Surname>EXAMPLE</Surname>"
        "<OUCode>C01LV00</OUCode></Defendant>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<CP20 xmlns="{NS}"><TransactionID>1'
        "</TransactionID><CompassCaseId>2</CompassCaseId><URN>01ZD0312526</URN>"
        f"<ResponseEmail>x@example.invalid</ResponseEmail><Documents>{docs}</Documents>"
        f"<Defendants>{defendants}</Defendants></CP20>"
    ).encode()


def pdf64(pages: int = 1) -> str:
    return base64.b64encode(make_pdf(pages)).decode()


def envelope(**overrides: object) -> Envelope:
    fields: dict[str, object] = {
        "message_id": uuid.uuid4(),
        "message_type": MessageType.COURT_BUNDLE,
        "schema_version": "1.0",
        "case_urn": "01ZD0312526",
        "source": Party(agency=Agency.CPS, system="CMS"),
        "correlation_id": uuid.uuid4(),
        "occurred_at": dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
        "received_at": dt.datetime(2026, 3, 2, 9, 0, 5, tzinfo=dt.UTC),
    }
    return Envelope.model_validate({**fields, **overrides})


def bundle_of(parsed: Parsed) -> b.CourtBundle:
    assert isinstance(parsed.payload, b.CourtBundle)
    return parsed.payload


def codes(exc: pytest.ExceptionInfo[InvalidMessage]) -> list[str]:
    return [i.code for i in exc.value.issues]


# ------------------------------------------------------------------ CP20 (XML)


def test_cp20_maps_sections_documents_and_defendants() -> None:
    parsed = parse_cp20(CP20_XML)
    bundle = bundle_of(parsed)
    assert isinstance(bundle, b.CourtBundle)
    assert (bundle.case.ptiurn, bundle.case.court_ou) == ("01ZD0312526", "B01EF01")
    assert [s.kind for s in bundle.sections] == [
        b.SectionKind.CASE_SUMMARY,
        b.SectionKind.WITNESS_STATEMENTS,
        b.SectionKind.SERVED_BUNDLE,
    ]
    mg5, mg11, served = bundle.documents
    assert (mg5.document_type, mg5.page_count, mg5.defendant_ids) == ("MG5", 2, ())
    assert (mg11.document_type, mg11.page_count) == ("MG11", 3)  # base64 split over lines
    assert served.cps_material_type == 11
    assert served.defendant_ids == ("5000001", "5000002")
    stored = {ref.sha256: content for ref, content in parsed.documents}
    for doc in bundle.documents:
        assert hashlib.sha256(stored[doc.document.sha256]).hexdigest() == doc.document.sha256
        assert doc.document.media_type == "application/pdf"
    person, company = bundle.defendants
    assert (person.kind, person.forenames, person.birth_date) == (
        "person",
        "Alex Sam",
        dt.date(1990, 2, 28),
    )
    assert (company.kind, company.surname, company.birth_date) == (
        "unknown",
        "EXAMPLE HAULAGE LIMITED",
        None,
    )


def test_same_pdf_twice_is_stored_once() -> None:
    content = pdf64()
    parsed = parse_cp20(
        cp20(("A1", 0, "MG11 one.pdf", content), ("A2", 0, "exhibit AB1.pdf", content))
    )
    assert len(parsed.documents) == 1
    assert len(bundle_of(parsed).documents) == 2


def test_every_schema_error_is_reported_with_path_and_line() -> None:
    raw = (
        CP20_XML.replace(b"<MaterialType>11</MaterialType>", b"<MaterialType>99</MaterialType>")
        .replace(b"<DOB>1990-02-28</DOB>", b"<DOB>1990-02-30</DOB>")
        .replace(b"<DocumentId>D100001</DocumentId>", b"<DocumentId>d1</DocumentId>")
    )
    with pytest.raises(InvalidMessage) as exc:
        parse_cp20(raw)
    assert [(i.code, i.location, i.line) for i in exc.value.issues] == [
        ("SCHEMA_INVALID", "/CP20/Documents/Document[1]/DocumentId", 10),
        ("SCHEMA_INVALID", "/CP20/Documents/Document[3]/MaterialType", 26),
        ("SCHEMA_INVALID", "/CP20/Defendants/Defendant[1]/DOB", 36),
    ]
    assert all("{http" not in i.message for i in exc.value.issues)


def test_missing_element_is_reported_where_it_was_expected() -> None:
    with pytest.raises(InvalidMessage) as exc:
        parse_cp20(CP20_XML.replace(b"<URN>01ZD0312526</URN>", b""))
    (issue,) = exc.value.issues
    assert (issue.location, issue.line) == ("/CP20/ResponseEmail", 7)
    assert "Expected is ( URN )" in issue.message


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("JVBERi0x!!!", "DOCUMENT_BASE64_INVALID"),  # libxml2 lets this through; we do not
        ("JVBERi0xL", "DOCUMENT_BASE64_INVALID"),  # truncated: caught by the schema, re-coded
        (base64.b64encode(b"GIF89a not a pdf").decode(), "DOCUMENT_TYPE_UNSUPPORTED"),
    ],
)
def test_bad_content_is_a_clear_issue(content: str, code: str) -> None:
    with pytest.raises(InvalidMessage) as exc:
        parse_cp20(cp20(("A1", 0, "MG5.pdf", pdf64()), ("A2", 0, "MG11.pdf", content)))
    assert codes(exc) == [code]
    assert exc.value.issues[0].location == "/CP20/Documents/Document[2]/DocumentContent"
    assert exc.value.issues[0].line == 2


def test_extension_we_do_not_serve_is_unsupported() -> None:
    with pytest.raises(InvalidMessage) as exc:
        parse_cp20(cp20(("A1", 0, "payload.exe", base64.b64encode(b"MZ").decode())))
    assert codes(exc) == ["DOCUMENT_TYPE_UNSUPPORTED"]
    assert ".pdf" in exc.value.issues[0].message


def test_nil_documents_are_skipped_and_none_left_is_an_error() -> None:
    nil = '<Document xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
    raw = cp20(("A1", 0, "MG5.pdf", pdf64())).replace(b"<Documents>", b"<Documents>" + nil.encode())
    assert [d.document_id for d in bundle_of(parse_cp20(raw)).documents] == ["A1"]
    only_nil = re.sub(
        rb"<Documents>.*</Documents>", b"<Documents>" + nil.encode() + b"</Documents>", raw
    )
    with pytest.raises(InvalidMessage) as exc:
        parse_cp20(only_nil)
    assert codes(exc) == ["DOCUMENTS_MISSING"]


def test_no_court_code_cannot_be_routed() -> None:
    raw = cp20(("A1", 0, "MG5.pdf", pdf64())).replace(b"<OUCode>C01LV00</OUCode>", b"<OUCode/>")
    with pytest.raises(InvalidMessage) as exc:
        parse_cp20(raw)
    assert codes(exc) == ["COURT_OU_MISSING"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (
            b'<!DOCTYPE CP20 [<!ENTITY x "y">]><CP20 xmlns="' + NS.encode() + b'"/>',
            "XML_DTD_FORBIDDEN",
        ),
        (b"<CP20", "XML_MALFORMED"),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><CP20/>', "XML_ENCODING"),
        (b"<a>" * 20 + b"</a>" * 20, "XML_TOO_DEEP"),
    ],
)
def test_hostile_or_broken_xml_is_refused(raw: bytes, code: str) -> None:
    with pytest.raises(InvalidMessage) as exc:
        parse_cp20(raw)
    assert codes(exc) == [code]


def test_size_limit_and_other_formats() -> None:
    with pytest.raises(InvalidMessage) as exc:
        parse_cp20(CP20_XML, max_bytes=1024)
    assert codes(exc) == ["XML_TOO_LARGE"]
    with pytest.raises(UnsupportedFormat):
        parse_cp20(b'<NewCaseMessage xmlns="http://www.dca.gov.uk/xmlschemas/libra"/>')


# ------------------------------------------------------------------ CMS JSON


def cms(**changes: object) -> bytes:
    doc = json.loads(CMS_JSON)
    doc.update(changes)
    return orjson.dumps(doc)


def test_cms_json_maps_sections_and_served_dates() -> None:
    parsed = parse_documents_served(CMS_JSON)
    bundle = bundle_of(parsed)
    assert isinstance(bundle, b.CourtBundle)
    assert is_documents_served(json.loads(CMS_JSON))
    assert bundle.case.served_at == dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    mg5, mg11 = bundle.documents
    assert (mg5.page_count, mg5.served_date) == (2, dt.date(2026, 3, 2))  # counted by the hub
    assert (mg11.title, mg11.defendant_ids) == ("Statement of PC Example", ("5000001",))
    assert bundle.sections[1].title == "Statements"
    assert bundle.defendants[1].kind == "organisation"
    assert {r.sha256 for r, _ in parsed.documents} == {d.document.sha256 for d in bundle.documents}


def test_cms_json_schema_errors_carry_json_pointers() -> None:
    doc = json.loads(CMS_JSON)
    doc["surprise"] = 1
    doc["sections"][1]["documents"][0]["mediaType"] = "application/x-msdownload"
    del doc["defendants"][0]["surname"]
    with pytest.raises(InvalidMessage) as exc:
        parse_documents_served(orjson.dumps(doc))
    located = {(i.code, i.location) for i in exc.value.issues}
    assert located == {
        ("JSON_SCHEMA_INVALID", "/"),
        ("JSON_SCHEMA_INVALID", "/defendants/0"),
        ("JSON_SCHEMA_INVALID", "/sections/1/documents/0/mediaType"),
    }


def test_cms_json_document_problems() -> None:
    doc = json.loads(CMS_JSON)
    doc["sections"][0]["documents"][0]["content"] = "JVBERi0x!!!"
    doc["sections"][1]["documents"][0]["sha256"] = "0" * 64
    with pytest.raises(InvalidMessage) as exc:
        parse_documents_served(orjson.dumps(doc))
    assert [(i.code, i.location) for i in exc.value.issues] == [
        ("DOCUMENT_BASE64_INVALID", "/sections/0/documents/0/content"),
        ("DOCUMENT_HASH_MISMATCH", "/sections/1/documents/0/sha256"),
    ]


def test_cms_json_unknown_defendant_and_limits() -> None:
    doc = json.loads(CMS_JSON)
    doc["sections"][1]["documents"][0]["defendantIds"] = ["999"]
    with pytest.raises(InvalidMessage) as exc:
        parse_documents_served(orjson.dumps(doc))
    assert codes(exc) == ["CANONICAL_INVALID"]
    assert "999" in exc.value.issues[0].message
    deep: object = "x"
    for _ in range(20):
        deep = [deep]
    for raw, code in [
        (cms(urn=deep), "JSON_TOO_DEEP"),
        (b'{"documentType": ', "JSON_MALFORMED"),
        (CMS_JSON, "JSON_TOO_LARGE"),
    ]:
        with pytest.raises(InvalidMessage) as exc:
            parse_documents_served(
                raw, max_bytes=len(CMS_JSON) - 1 if code == "JSON_TOO_LARGE" else 10**6
            )
        assert codes(exc) == [code]


def test_json_media_types_are_the_ones_the_decoder_checks() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    enum = set(schema["$defs"]["document"]["properties"]["mediaType"]["enum"])
    assert enum == {media for media, _ in cp20_adapter._MEDIA.values()}


# ------------------------------------------------------------------ the court's index


def test_court_index_links_documents_and_holds_no_bytes() -> None:
    parsed = parse_cp20(CP20_XML)
    env = envelope()
    index = court_bundle_to_dcs(bundle_of(parsed), env)
    assert (index["caseUrn"], index["courtCode"], index["documentCount"]) == (
        "01ZD0312526",
        "B01EF01",
        3,
    )
    first = index["sections"][0]["documents"][0]
    assert first["href"] == "/documents/" + first["sha256"]
    assert first["servedDate"] == "2026-03-02"  # CP20 has none: the hub's receipt is service
    assert index["totalSize"] == sum(len(c) for _, c in parsed.documents)
    text = orjson.dumps(index)
    assert b"JVBER" not in text
    assert b"%PDF" not in text
    assert b"700001" not in text
    assert b"900001" not in text
    assert b"example.invalid" not in text


# ------------------------------------------------------------------ the model


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    seen.add(model)
    for info in model.model_fields.values():
        for arg in [info.annotation, *getattr(info.annotation, "__args__", ())]:
            for inner in [arg, *getattr(arg, "__args__", ())]:
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
                    # DocumentRef (shared, not ours) is marked where the bundle holds it.
                    if inner is not DocumentRef:
                        _models(inner, seen)
    return seen


def test_every_bundle_field_has_a_sensitivity_marking() -> None:
    unmarked = [
        f"{m.__name__}.{name}"
        for m in _models(b.CourtBundle, set())
        for name, info in m.model_fields.items()
        if not isinstance(info.json_schema_extra, dict) or SENSITIVITY not in info.json_schema_extra
    ]
    assert unmarked == []
    props = b.CourtBundle.model_json_schema()["$defs"]["BundleDefendant"]["properties"]
    assert props["birth_date"][SENSITIVITY] == "personal"


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20)
_ids = st.from_regex(r"[1-9][0-9]{0,8}", fullmatch=True)
_refs = st.builds(
    DocumentRef,
    sha256=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    size=st.integers(0, 2**40),
    media_type=st.sampled_from(["application/pdf", "image/png"]),
    filename=st.none() | _text,
)


@st.composite
def bundles(draw: st.DrawFn) -> b.CourtBundle:
    ids = draw(st.lists(_ids, min_size=1, max_size=3, unique=True))
    defendants = tuple(
        b.BundleDefendant(
            cms_defendant_id=i,
            kind=draw(st.sampled_from(["person", "organisation", "unknown"])),
            surname=draw(_text),
            forenames=draw(st.none() | _text),
            birth_date=draw(st.none() | st.dates()),
            asn=draw(st.none() | _text),
        )
        for i in ids
    )
    docs = st.builds(
        b.BundleDocument,
        document_id=_text,
        document=_refs,
        title=_text,
        document_type=_text,
        cps_material_type=st.none() | st.integers(0, 22),
        served_date=st.none() | st.dates(),
        page_count=st.none() | st.integers(1, 9999),
        defendant_ids=st.lists(st.sampled_from(ids), unique=True).map(tuple),
    )
    sections = tuple(
        b.BundleSection(
            kind=k, title=draw(_text), documents=tuple(draw(st.lists(docs, min_size=1, max_size=3)))
        )
        for k in draw(
            st.lists(st.sampled_from(list(b.SectionKind)), min_size=1, max_size=3, unique=True)
        )
    )
    case = b.BundleCase(
        ptiurn=draw(_text),
        court_ou=draw(st.from_regex(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}", fullmatch=True)),
        cms_case_id=draw(st.none() | st.integers(0, 2**31)),
        served_at=draw(st.none() | st.datetimes(timezones=st.just(dt.UTC))),
    )
    return b.CourtBundle(case=case, defendants=defendants, sections=sections)


@settings(max_examples=60, deadline=None)
@given(bundles())
def test_court_bundle_json_round_trip(bundle: b.CourtBundle) -> None:
    wire = orjson.dumps(bundle.model_dump(mode="json", exclude_none=True))
    assert b.CourtBundle.model_validate(orjson.loads(wire)) == bundle


def test_bundle_is_frozen_and_forbids_extra() -> None:
    bundle = bundle_of(parse_cp20(CP20_XML))
    with pytest.raises(ValueError, match="frozen"):
        bundle.case.__setattr__("ptiurn", "X")
    with pytest.raises(ValueError, match="Extra inputs"):
        b.BundleCase.model_validate({**bundle.case.model_dump(), "surprise": 1})


# ------------------------------------------------------------------ 50 MB


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _rss_reset_peak() -> int:
    """Current RSS in bytes after resetting the kernel's peak (Linux); 0 where unsupported.
    tracemalloc sees Python's allocations only; libxml2's tree shows in RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return 0
    return _status_kib("VmRSS") * 1024


def test_fifty_megabyte_bundle_parses_in_bounded_memory(capsys: pytest.CaptureFixture[str]) -> None:
    pdf = make_pdf(3, padding=os.urandom(50 * 1024 * 1024))
    encoded = base64.encodebytes(pdf).decode()  # 76-column lines, as mail-style encoders send
    raw = cp20(("B1", 12, "Full bundle.pdf", encoded))
    expected = hashlib.sha256(pdf).hexdigest()
    del pdf, encoded
    rss_before = _rss_reset_peak()
    tracemalloc.start()
    try:
        parsed = parse_cp20(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = _status_kib("VmHWM") * 1024 - rss_before if rss_before else -1
    ((ref, content),) = parsed.documents
    assert ref.sha256 == expected == hashlib.sha256(content).hexdigest()
    assert bundle_of(parsed).documents[0].page_count == 3
    canonical = orjson.dumps(parsed.payload.model_dump(mode="json", exclude_none=True))
    assert len(canonical) < 64 * 1024
    with capsys.disabled():
        print(
            f"\n50 MB CP20: document {len(raw) / 2**20:.1f} MiB, Python peak "
            f"{peak / 2**20:.1f} MiB ({peak / len(raw):.2f}x), max-RSS growth "
            f"{rss_growth / 2**20:.1f} MiB, canonical JSON {len(canonical)} bytes"
        )
    assert peak < 4 * len(raw)


# ------------------------------------------------------------------ GET /documents/{sha256}


class _Verifier:
    """Tokens in these tests are "<client>:<scope>"; the real verifier is tested elsewhere."""

    def verify(self, token: str) -> Principal:
        client, _, scope = token.partition(":")
        return Principal(client_id=client, roles=frozenset(scope.split()))


@pytest.fixture
def documents_api(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[FastAPI, dict[str, tuple[bytes, str]], list[str]]:
    from exchange.api import documents as api

    store: dict[str, tuple[bytes, str]] = {}
    reads: list[str] = []

    @asynccontextmanager
    async def transaction(_engine: object) -> AsyncIterator[None]:
        yield None

    async def get(_conn: object, sha256: str) -> tuple[bytes, str]:
        if sha256 not in store:
            raise NotFound(f"no document {sha256}")
        return store[sha256]

    async def record(_conn: object, event: str, *, actor: str, **_: object) -> None:
        reads.append(f"{event}:{actor}")

    monkeypatch.setattr(api, "transaction", transaction)
    monkeypatch.setattr(exchange.documents, "get", get)
    monkeypatch.setattr(exchange.audit, "record", record)
    app = FastAPI()
    app.state.hub = SimpleNamespace(engine=None, verifier=_Verifier())
    install_errors(app)
    app.include_router(api.router)
    return app, store, reads


async def test_documents_endpoint_streams_with_type_and_disposition(
    documents_api: tuple[FastAPI, dict[str, tuple[bytes, str]], list[str]],
) -> None:
    app, store, reads = documents_api
    pdf = make_pdf(2, padding=os.urandom(3 * 1024 * 1024))  # more than one chunk
    sha = hashlib.sha256(pdf).hexdigest()
    store[sha] = (pdf, "application/pdf")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub"
    ) as client:
        ok = await client.get(
            f"/documents/{sha}", headers={"Authorization": "Bearer crown-court:court"}
        )
        missing = await client.get(
            "/documents/" + "0" * 64, headers={"Authorization": "Bearer ops1:ops"}
        )
        police = await client.get(
            f"/documents/{sha}", headers={"Authorization": "Bearer force01:police"}
        )
        anonymous = await client.get(f"/documents/{sha}")
        malformed = await client.get(
            "/documents/not-a-hash", headers={"Authorization": "Bearer c:cps"}
        )
    assert ok.status_code == 200
    assert ok.content == pdf
    assert ok.headers["content-type"] == "application/pdf"
    assert ok.headers["content-disposition"] == f'attachment; filename="{sha}.pdf"'
    assert ok.headers["etag"] == f'"{sha}"'
    assert ok.headers["content-length"] == str(len(pdf))
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    assert (police.status_code, police.json()["code"]) == (403, "FORBIDDEN")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "UNAUTHENTICATED")
    assert malformed.status_code == 422
    assert reads == ["document.read:crown-court"]
