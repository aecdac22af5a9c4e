"""CPS adapter for the CMS charging decision (flow 3): JSON bytes in, ``ChargingDecision`` out.

Order of checks, each reporting every issue it finds: size; well-formed JSON (line and column);
depth and value count (a JSON bomb costs little because it is refused before any schema
work); our JSON Schema (``schemas/json/cms/charging-decision-v1.json``, draft 2020-12), with
each error located by JSON pointer; then identifiers and the rules of
``exchange.domain.charging``, located by the same pointers.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from itertools import islice
from pathlib import Path
from typing import Any, Final

import orjson
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from exchange import jsonsafe
from exchange.domain import charging as ch
from exchange.domain.errors import InvalidMessage, Issue
from exchange.domain.identifiers import validate_asn, validate_offence_code, validate_ou_code
from exchange.standingdata import StandingData
from transforms.charging_decision import cms_to_charging_decision, json_pointer

__all__ = [
    "DOCUMENT_TYPE",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "SCHEMA_PATH",
    "charging_decision_quality",
    "is_charging_decision",
    "json_schema",
    "load_json",
    "parse_charging_decision",
    "validate_charging_decision",
    "validator",
]

DOCUMENT_TYPE: Final = "ChargingDecision"
SCHEMA_PATH: Final = (
    Path(__file__).resolve().parents[2] / "schemas" / "json" / "cms" / "charging-decision-v1.json"
)
# A decision is a few kilobytes; these bounds leave room for long advice and many suspects.
MAX_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 32
MAX_VALUES: Final = 10_000
_RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _refuse(code: str, message: str, **where: Any) -> InvalidMessage:
    return InvalidMessage(issues=[Issue(code, message, **where)], summary=message)


def load_json(raw: bytes, *, max_bytes: int = MAX_BYTES) -> Any:
    """Parse untrusted JSON within the size, depth and value-count limits."""
    return jsonsafe.load_json(raw, max_bytes=max_bytes, max_depth=MAX_DEPTH, max_values=MAX_VALUES)


def is_charging_decision(document: Any) -> bool:
    """Whether a parsed CMS JSON document is a charging decision (its ``documentType``)."""
    return isinstance(document, dict) and document.get("documentType") == DOCUMENT_TYPE


@functools.cache
def json_schema() -> dict[str, Any]:
    """Our JSON Schema for the CMS decision."""
    schema: dict[str, Any] = orjson.loads(SCHEMA_PATH.read_bytes())
    return schema


def _is_datetime(value: object) -> bool:
    # jsonschema checks "date-time" only with an optional package; RFC 3339 needs an offset.
    if not isinstance(value, str):
        return True
    if _RFC3339.fullmatch(value) is None:
        return False
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # ValueError: bad date
    return True


@functools.cache
def validator() -> Draft202012Validator:
    """The compiled validator, with ``date``, ``uuid`` and RFC 3339 ``date-time`` checked."""
    formats = FormatChecker()
    formats.checks("date-time", raises=ValueError)(_is_datetime)
    return Draft202012Validator(json_schema(), format_checker=formats)


def _schema_issues(document: Any) -> list[Issue]:
    issues: list[Issue] = []
    for error in islice(validator().iter_errors(document), jsonsafe.MAX_REPORTED_ISSUES):
        issues += _located(error)
    return sorted(issues, key=lambda i: i.location)


def _located(error: SchemaError) -> list[Issue]:
    path = list(error.absolute_path)
    base = jsonsafe.pointer(tuple(path))
    instance = error.instance
    # Point at the member itself, not at the object that lacks or has too much of it.
    if error.validator == "required" and isinstance(instance, dict):
        missing = [p for p in error.validator_value if p not in instance]
        name = next((p for p in missing if error.message.startswith(repr(p))), None)
        if name is not None:
            return [Issue("JSON_SCHEMA_INVALID", error.message, f"{base}/{name}")]
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        return [
            Issue("JSON_SCHEMA_INVALID", f"property {k!r} is not allowed here", f"{base}/{k}")
            for k in instance
            if k not in known
        ]
    return [Issue("JSON_SCHEMA_INVALID", error.message, base)]


def _data_quality(
    decision: ch.ChargingDecision, now: dt.datetime, standing_data: StandingData | None
) -> list[Issue]:
    found: list[tuple[tuple[str | int, ...], list[Issue]]] = []
    if decision.cps_organisation:
        check_ou = standing_data.check_ou_code if standing_data else validate_ou_code
        found.append((("cps_organisation",), check_ou(decision.cps_organisation)))
    check_offence = standing_data.check_offence_code if standing_data else validate_offence_code
    for i, item in enumerate(decision.suspect_decisions):
        at = ("suspect_decisions", i)
        if item.asn is not None:
            found.append(((*at, "asn"), validate_asn(item.asn)))
        for j, charge in enumerate(item.charges):
            found.append(((*at, "charges", j, "offence_code"), check_offence(charge.offence_code)))
    issues = [
        Issue(i.code, i.message, json_pointer(path), None, i.severity)
        for path, items in found
        for i in items
    ]
    for problem in ch.decision_problems(decision, now):
        pointer = json_pointer(problem.path)
        issues.append(Issue(problem.code, problem.message, pointer, None, problem.severity))
    return issues


def _check(
    raw: bytes, now: dt.datetime | None, standing_data: StandingData | None
) -> tuple[ch.ChargingDecision | None, list[Issue]]:
    try:
        document = load_json(raw)
    except InvalidMessage as exc:
        return None, list(exc.issues)
    issues = _schema_issues(document)
    if issues:
        return None, issues
    try:
        decision = cms_to_charging_decision(document)
    except InvalidMessage as exc:
        return None, list(exc.issues)
    return decision, _data_quality(decision, now or dt.datetime.now(dt.UTC), standing_data)


def validate_charging_decision(
    raw: bytes, *, now: dt.datetime | None = None, standing_data: StandingData | None = None
) -> list[Issue]:
    """Every issue in a CMS decision document (warnings included); ``[]`` when clean."""
    return _check(raw, now, standing_data)[1]


def parse_charging_decision(
    raw: bytes, *, now: dt.datetime | None = None, standing_data: StandingData | None = None
) -> ch.ChargingDecision:
    """Parse, validate and map a CMS charging decision.

    ``now`` (aware; default the current time) is what "not in the future" is judged against.
    Raises ``InvalidMessage`` with every error found; warnings do not block.
    """
    decision, issues = _check(raw, now, standing_data)
    errors = [i for i in issues if i.severity == "error"]
    if errors or decision is None:
        raise InvalidMessage(
            issues=errors,
            summary=f"charging decision is not valid: {len(errors)} error(s)",
        )
    return decision


def charging_decision_quality(
    decision: ch.ChargingDecision, standing_data: StandingData
) -> list[Issue]:
    """``Inbound.quality``: unknown offence or OU codes (warnings), located by JSON pointer into
    the canonical payload; shapes and rules were checked by ``validate_charging_decision``."""
    found: list[Issue] = []
    if decision.cps_organisation:
        found += standing_data.check_ou_code(decision.cps_organisation, "/cps_organisation")
    for i, item in enumerate(decision.suspect_decisions):
        for j, charge in enumerate(item.charges):
            at = f"/suspect_decisions/{i}/charges/{j}/offence_code"
            found += standing_data.check_offence_code(charge.offence_code, at)
    return [i for i in found if i.code.endswith("_UNKNOWN")]
