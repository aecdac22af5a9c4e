"""Police adapter for the pre-charge request (flow 2): bytes in, canonical ``ChargeRequest`` out.

Safe-parse (``exchange.xmlsafe``), validate against our own XSD
(``schemas/xsd/police/charge-request-v1.xsd``, compiled once) reporting every error libxml2
finds, map, then check what a schema cannot: identifier check characters, offence codes
against standing data when given, and the rules of ``exchange.domain.charging``. Every issue
carries an XPath with local names (``/ChargeRequest/Suspect[2]/ASN``) and a line number.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

from lxml import etree

from exchange.domain import charging as ch
from exchange.domain.errors import InvalidMessage, Issue, UnsupportedFormat
from exchange.domain.identifiers import (
    validate_asn,
    validate_offence_code,
    validate_ou_code,
    validate_pnc_id,
)
from exchange.standingdata import StandingData
from exchange.xmlsafe import parse_xml
from exchange.xsd import load_schema, schema_issues
from transforms.charge_request import NS, readable_path, to_charge_request

__all__ = [
    "ROOT",
    "SCHEMA_PATH",
    "charge_request_quality",
    "parse_charge_request",
    "schema",
    "validate_charge_request",
]

SCHEMA_PATH: Final = (
    Path(__file__).resolve().parents[2] / "schemas" / "xsd" / "police" / "charge-request-v1.xsd"
)
ROOT: Final = f"{{{NS}}}ChargeRequest"
# Canonical field → the XML step that holds it (attributes start with @).
_STEPS: Final = {
    "requesting_force": "RequestingForce",
    "cps_organisation": "CPSOrganisation",
    "suspects": "Suspect",
    "suspect_id": "@SuspectID",
    "status": "Status",
    "asn": "ASN",
    "pnc_id": "PNCId",
    "proposed_charges": "ProposedCharge",
    "charge_id": "@ChargeID",
    "offence_code": "CJSCode",
    "to_date": "ToDate",
}


@functools.cache
def schema() -> etree.XMLSchema:
    """The compiled charge-request schema (compiled once per process)."""
    return load_schema(SCHEMA_PATH)


def _schema_issues(element: etree._Element) -> list[Issue]:
    return schema_issues(schema(), element)


def _locate(root: etree._Element, path: tuple[str | int, ...]) -> tuple[str, int | None]:
    """The XPath and line of the element a canonical field path names."""
    node, attribute = root, ""
    steps = list(path)
    while steps:
        step = steps.pop(0)
        tag = _STEPS.get(str(step), "")
        if tag.startswith("@"):
            attribute = "/" + tag
            continue
        index = steps.pop(0) if steps and isinstance(steps[0], int) else 0
        children = node.findall(f"{{{NS}}}{tag}") if tag else []
        if len(children) <= int(index):
            break
        node = children[int(index)]
    return readable_path(node, root) + attribute, node.sourceline


def _data_quality(
    request: ch.ChargeRequest, root: etree._Element, standing_data: StandingData | None
) -> list[Issue]:
    checks: list[tuple[tuple[str | int, ...], list[Issue]]] = []
    if request.cps_organisation:
        check_ou = standing_data.check_ou_code if standing_data else validate_ou_code
        checks.append((("cps_organisation",), check_ou(request.cps_organisation)))
    check_offence = standing_data.check_offence_code if standing_data else validate_offence_code
    for i, suspect in enumerate(request.suspects):
        checks.append((("suspects", i, "asn"), validate_asn(suspect.asn)))
        if suspect.pnc_id:
            checks.append((("suspects", i, "pnc_id"), validate_pnc_id(suspect.pnc_id)))
        for j, charge in enumerate(suspect.proposed_charges):
            path: tuple[str | int, ...] = ("suspects", i, "proposed_charges", j, "offence_code")
            checks.append((path, check_offence(charge.offence_code)))
    issues: list[Issue] = []
    for path, found in checks:
        location, line = _locate(root, path)
        issues += [Issue(i.code, i.message, location, line, i.severity) for i in found]
    for problem in ch.request_problems(request):
        location, line = _locate(root, problem.path)
        issues.append(Issue(problem.code, problem.message, location, line, problem.severity))
    return issues


def _check(
    element: etree._Element, standing_data: StandingData | None
) -> tuple[ch.ChargeRequest | None, list[Issue]]:
    issues = _schema_issues(element)
    if issues:
        return None, issues
    try:
        request = to_charge_request(element)
    except InvalidMessage as exc:
        return None, list(exc.issues)
    return request, _data_quality(request, element, standing_data)


def validate_charge_request(
    element: etree._Element, *, standing_data: StandingData | None = None
) -> list[Issue]:
    """Every issue in a ``ChargeRequest`` element: schema errors, or else identifier and rule
    issues (warnings included)."""
    return _check(element, standing_data)[1]


def parse_charge_request(
    raw: bytes, *, standing_data: StandingData | None = None
) -> ch.ChargeRequest:
    """Parse, validate and map a police pre-charge request.

    Raises ``InvalidMessage`` with every error found (warnings do not block), or
    ``UnsupportedFormat`` if the document is another format.
    """
    root = parse_xml(raw).getroot()
    if root.tag != ROOT:
        qname = etree.QName(root)
        raise UnsupportedFormat(
            f"expected a ChargeRequest in namespace {NS!r}, got root element "
            f"{qname.localname!r} in namespace {qname.namespace or '(none)'!r}"
        )
    request, issues = _check(root, standing_data)
    errors = [i for i in issues if i.severity == "error"]
    if errors or request is None:
        raise InvalidMessage(
            issues=errors,
            summary=f"ChargeRequest is not valid against charge-request-v1: {len(errors)} error(s)",
        )
    return request


def charge_request_quality(request: ch.ChargeRequest, standing_data: StandingData) -> list[Issue]:
    """``Inbound.quality``: what only standing data can tell (unknown offence or OU codes, as
    warnings), located by JSON pointer into the canonical payload. Shapes and rules were
    already checked, with XPaths, by ``validate_charge_request``."""
    found: list[Issue] = []
    if request.cps_organisation:
        found += standing_data.check_ou_code(request.cps_organisation, "/cps_organisation")
    for i, suspect in enumerate(request.suspects):
        for j, charge in enumerate(suspect.proposed_charges):
            at = f"/suspects/{i}/proposed_charges/{j}/offence_code"
            found += standing_data.check_offence_code(charge.offence_code, at)
    return [i for i in found if i.code.endswith("_UNKNOWN")]
