"""Canonical ``HearingOutcome`` → the hub's police hearing-outcome XML (flow 5).

Our own format, ``schemas/xsd/police/hearing-outcome-v1.xsd`` (namespace
``urn:cjs-exchange-hub:police:hearing-outcome:1``). Built from an allowlist: the police get
what they need to update the PNC and their case file (results with CJS codes, bail, next
hearing, finalisation). Withheld: contact details (the police already hold them) and the
parent or guardian (named in the court register, not needed for the PNC update).
``MessageId`` is the hub's message id, stable across retries, so the force can de-duplicate.
"""

from __future__ import annotations

import re
from typing import Any, Final

from lxml import etree

from exchange.domain import outcome as oc
from exchange.domain.envelope import Envelope

__all__ = ["NAMESPACE", "POLICE_OUTCOME_FORMAT", "outcome_to_police_xml", "police_force"]

NAMESPACE: Final = "urn:cjs-exchange-hub:police:hearing-outcome:1"
POLICE_OUTCOME_FORMAT: Final = "police-outcome-xml"
_N: Final = "{" + NAMESPACE + "}"
_FORCE: Final = re.compile(r"(\d{2})[0-9A-Z]{2}\d{7}")


def _add(parent: etree._Element, name: str, value: Any) -> etree._Element | None:
    """Append ``<name>value</name>`` unless the value is absent or empty."""
    if value is None or value == "":
        return None
    child = etree.SubElement(parent, _N + name)
    if isinstance(value, bool):
        child.text = "true" if value else "false"
    elif hasattr(value, "isoformat"):
        child.text = value.isoformat()
    else:
        child.text = str(value)
    return child


def _always(parent: etree._Element, name: str, value: str) -> None:
    """Append ``<name>value</name>`` even when the value is empty (a required string)."""
    etree.SubElement(parent, _N + name).text = value


def _group(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, _N + name)


def _next_hearing(parent: etree._Element, nh: oc.NextHearing | None) -> None:
    if nh is None:
        return
    el = _group(parent, "NextHearing")
    _always(el, "CourtCode", nh.hearing.court_ou)
    _add(el, "Date", nh.hearing.date)
    _add(el, "Time", nh.hearing.time)
    _add(el, "Reason", nh.reason)
    _add(el, "BailStatus", nh.bail_status.value if nh.bail_status else None)


def _result(parent: etree._Element, result: oc.CourtResult) -> None:
    el = _group(parent, "Result")
    _add(el, "Code", result.code)
    _always(el, "Text", result.text)
    for qualifier in result.qualifiers:
        _add(el, "Qualifier", qualifier)
    _add(el, "PenaltyPoints", result.penalty_points)
    _add(el, "AmountSterling", None if result.amount is None else f"{result.amount:.2f}")
    if (d := result.duration) is not None:
        dur = _group(el, "Duration")
        _add(dur, "Value", d.value)
        _add(dur, "Unit", d.unit)
        _add(dur, "SecondaryValue", d.secondary_value)
        _add(dur, "SecondaryUnit", d.secondary_unit)
        for period in d.periods:
            p = _group(dur, "Period")
            _add(p, "StartDate", period.start_date)
            _add(p, "EndDate", period.end_date)
    _next_hearing(el, result.next_hearing)


def _offence(parent: etree._Element, offence: oc.OffenceOutcome) -> None:
    el = _group(parent, "Offence")
    _add(el, "Sequence", offence.sequence)
    _always(el, "OffenceCode", offence.code)
    _always(el, "Wording", offence.wording)
    _add(el, "StartDate", offence.start_date)
    _add(el, "EndDate", offence.end_date)
    _add(el, "Plea", offence.plea_code)
    _add(el, "Finding", offence.finding_code)
    _add(el, "ConvictionDate", offence.conviction_date)
    _add(el, "ConvictingCourt", offence.convicting_court)
    _add(el, "FinalDisposal", offence.final_disposal)
    for result in offence.results:
        _result(el, result)


def _defendant(parent: etree._Element, defendant: oc.DefendantOutcome) -> None:
    el = _group(parent, "Defendant")
    _always(el, "Asn", defendant.asn)
    _add(el, "PncId", defendant.pnc_id)
    party = defendant.party
    if isinstance(party, oc.PersonParty):
        person = _group(el, "Person")
        _add(person, "Title", party.name.title)
        for given in party.name.given_names:
            _add(person, "GivenName", given)
        _add(person, "FamilyName", party.name.family_name)
        _add(person, "BirthDate", party.birth_date)
        _add(person, "Gender", party.gender.value)
    else:
        _add(el, "Organisation", party.name)
    lines = [
        line for line in (party.address.lines if party.address else party.address_lines) if line
    ]
    if lines:
        address = _group(el, "Address")
        for line in lines:
            _add(address, "Line", line)
    _add(el, "BailStatus", defendant.bail_status.value)
    _add(el, "BailStatusCode", defendant.bail_status_code)
    _add(el, "BailConditions", defendant.bail_conditions)
    _add(el, "BailOrCustodyReason", defendant.bail_or_custody_reason)
    _add(el, "Presence", defendant.presence.value)
    _next_hearing(el, defendant.next_hearing)
    for offence in defendant.offences:
        _offence(el, offence)


def _finalisation(parent: etree._Element, fin: oc.Finalisation) -> None:
    el = _group(parent, "Finalisation")
    _add(el, "Outcome", fin.outcome.value)
    _add(el, "Final", fin.final)
    _add(el, "Successful", fin.successful)
    _add(el, "PrincipalOffenceCategory", fin.principal_offence_category.value)
    principal = _group(el, "PrincipalOffence")
    _always(principal, "Asn", fin.principal_offence.asn)
    _add(principal, "Sequence", fin.principal_offence.sequence)
    _always(principal, "OffenceCode", fin.principal_offence.code)
    _add(el, "Reason", fin.reason)


def outcome_to_police_xml(outcome: oc.HearingOutcome, envelope: Envelope) -> dict[str, Any]:
    """``{"xml": ..., "messageId": ...}``: the police hearing-outcome document for one case."""
    root = etree.Element(_N + "HearingOutcome", nsmap={None: NAMESPACE}, schemaVersion="1.0")
    _add(root, "MessageId", str(envelope.message_id))
    _add(root, "CorrelationId", str(envelope.correlation_id))
    _add(root, "CaseUrn", outcome.ptiurn)
    court = _group(root, "Court")
    _always(court, "Code", outcome.hearing.court_ou)
    _add(court, "Type", outcome.court_type.value)
    _add(court, "PsaCode", outcome.psa_code)
    _add(root, "HearingDate", outcome.hearing.date)
    _add(root, "HearingTime", outcome.hearing.time)
    _finalisation(root, outcome.finalisation)
    for defendant in outcome.defendants:
        _defendant(root, defendant)
    xml = etree.tostring(root, encoding="UTF-8", xml_declaration=True).decode("utf-8")
    return {"xml": xml, "messageId": str(envelope.message_id)}


def police_force(outcome: oc.HearingOutcome) -> str | None:
    """Tenancy: the police force that owns the case, from the PTIURN's first two digits."""
    match = _FORCE.fullmatch(outcome.ptiurn.strip().upper())
    return match.group(1) if match else None
