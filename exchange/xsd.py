"""The project's XSDs: compiled once, safely, and their errors turned into located issues."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from lxml import etree

from exchange.domain.errors import Issue
from exchange.xmlsafe import element_path

# "{http://…}Name" or "{urn:…}Name" in libxml2's messages: the namespace adds nothing for the
# sender. Only brace groups holding a URI, so pattern quantifiers like {4} stay.
_QUOTED_NS: Final = re.compile(r"\{[A-Za-z][A-Za-z0-9+.-]*:[^}]*\}")
MAX_MESSAGE: Final = 500


def load_schema(path: Path) -> etree.XMLSchema:
    """Compile an XSD with no network, no entities and no DTD loading."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def _prefixes(root: etree._Element) -> dict[str, str]:
    seen: dict[str, str] = {}
    for element in root.iter():
        for prefix, uri in element.nsmap.items():
            if prefix:
                seen.setdefault(prefix, uri)
    return seen


def _target(root: etree._Element, path: str, prefixes: dict[str, str]) -> etree._Element | None:
    # lxml reports paths from the validated element down; drop its own step and walk from it.
    rest = path.split("/")[2:]
    if not rest:
        return root
    try:
        found = root.xpath("/".join(rest), namespaces=prefixes)
    except etree.XPathError:
        return None
    first = found[0] if isinstance(found, list) and found else None
    return first if isinstance(first, etree._Element) else None


def schema_issues(schema: etree.XMLSchema, element: etree._Element) -> list[Issue]:
    """Every error libxml2 reports for ``element``, each with a readable XPath of local names
    (``/NewCaseMessage/Case/Defendant[2]/…``, from the payload root even inside an envelope),
    the line, and the message without namespace noise (long values cut short)."""
    if schema.validate(element):
        return []
    prefixes = _prefixes(element)
    base = element.getparent()
    issues: list[Issue] = []
    for error in schema.error_log:
        target = _target(element, error.path or "", prefixes)
        location = (error.path or "") if target is None else element_path(target, within=base)
        message = _QUOTED_NS.sub("", error.message)
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE] + "..."
        issues.append(Issue("SCHEMA_INVALID", message, location, error.line or None))
    return issues
