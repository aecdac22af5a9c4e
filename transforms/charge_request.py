"""Police pre-charge request XML (``charge-request-v1.xsd``) ⇄ canonical ``ChargeRequest``, and
``ChargeRequest`` → the CMS JSON the CPS pulls.

Reading takes an element already valid against the XSD, so structure and lexical forms are
trusted; this module trims text and converts values. A value the XSD admits but Python cannot
hold (year 10000) becomes a ``VALUE_UNSUPPORTED`` issue at its element, never a crash.
Writing is the inverse, used to produce demo documents and to prove the round trip.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from lxml import etree
from pydantic import ValidationError

from exchange.domain import charging as ch
from exchange.domain.common import ContactDetails, Gender, PersonName
from exchange.domain.envelope import Envelope
from exchange.domain.errors import InvalidMessage, Issue

__all__ = [
    "CMS_CHARGE_REQUEST_SCHEMA",
    "NS",
    "charge_request_to_cms",
    "charge_request_to_xml",
    "readable_path",
    "render_cms_charge_request",
    "to_charge_request",
]

NS: Final = "urn:cjs-exchange:police:charge-request:v1"
CMS_CHARGE_REQUEST_SCHEMA: Final = "cjs-exchange/cms-charge-request/1.0"
Q: Final = f"{{{NS}}}"
_DATE: Final = re.compile(r"(-?\d{4,})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?", re.ASCII)
_DATETIME: Final = re.compile(
    r"(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})", re.ASCII
)
# Contact elements in schema order, with the ContactDetails field each holds.
_PHONES: Final = (
    ("TelephoneBusiness", "phone_business"),
    ("TelephoneHome", "phone_home"),
    ("TelephoneMobile", "phone_mobile"),
    ("Fax", "fax"),
)


class _Unmappable(Exception):
    def __init__(self, element: etree._Element, message: str) -> None:
        super().__init__(message)
        self.element = element


# ---------------------------------------------------------------- XML → canonical


def readable_path(element: etree._Element, top: etree._Element) -> str:
    """``/ChargeRequest/Suspect[2]/Status``: local names from ``top``, an index where a name
    repeats (lxml's own paths read ``/*/*[10]/*[4]`` in a default namespace)."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None and node is not top:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = None if node is top else parent
    return "/" + "/".join(reversed(steps))


def _el(parent: etree._Element, name: str) -> etree._Element | None:
    return parent.find(Q + name)


def _text(parent: etree._Element, name: str) -> str | None:
    child = parent.find(Q + name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _req(parent: etree._Element, name: str) -> str:
    # The schema guarantees presence; "" only if it did not, and pydantic then says so.
    return _text(parent, name) or ""


def _texts(parent: etree._Element, name: str) -> tuple[str, ...]:
    return tuple((c.text or "").strip() for c in parent.iterfind(Q + name))


def _bool(parent: etree._Element, name: str) -> bool | None:
    value = _text(parent, name)
    return None if value is None else value in ("true", "1")


def _date(parent: etree._Element, name: str) -> dt.date | None:
    child = _el(parent, name)
    if child is None:
        return None
    match = _DATE.fullmatch((child.text or "").strip())
    try:
        if match is None:
            raise ValueError
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise _Unmappable(child, f"date {child.text!r} is outside 0001-9999") from None


def _datetime(parent: etree._Element, name: str) -> dt.datetime | None:
    child = _el(parent, name)
    if child is None:
        return None
    match = _DATETIME.fullmatch((child.text or "").strip())
    try:
        if match is None:
            raise ValueError
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        micros = int((match[7] or "0")[:6].ljust(6, "0"))
        offset = match[8]
        tz = dt.UTC
        if offset != "Z":
            sign = -1 if offset[0] == "-" else 1
            tz = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
        # xsd:dateTime allows 24:00:00, the end of the day: Python spells it next day 00:00.
        extra = dt.timedelta(days=1) if hour == 24 else dt.timedelta()
        return dt.datetime(year, month, day, hour % 24, minute, second, micros, tz) + extra
    except (ValueError, OverflowError):
        raise _Unmappable(child, f"date and time {child.text!r} is outside 0001-9999") from None


def _name(element: etree._Element) -> PersonName:
    return PersonName(
        title=_text(element, "Title"),
        given_names=_texts(element, "GivenName"),
        family_name=_text(element, "FamilyName"),
    )


def _contact(element: etree._Element | None) -> ContactDetails:
    if element is None:
        return ContactDetails()
    phones = {field: _text(element, tag) for tag, field in _PHONES}
    return ContactDetails(
        **phones, emails=_texts(element, "Email"), dx_address=_text(element, "DXAddress")
    )


def _charge(element: etree._Element) -> ch.ProposedCharge:
    return ch.ProposedCharge(
        charge_id=element.get("ChargeID", "").strip(),
        offence_code=_text(element, "CJSCode"),
        wording=_text(element, "Wording"),
        from_date=_date(element, "FromDate"),
        to_date=_date(element, "ToDate"),
    )


def _suspect(element: etree._Element) -> ch.Suspect:
    gender = _text(element, "Gender")
    return ch.Suspect(
        suspect_id=element.get("SuspectID", "").strip(),
        name=_name(element.find(Q + "Name")),
        birth_date=_date(element, "DateOfBirth"),
        gender=None if gender is None else Gender(gender),
        asn=_text(element, "ASN"),
        pnc_id=_text(element, "PNCId"),
        status=ch.SuspectStatus(_req(element, "Status")),
        custody_time_limit=_datetime(element, "CustodyTimeLimit"),
        bail_date=_date(element, "BailDate"),
        ppo=bool(_bool(element, "ProlificPriorityOffender")),
        dip_drug_test_positive=_bool(element, "DIPTestPositive"),
        proposed_charges=tuple(_charge(c) for c in element.iterfind(Q + "ProposedCharge")),
    )


def _build(root: etree._Element) -> ch.ChargeRequest:
    officer, mg3 = root.find(Q + "RequestingOfficer"), root.find(Q + "MG3")
    return ch.ChargeRequest(
        request_reference=_text(root, "RequestReference"),
        case_urn=_text(root, "PTIURN"),
        requesting_force=_text(root, "RequestingForce"),
        cps_organisation=_text(root, "CPSOrganisation"),
        submitted_at=_datetime(root, "SubmittedAt"),
        requested_test=ch.CodeTest(_req(root, "RequestedTest")),
        deadline=_datetime(root, "Deadline"),
        officer=ch.RequestingOfficer(
            name=_name(officer.find(Q + "Name")),
            rank=_text(officer, "Rank"),
            shoulder_number=_text(officer, "ShoulderNumber"),
            station_code=_text(officer, "StationCode"),
            contact=_contact(_el(officer, "Contact")),
        ),
        suspects=tuple(_suspect(s) for s in root.iterfind(Q + "Suspect")),
        mg3=ch.Mg3Report(
            summary_of_evidence=_text(mg3, "SummaryOfEvidence"),
            key_evidence=_texts(mg3, "KeyEvidence"),
            officer_view=_text(mg3, "OfficerView"),
            vulnerable_or_intimidated_witness=bool(_bool(mg3, "VulnerableOrIntimidatedWitness")),
        ),
    )


def to_charge_request(element: etree._Element) -> ch.ChargeRequest:
    """Map a schema-valid ``ChargeRequest`` element to the canonical model."""
    try:
        return _build(element)
    except _Unmappable as exc:
        issue = Issue(
            "VALUE_UNSUPPORTED",
            str(exc),
            location=readable_path(exc.element, element),
            line=exc.element.sourceline,
        )
        raise InvalidMessage(
            issues=[issue], summary="ChargeRequest has unsupported values"
        ) from None
    except ValidationError as exc:
        issues = [
            Issue(
                "CANONICAL_INVALID",
                f"{err['msg']} (ChargeRequest field {'.'.join(str(p) for p in err['loc'])})",
                location="/" + "/".join(str(p) for p in err["loc"]),
            )
            for err in exc.errors()
        ]
        raise InvalidMessage(issues=issues, summary="ChargeRequest does not map") from None


# ---------------------------------------------------------------- canonical → XML


def _sub(parent: etree._Element, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.date):  # dates and datetimes alike
        text = value.isoformat()
    else:
        text = str(value)
    etree.SubElement(parent, Q + name).text = text


def _name_xml(parent: etree._Element, tag: str, name: PersonName) -> None:
    element = etree.SubElement(parent, Q + tag)
    _sub(element, "Title", name.title)
    for given in name.given_names:
        _sub(element, "GivenName", given)
    _sub(element, "FamilyName", name.family_name)


def _contact_xml(parent: etree._Element, contact: ContactDetails) -> None:
    if contact.is_empty:
        return
    element = etree.SubElement(parent, Q + "Contact")
    for tag, field in _PHONES:
        _sub(element, tag, getattr(contact, field))
    for email in contact.emails:
        _sub(element, "Email", email)
    _sub(element, "DXAddress", contact.dx_address)


def _suspect_xml(parent: etree._Element, suspect: ch.Suspect) -> None:
    element = etree.SubElement(parent, Q + "Suspect", SuspectID=suspect.suspect_id)
    _name_xml(element, "Name", suspect.name)
    _sub(element, "DateOfBirth", suspect.birth_date)
    _sub(element, "Gender", None if suspect.gender is None else suspect.gender.value)
    _sub(element, "ASN", suspect.asn)
    _sub(element, "PNCId", suspect.pnc_id)
    _sub(element, "Status", suspect.status.value)
    _sub(element, "CustodyTimeLimit", suspect.custody_time_limit)
    _sub(element, "BailDate", suspect.bail_date)
    _sub(element, "ProlificPriorityOffender", suspect.ppo)
    _sub(element, "DIPTestPositive", suspect.dip_drug_test_positive)
    for charge in suspect.proposed_charges:
        item = etree.SubElement(element, Q + "ProposedCharge", ChargeID=charge.charge_id)
        _sub(item, "CJSCode", charge.offence_code)
        _sub(item, "Wording", charge.wording)
        _sub(item, "FromDate", charge.from_date)
        _sub(item, "ToDate", charge.to_date)


def charge_request_to_xml(request: ch.ChargeRequest) -> bytes:
    """The police XML of a ``ChargeRequest`` (UTF-8, with declaration)."""
    root = etree.Element(Q + "ChargeRequest", nsmap={None: NS}, SchemaVersion="1.0")
    _sub(root, "RequestReference", request.request_reference)
    _sub(root, "PTIURN", request.case_urn)
    _sub(root, "RequestingForce", request.requesting_force)
    _sub(root, "CPSOrganisation", request.cps_organisation)
    _sub(root, "SubmittedAt", request.submitted_at)
    _sub(root, "RequestedTest", request.requested_test.value)
    _sub(root, "Deadline", request.deadline)
    officer = etree.SubElement(root, Q + "RequestingOfficer")
    _name_xml(officer, "Name", request.officer.name)
    _sub(officer, "Rank", request.officer.rank)
    _sub(officer, "ShoulderNumber", request.officer.shoulder_number)
    _sub(officer, "StationCode", request.officer.station_code)
    _contact_xml(officer, request.officer.contact)
    for suspect in request.suspects:
        _suspect_xml(root, suspect)
    mg3 = etree.SubElement(root, Q + "MG3")
    _sub(mg3, "SummaryOfEvidence", request.mg3.summary_of_evidence)
    for item in request.mg3.key_evidence:
        _sub(mg3, "KeyEvidence", item)
    _sub(mg3, "OfficerView", request.mg3.officer_view)
    _sub(mg3, "VulnerableOrIntimidatedWitness", request.mg3.vulnerable_or_intimidated_witness)
    raw: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return raw


# ---------------------------------------------------------------- canonical → CMS JSON


def _name_json(name: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": name["title"],
        "givenNames": name["given_names"],
        "familyName": name["family_name"],
    }


def _contact_json(contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "phoneBusiness": contact["phone_business"],
        "phoneHome": contact["phone_home"],
        "phoneMobile": contact["phone_mobile"],
        "fax": contact["fax"],
        "emails": contact["emails"],
        "dxAddress": contact["dx_address"],
    }


def _suspect_json(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "suspectId": s["suspect_id"],
        "name": _name_json(s["name"]),
        "birthDate": s["birth_date"],
        "gender": s["gender"],
        "asn": s["asn"],
        "pncId": s["pnc_id"],
        "status": s["status"],
        "custodyTimeLimit": s["custody_time_limit"],
        "bailDate": s["bail_date"],
        "ppo": s["ppo"],
        "dipDrugTestPositive": s["dip_drug_test_positive"],
        "proposedCharges": [
            {
                "chargeId": c["charge_id"],
                "offenceCode": c["offence_code"],
                "wording": c["wording"],
                "fromDate": c["from_date"],
                "toDate": c["to_date"],
            }
            for c in s["proposed_charges"]
        ],
    }


def charge_request_to_cms(request: ch.ChargeRequest, envelope: Envelope) -> dict[str, Any]:
    """The CMS JSON for a pre-charge request, ready for ``orjson.dumps``.

    Built from the canonical JSON form so dates and times are spelt exactly as on Kafka; keys
    are listed one by one so a canonical rename cannot silently change what CMS receives.
    """
    r = request.model_dump(mode="json")
    officer, mg3 = r["officer"], r["mg3"]
    return {
        "documentType": "ChargeRequest",
        "schema": CMS_CHARGE_REQUEST_SCHEMA,
        # The hub's id, stable across retries: CMS de-duplicates on it and quotes it back as
        # requestMessageId in its charging decision.
        "messageId": str(envelope.message_id),
        "correlationId": str(envelope.correlation_id),
        "causationId": None if envelope.causation_id is None else str(envelope.causation_id),
        "occurredAt": envelope.occurred_at.isoformat(),
        "requestReference": r["request_reference"],
        "caseUrn": r["case_urn"],
        "requestingForce": r["requesting_force"],
        "cpsOrganisation": r["cps_organisation"],
        "submittedAt": r["submitted_at"],
        "requestedTest": r["requested_test"],
        "deadline": r["deadline"],
        "officer": {
            "name": _name_json(officer["name"]),
            "rank": officer["rank"],
            "shoulderNumber": officer["shoulder_number"],
            "stationCode": officer["station_code"],
            "contact": _contact_json(officer["contact"]),
        },
        "suspects": [_suspect_json(s) for s in r["suspects"]],
        "mg3": {
            "summaryOfEvidence": mg3["summary_of_evidence"],
            "keyEvidence": mg3["key_evidence"],
            "officerView": mg3["officer_view"],
            "vulnerableOrIntimidatedWitness": mg3["vulnerable_or_intimidated_witness"],
        },
    }


def render_cms_charge_request(payload: ch.ChargeRequest, envelope: Envelope) -> dict[str, Any]:
    """``Outbound.render`` for ``cms-charge-request-json``."""
    return charge_request_to_cms(payload, envelope)
