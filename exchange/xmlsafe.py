"""Hardened XML parsing for everything the hub receives.

Agency XML comes from outside the trust boundary, so the parser never loads a DTD, never
expands an entity, never touches the network or the file system, and refuses any document
that carries a DOCTYPE at all: no CJS format we take needs one, and refusing them outright
closes XXE, billion-laughs and external-DTD attacks in one rule instead of three.
Size and depth are bounded before and after parsing so that a hostile document costs
little. The hub accepts UTF-8 only (every CJSE and SPI format is UTF-8).
"""

from __future__ import annotations

import re
import threading
from typing import Final

from lxml import etree

from exchange.domain.errors import InvalidMessage, Issue

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "element_path",
    "parse_xml",
]

DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024
DEFAULT_MAX_DEPTH: Final = 64

_BOM: Final = b"\xef\xbb\xbf"
# The encoding pseudo-attribute of the XML declaration; anything but UTF-8 (or its ASCII
# subset) is refused, because we decode and check the bytes as UTF-8 before lxml sees them.
_DECLARED_ENCODING: Final = re.compile(
    rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']"""
)
_UTF8_NAMES: Final = frozenset({b"utf-8", b"utf8", b"us-ascii", b"ascii"})
# A DOCTYPE may only appear in the prolog, before the root element; a cheap scan of the
# prolog lets us refuse it before libxml2 reads a single declaration.
_DOCTYPE: Final = re.compile(rb"<!DOCTYPE", re.IGNORECASE)

_local = threading.local()


def _parser(*, huge_tree: bool = False) -> etree.XMLParser:
    # lxml parsers must not be shared between threads while parsing; one per thread is cheap.
    # huge_tree lifts libxml2's 10 MB text-node limit (base64 documents); it is safe here
    # because a DOCTYPE is refused before libxml2 runs and the size is bounded by max_bytes.
    name = "huge_parser" if huge_tree else "parser"
    parser: etree.XMLParser | None = getattr(_local, name, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=huge_tree,
            collect_ids=False,
            remove_blank_text=False,
        )
        setattr(_local, name, parser)
    return parser


def _reject(
    code: str, message: str, *, line: int | None = None, location: str = ""
) -> InvalidMessage:
    return InvalidMessage(
        issues=[Issue(code=code, message=message, location=location, line=line)],
        summary=message,
    )


def _check_encoding(raw: bytes) -> None:
    body = raw[len(_BOM) :] if raw.startswith(_BOM) else raw
    declared = _DECLARED_ENCODING.match(body)
    if declared and declared.group(1).lower() not in _UTF8_NAMES:
        name = declared.group(1).decode("ascii")
        raise _reject(
            "XML_ENCODING", f"document declares encoding {name!r}; only UTF-8 is accepted"
        )
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise _reject(
            "XML_ENCODING",
            f"document is not valid UTF-8: byte 0x{body[exc.start]:02x} at offset {exc.start}",
            line=line,
        ) from None


def _prolog(raw: bytes) -> bytes:
    """The bytes before the root element's start tag (declaration, comments, PIs, DOCTYPE)."""
    pos = 0
    while True:
        lt = raw.find(b"<", pos)
        if lt < 0 or lt + 1 >= len(raw):
            return raw
        nxt = raw[lt + 1 : lt + 2]
        if nxt in (b"?", b"!"):
            pos = lt + 2
            continue
        return raw[:lt]


def _depth_exceeded(root: etree._Element, max_depth: int) -> etree._Element | None:
    depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            if depth > max_depth:
                return element
        else:
            depth -= 1
    return None


def parse_xml(
    raw: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    huge_tree: bool = False,
) -> etree._ElementTree:
    """Parse untrusted XML safely; raise ``InvalidMessage`` with one precise issue if it is
    too large, not UTF-8, carries a DOCTYPE, is malformed or nests too deeply."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"parse_xml takes bytes, not {type(raw).__name__}")
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise _reject(
            "XML_TOO_LARGE", f"document is {len(raw)} bytes; the limit is {max_bytes} bytes"
        )
    _check_encoding(raw)
    doctype = _DOCTYPE.search(_prolog(raw))
    if doctype is not None:
        raise _reject(
            "XML_DTD_FORBIDDEN",
            "document has a DOCTYPE declaration; DTDs and entity declarations are not accepted",
            line=1 + raw.count(b"\n", 0, doctype.start()),
        )
    try:
        root = etree.fromstring(raw, parser=_parser(huge_tree=huge_tree))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        text = str(exc.msg or exc)
        if "depth" in text.lower() or "nesting" in text.lower():
            raise _reject(
                "XML_TOO_DEEP",
                f"elements nest deeper than the parser allows (limit {max_depth}): {text}",
                line=line,
            ) from None
        raise _reject(
            "XML_MALFORMED",
            f"XML is not well-formed at line {line}, column {column}: {text}",
            line=line,
            location=f"line {line}, column {column}",
        ) from None
    tree = root.getroottree()
    # Belt and braces: the prolog scan should already have caught any DOCTYPE.
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _reject("XML_DTD_FORBIDDEN", "document has a DOCTYPE declaration", line=1)
    too_deep = _depth_exceeded(root, max_depth)
    if too_deep is not None:
        raise _reject(
            "XML_TOO_DEEP",
            f"elements nest deeper than {max_depth} levels",
            line=too_deep.sourceline,
            location=tree.getpath(too_deep),
        )
    return tree


def element_path(element: etree._Element, *, within: etree._Element | None = None) -> str:
    """A readable XPath to ``element``: local names, with an index only where siblings share
    the name (``/NewCaseMessage/Case/Defendant[2]/Offence[1]``). With ``within``, the path
    starts at that ancestor (used for payloads unwrapped from an envelope)."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None and node is not within:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))
