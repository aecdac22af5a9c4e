"""CMS charging-decision JSON ⇄ canonical ``ChargingDecision``, and ``ChargingDecision`` → the
police XML (``schemas/xsd/police/charging-decision-v1.xsd``) the police case system receives.

The CMS JSON is the canonical shape with camelCase keys and absent (never null) optional
members, so both directions are a key rename; dates and times are spelt as on Kafka.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any, Final

from lxml import etree
from pydantic import ValidationError

from exchange.domain import charging as ch
from exchange.domain.common import PersonName
from exchange.domain.envelope import Envelope
from exchange.domain.errors import InvalidMessage, Issue
from exchange.jsonsafe import pointer

__all__ = [
    "POLICE_NS",
    "POLICE_SCHEMA_PATH",
    "camel",
    "charging_decision_to_cms",
    "charging_decision_to_police_xml",
    "cms_to_charging_decision",
    "json_pointer",
    "police_schema",
    "render_police_charging_decision",
]

POLICE_NS: Final = "urn:cjs-exchange:police:charging-decision:v1"
POLICE_SCHEMA_PATH: Final = (
    Path(__file__).resolve().parents[1] / "schemas" / "xsd" / "police" / "charging-decision-v1.xsd"
)
Q: Final = f"{{{POLICE_NS}}}"


def camel(name: str) -> str:
    """``suspect_decisions`` → ``suspectDecisions``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def json_pointer(path: tuple[str | int, ...] | list[str | int]) -> str:
    """RFC 6901 pointer of a canonical field path, keys camelCased (``/suspectDecisions/0``)."""
    return pointer(tuple(str(p) if isinstance(p, int) else camel(p) for p in path))


def _rekey(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        return {key(k): _rekey(v, key) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_rekey(v, key) for v in value]
    return value


# ---------------------------------------------------------------- CMS JSON ⇄ canonical


def cms_to_charging_decision(document: dict[str, Any]) -> ch.ChargingDecision:
    """Map a schema-valid CMS decision document to the canonical model."""
    body = {k: v for k, v in document.items() if k not in ("documentType", "schemaVersion")}
    try:
        return ch.ChargingDecision.model_validate(_rekey(body, _snake))
    except ValidationError as exc:
        issues = [
            Issue("CANONICAL_INVALID", err["msg"], json_pointer(list(err["loc"])))
            for err in exc.errors()
        ]
        raise InvalidMessage(issues=issues, summary="charging decision does not map") from None


def charging_decision_to_cms(decision: ch.ChargingDecision) -> dict[str, Any]:
    """The CMS JSON of a decision (what CMS posts); the inverse of ``cms_to_charging_decision``."""
    body: dict[str, Any] = _rekey(decision.model_dump(mode="json"), camel)
    return {"documentType": "ChargingDecision", "schemaVersion": ch.CHARGING_SCHEMA_VERSION, **body}


# ---------------------------------------------------------------- canonical → police XML


@functools.cache
def police_schema() -> etree.XMLSchema:
    """The compiled police charging-decision schema."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(POLICE_SCHEMA_PATH), parser))


def _sub(parent: etree._Element, name: str, value: Any) -> etree._Element | None:
    if value is None:
        return None
    element = etree.SubElement(parent, Q + name)
    element.text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return element


def _name(parent: etree._Element, name: PersonName) -> None:
    element = etree.SubElement(parent, Q + "Name")
    _sub(element, "Title", name.title)
    for given in name.given_names:
        _sub(element, "GivenName", given)
    _sub(element, "FamilyName", name.family_name)


def _suspect(parent: etree._Element, item: ch.SuspectDecision) -> None:
    element = etree.SubElement(parent, Q + "SuspectDecision", SuspectID=item.suspect_id)
    _sub(element, "ASN", item.asn)
    _sub(element, "Status", item.status.value)
    _sub(element, "Outcome", item.outcome.value)
    for charge in item.charges:
        node = etree.SubElement(element, Q + "Charge")
        if charge.proposed_charge_id is not None:
            node.set("ProposedChargeID", charge.proposed_charge_id)
        _sub(node, "CJSCode", charge.offence_code)
        _sub(node, "Wording", charge.wording)
    if item.disposal is not None:
        node = etree.SubElement(element, Q + "Disposal")
        _sub(node, "Kind", item.disposal.kind.value)
        for condition in item.disposal.conditions:
            _sub(node, "Condition", condition)
    _sub(element, "FailedStage", None if item.failed_stage is None else item.failed_stage.value)
    _sub(element, "Reason", item.reason)
    for action in item.actions:
        node = etree.SubElement(element, Q + "Action")
        _sub(node, "Advice", action.advice)
        _sub(node, "DueBy", action.due_by)


def charging_decision_to_police_xml(decision: ch.ChargingDecision, envelope: Envelope) -> bytes:
    """The police XML of a decision, carrying the hub message id and the request's id."""
    root = etree.Element(Q + "ChargingDecision", nsmap={None: POLICE_NS}, SchemaVersion="1.0")
    _sub(root, "MessageId", envelope.message_id)
    _sub(root, "CorrelationId", envelope.correlation_id)
    # The request this answers: the envelope's causation when the hub set it, else the
    # payload's own link (they are the same message id when both are known).
    _sub(root, "CausationId", envelope.causation_id or decision.request_message_id)
    _sub(root, "RequestReference", decision.request_reference)
    _sub(root, "DecisionId", decision.decision_id)
    _sub(root, "PTIURN", decision.case_urn)
    _sub(root, "CPSOrganisation", decision.cps_organisation)
    _sub(root, "CodeTest", decision.code_test.value)
    _sub(root, "DecidedAt", decision.decided_at)
    prosecutor = etree.SubElement(root, Q + "Prosecutor")
    _name(prosecutor, decision.prosecutor.name)
    _sub(prosecutor, "Role", decision.prosecutor.role)
    _sub(root, "Advice", decision.advice)
    for item in decision.suspect_decisions:
        _suspect(root, item)
    raw: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return raw


def render_police_charging_decision(
    payload: ch.ChargingDecision, envelope: Envelope
) -> dict[str, Any]:
    """``Outbound.render`` for ``police-charging-decision-xml``.

    The XML is checked against our XSD before it leaves: a decision that would break the
    police contract (e.g. from a source that skipped the CMS rules) fails here, visibly, and is
    parked by the worker rather than delivered.
    """
    raw = charging_decision_to_police_xml(payload, envelope)
    validator = police_schema()
    if not validator.validate(etree.fromstring(raw)):
        errors = "; ".join(e.message for e in validator.error_log)
        raise ValueError(f"charging decision {payload.decision_id} renders invalid XML: {errors}")
    return {"xml": raw.decode("utf-8"), "messageId": str(envelope.message_id)}
