"""Police adapter for the Libra SPI ``NewCaseMessage``: bytes in, canonical ``CaseFile`` out.

Safe-parse, unwrap any CJSE envelope, validate against the project's own XSD
(``schemas/xsd/police/spi-new-case-v1.xsd``, compiled once) reporting every error libxml2
finds, then map. lxml validates a 10 KB message in well under a millisecond, where xmlschema
takes tens; lxml's error paths use ``*`` for unprefixed elements, so each error path is
resolved back to its element and re-spelt with local names (``/NewCaseMessage/Case/...``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Final

from lxml import etree

from exchange.domain.casefile import CaseFile
from exchange.domain.errors import InvalidMessage, Issue, UnsupportedFormat
from exchange.formats import SPI_NEW_CASE, detect
from exchange.xmlsafe import element_path
from transforms.spi_new_case import to_case_file

__all__ = ["SCHEMA_PATH", "parse_new_case", "schema", "validate_new_case"]

SCHEMA_PATH: Final = (
    Path(__file__).resolve().parents[2] / "schemas" / "xsd" / "police" / "spi-new-case-v1.xsd"
)
_QUOTED_NS: Final = re.compile(r"\{[A-Za-z][A-Za-z0-9+.-]*:[^}]*\}")


@functools.cache
def schema() -> etree.XMLSchema:
    """The compiled NewCaseMessage schema (compiled once per process)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


def _resolve(root: etree._Element, path: str, prefixes: dict[str, str]) -> etree._Element | None:
    # lxml reports paths from the validated element down; drop its own step and walk from it.
    rest = path.split("/")[2:]
    if not rest:
        return root
    try:
        found = root.xpath("/".join(rest), namespaces=prefixes)
    except etree.XPathError:
        return None
    return (
        found[0]
        if isinstance(found, list) and found and isinstance(found[0], etree._Element)
        else None
    )


def _prefixes(root: etree._Element) -> dict[str, str]:
    seen: dict[str, str] = {}
    for element in root.iter():
        for prefix, uri in element.nsmap.items():
            if prefix:
                seen.setdefault(prefix, uri)
    return seen


def _tidy(message: str) -> str:
    # "Element '{http://www.dca.gov.uk/xmlschemas/libra}PTIURN': ..." -> "Element 'PTIURN': ..."
    return _QUOTED_NS.sub("", message)


def validate_new_case(element: etree._Element) -> list[Issue]:
    """Every schema error in a ``NewCaseMessage`` element, as issues with path and line."""
    validator = schema()
    if validator.validate(element):
        return []
    prefixes = _prefixes(element)
    base = element.getparent()
    issues: list[Issue] = []
    for error in validator.error_log:
        target = _resolve(element, error.path or "", prefixes)
        location = error.path or "" if target is None else element_path(target, within=base)
        issues.append(
            Issue(
                code="SCHEMA_INVALID",
                message=_tidy(error.message),
                location=location,
                line=error.line or None,
            )
        )
    return issues


def parse_new_case(raw: bytes) -> CaseFile:
    """Parse, validate and map a police ``NewCaseMessage`` (bare or in a CJSE envelope).

    Raises ``InvalidMessage`` with every issue found, or ``UnsupportedFormat`` if the document
    is another format.
    """
    detected = detect(raw)
    if detected.format != SPI_NEW_CASE:
        raise UnsupportedFormat(
            f"expected a Libra SPI NewCaseMessage, got {detected.format} "
            f"(root {detected.root!r} in namespace {detected.namespace!r})"
        )
    issues = validate_new_case(detected.element)
    if issues:
        raise InvalidMessage(
            issues=issues,
            summary=f"NewCaseMessage is not valid against spi-new-case-v1: {len(issues)} error(s)",
        )
    return to_case_file(detected.element)
