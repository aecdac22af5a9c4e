"""Hostile XML gets one clear issue, quickly, and never reads a file or the network."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from exchange.domain.errors import InvalidMessage
from exchange.xmlsafe import parse_xml


def _code(raw: bytes, **limits: int) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as info:
        parse_xml(raw, **limits)
    assert len(info.value.issues) == 1
    return info.value


def test_parses_plain_document() -> None:
    tree = parse_xml(b'<?xml version="1.0" encoding="UTF-8"?><a xmlns="urn:x"><b>1</b></a>')
    assert tree.getroot().tag == "{urn:x}a"


def test_accepts_bom_and_ascii_declaration() -> None:
    assert (
        parse_xml(b'\xef\xbb\xbf<?xml version="1.0" encoding="us-ascii"?><a/>').getroot().tag == "a"
    )


def test_xxe_file_entity_is_refused_without_reading(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    raw = (
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]><a>&x;</a>'
    ).encode()
    error = _code(raw)
    assert error.issues[0].code == "XML_DTD_FORBIDDEN"
    assert "TOP-SECRET" not in str(error.to_dict())


def test_billion_laughs_is_refused_fast() -> None:
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    raw = f'<!DOCTYPE a [<!ENTITY l0 "ha">{entities}]><a>&l9;</a>'.encode()
    started = time.perf_counter()
    error = _code(raw)
    assert error.issues[0].code == "XML_DTD_FORBIDDEN"
    assert time.perf_counter() - started < 1.0


def test_external_dtd_is_refused() -> None:
    raw = b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>'
    assert _code(raw).issues[0].code == "XML_DTD_FORBIDDEN"


def test_doctype_after_comment_is_refused() -> None:
    raw = b'<!-- <decoy> --><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'
    assert _code(raw).issues[0].code == "XML_DTD_FORBIDDEN"


def test_deep_nesting_is_refused_with_location() -> None:
    raw = b"<a>" * 70 + b"</a>" * 70
    issue = _code(raw, max_depth=64).issues[0]
    assert issue.code == "XML_TOO_DEEP"
    assert issue.location.startswith("/a/a/")


def test_nesting_beyond_libxml2_limit_is_too_deep_not_malformed() -> None:
    raw = b"<a>" * 300 + b"</a>" * 300
    assert _code(raw).issues[0].code == "XML_TOO_DEEP"


def test_depth_at_limit_is_accepted() -> None:
    raw = b"<a>" * 64 + b"</a>" * 64
    assert parse_xml(raw, max_depth=64).getroot().tag == "a"


def test_invalid_utf8_is_refused_with_line() -> None:
    issue = _code(b"<a>\n<b>caf\xe9</b></a>").issues[0]
    assert issue.code == "XML_ENCODING"
    assert issue.line == 2


def test_non_utf8_declaration_is_refused() -> None:
    raw = b'<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\xe9</a>'
    assert _code(raw).issues[0].code == "XML_ENCODING"


def test_oversized_document_is_refused_before_parsing() -> None:
    raw = b"<a>" + b"x" * 2048 + b"</a>"
    issue = _code(raw, max_bytes=1024).issues[0]
    assert issue.code == "XML_TOO_LARGE"
    assert "1024" in issue.message


def test_malformed_reports_line_and_column() -> None:
    issue = _code(b"<a>\n  <b></c>\n</a>").issues[0]
    assert issue.code == "XML_MALFORMED"
    assert issue.line == 2
    assert "column" in issue.message


def test_empty_input_is_malformed() -> None:
    assert _code(b"").issues[0].code == "XML_MALFORMED"


def test_str_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_xml("<a/>")  # type: ignore[arg-type]
