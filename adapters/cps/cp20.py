"""CPS adapter for CP20 "documents served": bytes in, canonical ``CourtBundle`` + binaries out.

Safe-parse, validate against the project's own XSD (``schemas/xsd/cps/cp20-v1.xsd``) reporting
every error, decode each document's base64 and check that its bytes are what its file name
says, then map (``transforms/cp20.py``). The result is :class:`Parsed`: the payload holds
DocumentRefs only, the bytes travel beside it to the claim-check store.

A CP20 carries whole PDFs, so a message can be tens of megabytes with single text nodes far
over libxml2's 10 MB default; ``exchange.xmlsafe.parse_xml`` refuses those (``huge_tree`` off).
``_parse`` here keeps xmlsafe's rules (UTF-8 only, no DOCTYPE at all, no entities, no network,
bounded size and depth) and only lifts the text-node limit. ``huge_tree`` also lifts libxml2's
entity-amplification guard, which cannot matter: a document with a DOCTYPE never reaches
libxml2, so no entity can be declared. Documents are decoded one at a time and their text
freed as we go, so peak memory stays near one copy of the message plus the decoded bytes.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
from pathlib import Path, PurePath
from typing import Final

from lxml import etree

from exchange.domain.bundle import CourtBundle
from exchange.domain.documents import DocumentRef, Parsed
from exchange.domain.errors import InvalidMessage, Issue, UnsupportedFormat
from exchange.formats import CP20_NS
from exchange.xmlsafe import element_path
from exchange.xsd import load_schema, schema_issues
from transforms.cp20 import to_court_bundle

__all__ = [
    "MAX_CP20_BYTES",
    "SCHEMA_PATH",
    "DocumentProblem",
    "decode_document",
    "media_type_for",
    "parse_cp20",
    "schema",
    "validate_cp20",
]

SCHEMA_PATH: Final = Path(__file__).resolve().parents[2] / "schemas" / "xsd" / "cps" / "cp20-v1.xsd"
MAX_CP20_BYTES: Final = 128 * 1024 * 1024
MAX_DEPTH: Final = 16  # CP20 nests 4 deep; anything deeper is not a CP20
_NS: Final = "{" + CP20_NS + "}"
_XSI_NIL: Final = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_ENCODING: Final = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# xs:base64Binary: the alphabet with XML whitespace anywhere, at most two '=' at the end.
_BASE64: Final = re.compile(r"[A-Za-z0-9+/ \t\r\n]*(?:=[ \t\r\n]*){0,2}")
_PDF_PAGE: Final = re.compile(rb"/Type\s*/Page(?![A-Za-z])")

# What each accepted extension claims, and the magic bytes that prove it (None: no check).
_MEDIA: Final[dict[str, tuple[str, tuple[bytes, ...] | None]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (b"PK\x03\x04",),
    ),
    ".rtf": ("application/rtf", (b"{\\rtf",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".tif": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    ".tiff": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    ".txt": ("text/plain", None),
}
_MAGIC_BY_TYPE: Final = dict(_MEDIA.values())
# PDF readers (Acrobat, pdf.js) find the header anywhere in the first 1024 bytes.
_PDF_HEADER_WINDOW: Final = 1024


class DocumentProblem(Exception):
    """A document's content cannot be accepted; carries the issue to report."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def _reject(code: str, message: str, *, line: int | None = None) -> InvalidMessage:
    return InvalidMessage(issues=[Issue(code, message, line=line)], summary=message)


def _parse(raw: bytes, max_bytes: int) -> etree._Element:
    """xmlsafe's rules with huge text nodes allowed (see the module docstring)."""
    if len(raw) > max_bytes:
        raise _reject("XML_TOO_LARGE", f"document is {len(raw)} bytes; the limit is {max_bytes}")
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    declared = _ENCODING.match(body)
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii")
    ):
        raise _reject("XML_ENCODING", "only UTF-8 is accepted")
    # XML is case-sensitive and a DOCTYPE cannot hide in base64, so a plain scan of the whole
    # document (memchr speed) is both simpler and stricter than finding the prolog's end.
    doctype = raw.find(b"<!DOCTYPE")
    if doctype >= 0:
        line = 1 + raw.count(b"\n", 0, doctype)
        raise _reject(
            "XML_DTD_FORBIDDEN", "DTDs and entity declarations are not accepted", line=line
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, collect_ids=False
    )
    try:
        # libxml2 reads undeclared documents as UTF-8 and refuses bytes that are not.
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        raise _reject(
            "XML_MALFORMED", f"XML is not well-formed: {exc.msg or exc}", line=line
        ) from None
    if root.getroottree().docinfo.doctype:
        raise _reject("XML_DTD_FORBIDDEN", "document has a DOCTYPE declaration", line=1)
    depth, deepest = 0, 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise _reject("XML_TOO_DEEP", f"elements nest deeper than {MAX_DEPTH} levels")
    return root


@functools.cache
def schema() -> etree.XMLSchema:
    """The compiled CP20 schema (compiled once per process)."""
    return load_schema(SCHEMA_PATH)


def validate_cp20(root: etree._Element) -> list[Issue]:
    """Every schema error in a CP20 document, with a readable XPath and the line."""
    issues = []
    for issue in schema_issues(schema(), root):
        if "base64Binary" in issue.message:
            # libxml2 quotes the whole value: for a PDF that is megabytes of base64.
            issue = Issue(
                "DOCUMENT_BASE64_INVALID",
                "content is not valid base64 (xs:base64Binary): its length or padding is wrong",
                issue.location,
                issue.line,
            )
        issues.append(issue)
    return issues


def media_type_for(filename: str) -> str | None:
    """The media type a file name's extension claims, or None if we do not accept it."""
    entry = _MEDIA.get(PurePath(filename).suffix.lower())
    return entry[0] if entry else None


def _pdf_pages(content: bytes) -> int | None:
    # Page objects are countable unless compressed into object streams; then say unknown.
    pages = len(_PDF_PAGE.findall(content))
    return pages or None


def _looks_like(media_type: str, content: bytes) -> bool:
    magic = _MAGIC_BY_TYPE.get(media_type)
    if magic is None:
        return True
    if media_type == "application/pdf":
        return any(m in content[:_PDF_HEADER_WINDOW] for m in magic)
    return content.startswith(magic)


def decode_document(
    text: str, *, filename: str, location: str, media_type: str | None = None
) -> tuple[DocumentRef, bytes, int | None]:
    """Decode base64 ``text`` and check the bytes are what ``media_type`` (or the file name's
    extension) claims. Returns the reference, the bytes and the page count if known; raises
    :class:`DocumentProblem` otherwise."""
    if _BASE64.fullmatch(text) is None:
        bad = re.search(r"[^A-Za-z0-9+/= \t\r\n]", text)
        where = f" (character {text[bad.start()]!r} at offset {bad.start()})" if bad else ""
        raise DocumentProblem(
            Issue("DOCUMENT_BASE64_INVALID", f"content is not valid base64{where}", location)
        )
    significant = len(text) - sum(text.count(c) for c in " \t\r\n")
    if significant % 4:
        raise DocumentProblem(
            Issue(
                "DOCUMENT_BASE64_INVALID",
                "base64 content is truncated (length not a multiple of 4)",
                location,
            )
        )
    try:
        content = binascii.a2b_base64(text)  # skips the whitespace already vetted above
    except binascii.Error as exc:
        raise DocumentProblem(
            Issue("DOCUMENT_BASE64_INVALID", f"bad base64: {exc}", location)
        ) from None
    claimed = media_type or media_type_for(filename)
    if claimed not in _MAGIC_BY_TYPE:
        what = f"media type {claimed!r}" if claimed else "its extension"
        raise DocumentProblem(
            Issue(
                "DOCUMENT_TYPE_UNSUPPORTED",
                f"file {filename!r}: {what} is not accepted; accepted extensions: "
                + ", ".join(sorted(_MEDIA)),
                location,
            )
        )
    if not _looks_like(claimed, content):
        raise DocumentProblem(
            Issue(
                "DOCUMENT_TYPE_UNSUPPORTED",
                f"file {filename!r} claims to be {claimed} but its content is not "
                f"(starts with {content[:8]!r})",
                location,
            )
        )
    pages = _pdf_pages(content) if claimed == "application/pdf" else None
    ref = DocumentRef(
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        media_type=claimed,
        filename=filename[:255] or None,
    )
    return ref, content, pages


def _decode_all(
    root: etree._Element,
) -> tuple[dict[int, tuple[DocumentRef, int | None]], list[tuple[DocumentRef, bytes]], list[Issue]]:
    refs: dict[int, tuple[DocumentRef, int | None]] = {}
    stored: dict[str, tuple[DocumentRef, bytes]] = {}
    issues: list[Issue] = []
    for index, doc in enumerate(root.iterfind(f"{_NS}Documents/{_NS}Document")):
        if doc.get(_XSI_NIL) in ("true", "1"):
            continue
        content = doc.find(f"{_NS}DocumentContent")
        assert content is not None  # the schema requires it
        filename = (doc.findtext(f"{_NS}FileName") or "").strip()
        location = element_path(content)
        try:
            ref, data, pages = decode_document(
                content.text or "", filename=filename, location=location
            )
        except DocumentProblem as problem:
            issues.append(Issue(**{**problem.issue.to_dict(), "line": content.sourceline}))
            continue
        finally:
            content.text = None  # free the base64 text now: the bytes are what we keep
        refs[index] = (ref, pages)
        stored.setdefault(ref.sha256, (ref, data))  # the same PDF twice is stored once
    return refs, list(stored.values()), issues


def parse_cp20(raw: bytes, *, max_bytes: int = MAX_CP20_BYTES) -> Parsed:
    """Parse, validate and map a CP20 "documents served" message.

    Returns :class:`Parsed` (a ``CourtBundle`` and each document's bytes). Raises
    ``InvalidMessage`` with every issue found, or ``UnsupportedFormat`` for another format.
    """
    root = _parse(bytes(raw), max_bytes)
    if root.tag != f"{_NS}CP20":
        qname = etree.QName(root)
        raise UnsupportedFormat(
            f"expected a CP20 documents-served message, got root {qname.localname!r} "
            f"in namespace {qname.namespace or '(none)'!r}"
        )
    issues = validate_cp20(root)
    if issues:
        raise InvalidMessage(
            issues=issues, summary=f"CP20 is not valid against cp20-v1: {len(issues)} error(s)"
        )
    return map_cp20(root)


def map_cp20(root: etree._Element) -> Parsed:
    """Decode the documents of a valid CP20 root and map it to a ``CourtBundle``."""
    refs, documents, issues = _decode_all(root)
    if issues:
        raise InvalidMessage(
            issues=issues, summary=f"CP20 documents rejected: {len(issues)} error(s)"
        )
    bundle: CourtBundle = to_court_bundle(root, refs)
    return Parsed(bundle, documents)
