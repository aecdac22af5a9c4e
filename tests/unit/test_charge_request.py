"""Flow 2 inbound: the police pre-charge request (MG3) XML, the ChargeRequest model and the CMS
JSON the CPS pulls. Fixtures in tests/fixtures/charging are fictional."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import BaseModel

from adapters.police.charge_request import (
    ROOT,
    charge_request_quality,
    parse_charge_request,
    schema,
    validate_charge_request,
)
from exchange.domain import charging as ch
from exchange.domain.common import SENSITIVITY, ContactDetails, Gender, PersonName
from exchange.domain.envelope import Agency, Envelope, MessageType, Party
from exchange.domain.errors import InvalidMessage, Issue, UnsupportedFormat
from transforms.charge_request import (
    charge_request_to_cms,
    charge_request_to_xml,
    render_cms_charge_request,
    to_charge_request,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "charging"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def envelope(causation: uuid.UUID | None = None) -> Envelope:
    return Envelope(
        message_id=uuid.UUID("0f8b7a52-3c1e-4d7e-9b6a-5f0c2d1e8a90"),
        message_type=MessageType.CHARGE_REQUEST,
        schema_version="1.0",
        case_urn="01ZD0300124",
        source=Party(agency=Agency.POLICE, system="NSPIS", organisation="01"),
        correlation_id=uuid.UUID("9d1c1c9e-8a55-4a8e-bb7e-0e6c5a0f2b33"),
        causation_id=causation,
        occurred_at=dt.datetime(2024, 3, 2, 9, 30, tzinfo=dt.UTC),
    )


# ------------------------------------------------------------------ parsing


def test_parses_the_valid_request() -> None:
    request = parse_charge_request(fixture("charge-request-valid.xml"))
    assert (request.case_urn, request.request_reference) == ("01ZD0300124", "MG3-01-2024-000417")
    assert request.requested_test is ch.CodeTest.FULL_CODE
    assert request.deadline == dt.datetime(2024, 3, 2, 21, tzinfo=dt.UTC)
    assert request.officer.name == PersonName(
        title="DC", given_names=("Robin",), family_name="EXAMPLE"
    )
    assert request.officer.contact.emails == ("robin.example@police.example",)
    first, second = request.suspects
    assert first.name.given_names == ("Jo", "Ann")
    assert first.gender is Gender.FEMALE
    assert first.status is ch.SuspectStatus.IN_CUSTODY
    assert first.custody_time_limit == dt.datetime(2024, 3, 3, 2, 15, tzinfo=dt.UTC)
    assert (first.ppo, first.dip_drug_test_positive) == (True, False)
    assert [c.offence_code for c in first.proposed_charges] == ["TH68010", "CJ88116"]
    assert first.proposed_charges[1].to_date == dt.date(2024, 3, 1)
    assert (second.status, second.bail_date) == (
        ch.SuspectStatus.PRE_CHARGE_BAIL,
        dt.date(2024, 3, 30),
    )
    assert second.gender is None
    assert second.dip_drug_test_positive is None
    assert request.mg3.key_evidence[1] == "Statement of the owner (MG11)"
    assert request.mg3.vulnerable_or_intimidated_witness is False
    assert request.force_code == "01"


def test_valid_request_has_no_issues() -> None:
    root = etree.fromstring(fixture("charge-request-valid.xml"))
    assert validate_charge_request(root) == []


def test_schema_errors_are_all_reported_with_xpath_and_line() -> None:
    with pytest.raises(InvalidMessage) as info:
        parse_charge_request(fixture("charge-request-invalid-schema.xml"))
    issues = info.value.issues
    assert {i.code for i in issues} == {"SCHEMA_INVALID"}
    locations = {i.location for i in issues}
    assert "/ChargeRequest/PTIURN" in locations
    assert "/ChargeRequest/Suspect[2]/Status" in locations
    assert "/ChargeRequest/MG3/KeyEvidence[1]" in locations  # where SummaryOfEvidence was due
    assert all(i.line for i in issues)
    assert all("{urn:" not in i.message for i in issues)
    messages = " ".join(i.message for i in issues)
    assert "[0-9]{7}" in messages
    assert "{'in-custody'," in messages


def test_rule_and_identifier_issues_point_at_the_element() -> None:
    with pytest.raises(InvalidMessage) as info:
        parse_charge_request(fixture("charge-request-invalid-rules.xml"))
    found = {(i.code, i.location) for i in info.value.issues}
    assert ("THRESHOLD_TEST_NOT_IN_CUSTODY", "/ChargeRequest/Suspect[2]/Status") in found
    assert ("ASN_CHECK_CHARACTER", "/ChargeRequest/Suspect[2]/ASN") in found
    assert all(i.line for i in info.value.issues)


def test_warnings_do_not_block_the_request() -> None:
    raw = fixture("charge-request-valid.xml").replace(
        b"<RequestingForce>01<", b"<RequestingForce>02<"
    )
    issues = validate_charge_request(etree.fromstring(raw))
    assert [(i.code, i.severity, i.location) for i in issues] == [
        ("FORCE_MISMATCH", "warning", "/ChargeRequest/RequestingForce")
    ]
    assert parse_charge_request(raw).requesting_force == "02"


def test_custody_without_time_limit_is_an_error() -> None:
    raw = fixture("charge-request-valid.xml").replace(
        b"<CustodyTimeLimit>2024-03-03T02:15:00Z</CustodyTimeLimit>", b""
    )
    with pytest.raises(InvalidMessage) as info:
        parse_charge_request(raw)
    assert [i.code for i in info.value.issues] == ["CUSTODY_TIME_LIMIT_MISSING"]


def test_datetime_without_offset_is_rejected() -> None:
    raw = fixture("charge-request-valid.xml").replace(b"09:30:00Z<", b"09:30:00<")
    with pytest.raises(InvalidMessage) as info:
        parse_charge_request(raw)
    assert info.value.issues[0].location == "/ChargeRequest/SubmittedAt"


def test_year_python_cannot_hold_is_an_issue_not_a_crash() -> None:
    raw = fixture("charge-request-valid.xml").replace(b"<BailDate>2024-", b"<BailDate>10000-")
    with pytest.raises(InvalidMessage) as info:
        parse_charge_request(raw)
    assert info.value.issues[0].code == "VALUE_UNSUPPORTED"
    assert info.value.issues[0].location == "/ChargeRequest/Suspect[2]/BailDate"


def test_hostile_xml_is_refused_before_parsing() -> None:
    raw = (
        b'<!DOCTYPE x [<!ENTITY a "b">]><ChargeRequest xmlns="'
        + ROOT[1:].split("}")[0].encode()
        + b'"/>'
    )
    with pytest.raises(InvalidMessage) as info:
        parse_charge_request(raw)
    assert info.value.issues[0].code == "XML_DTD_FORBIDDEN"


def test_other_format_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormat, match="NewCaseMessage"):
        parse_charge_request(b'<NewCaseMessage xmlns="http://www.dca.gov.uk/xmlschemas/libra"/>')


class FakeStandingData:
    """Knows one offence and no OU codes; enough to see which lookups the quality hook makes."""

    def check_offence_code(self, code: str, location: str = "") -> list[Issue]:
        if code == "TH68010":
            return []
        return [Issue("OFFENCE_CODE_UNKNOWN", code, location, severity="warning")]

    def check_ou_code(self, code: str, location: str = "") -> list[Issue]:
        return [Issue("OU_CODE_UNKNOWN", code, location, severity="warning")]


def test_quality_reports_unknown_codes_by_canonical_pointer() -> None:
    request = parse_charge_request(fixture("charge-request-valid.xml"))
    found = charge_request_quality(request, FakeStandingData())  # type: ignore[arg-type]
    assert [(i.code, i.location, i.severity) for i in found] == [
        ("OU_CODE_UNKNOWN", "/cps_organisation", "warning"),
        ("OFFENCE_CODE_UNKNOWN", "/suspects/0/proposed_charges/1/offence_code", "warning"),
    ]


# ------------------------------------------------------------------ CMS JSON


def test_cms_json_carries_message_ids_and_causation() -> None:
    request = parse_charge_request(fixture("charge-request-valid.xml"))
    cause = uuid.uuid4()
    body = charge_request_to_cms(request, envelope(cause))
    assert body["documentType"] == "ChargeRequest"
    assert body["messageId"] == "0f8b7a52-3c1e-4d7e-9b6a-5f0c2d1e8a90"
    assert body["causationId"] == str(cause)
    assert body["suspects"][0]["custodyTimeLimit"] == "2024-03-03T02:15:00Z"
    assert render_cms_charge_request(request, envelope())["causationId"] is None
    orjson.dumps(body)  # ready to serialise as it stands


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _contains(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Paths of canonical values missing from the CMS JSON (keys camelCased)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [where]
        return [
            miss
            for key, value in expected.items()
            for miss in _contains(
                value, actual.get(_camel(key), _MISSING), f"{where}/{_camel(key)}"
            )
        ]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [where]
        return [
            m
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for m in _contains(e, a, f"{where}/{i}")
        ]
    return [] if actual == expected else [where]


_MISSING = object()


def test_request_xml_to_cms_json_keeps_every_field() -> None:
    request = parse_charge_request(fixture("charge-request-valid.xml"))
    canonical = orjson.loads(request.model_dump_json())
    assert _contains(canonical, charge_request_to_cms(request, envelope())) == []


# ------------------------------------------------------------------ model


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    seen.add(model)
    for info in model.model_fields.values():
        for arg in _types(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                _models(arg, seen)
    return seen


def _types(annotation: object) -> list[object]:
    args = getattr(annotation, "__args__", ())
    return [annotation, *[t for a in args for t in _types(a)]]


@pytest.mark.parametrize("model", [ch.ChargeRequest, ch.ChargingDecision])
def test_every_field_has_a_sensitivity_marking(model: type[BaseModel]) -> None:
    unmarked = [
        f"{m.__name__}.{name}"
        for m in _models(model, set())
        for name, info in m.model_fields.items()
        if not isinstance(info.json_schema_extra, dict) or SENSITIVITY not in info.json_schema_extra
    ]
    assert unmarked == []


def test_request_is_frozen_forbids_extra_and_needs_aware_times() -> None:
    request = parse_charge_request(fixture("charge-request-valid.xml"))
    with pytest.raises(ValueError, match="frozen"):
        request.__setattr__("case_urn", "X")
    data = request.model_dump()
    with pytest.raises(ValueError, match="Extra inputs"):
        ch.ChargeRequest.model_validate({**data, "surprise": 1})
    with pytest.raises(ValueError, match="timezone"):
        ch.ChargeRequest.model_validate({**data, "submitted_at": dt.datetime(2024, 3, 2, 9)})  # noqa: DTZ001


# ------------------------------------------------------------------ properties

_text = st.text(
    st.characters(categories=("L", "N", "P", "Zs"), max_codepoint=0x2FFF), min_size=1, max_size=40
).filter(lambda s: s == s.strip() and s != "")
_long_text = st.lists(_text, min_size=1, max_size=3).map("\n".join)
_ids = st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,9}", fullmatch=True)
_offsets = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=1)), dt.timezone(-dt.timedelta(hours=5, minutes=30))]
)
# Hypothesis takes naive bounds and attaches the time zones itself.
_aware = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=_offsets,
)
_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1))
_name35 = _text.filter(lambda s: len(s) <= 35)
_names = st.builds(
    PersonName,
    title=st.none() | _name35,
    given_names=st.lists(_name35, max_size=3).map(tuple),
    family_name=_name35,
)
_contacts = st.builds(
    ContactDetails,
    # The police XML holds phone numbers of up to 35 characters (Text35).
    phone_business=st.none() | _name35,
    phone_mobile=st.none() | _name35,
    emails=st.lists(_text, max_size=2).map(tuple),
    dx_address=st.none() | _text,
)
_charges = st.builds(
    ch.ProposedCharge,
    charge_id=_ids,
    offence_code=st.from_regex(r"[A-Z]{2}[0-9]{5}[A-Z]?", fullmatch=True),
    wording=_long_text,
    from_date=_dates,
    to_date=st.none() | _dates,
)
_suspects = st.builds(
    ch.Suspect,
    suspect_id=_ids,
    name=_names,
    birth_date=st.none() | _dates,
    gender=st.none() | st.sampled_from(Gender),
    asn=st.from_regex(r"[0-9]{2}[0-9]{2}[A-Z0-9]{4}[0-9]{11}[A-Z]", fullmatch=True),
    pnc_id=st.none() | st.from_regex(r"[0-9]{4}/[0-9]{7}[A-Z]", fullmatch=True),
    status=st.sampled_from(ch.SuspectStatus),
    custody_time_limit=st.none() | _aware,
    bail_date=st.none() | _dates,
    ppo=st.booleans(),
    dip_drug_test_positive=st.none() | st.booleans(),
    proposed_charges=st.lists(_charges, max_size=3).map(tuple),
)
requests = st.builds(
    ch.ChargeRequest,
    request_reference=_ids,
    case_urn=st.from_regex(r"[0-9]{2}[0-9A-Z]{2}[0-9]{7}(/[0-9])?", fullmatch=True),
    requesting_force=st.from_regex(r"[0-9]{2}", fullmatch=True),
    cps_organisation=st.none() | st.from_regex(r"[A-Z][0-9]{2}[A-Z0-9]{4}", fullmatch=True),
    submitted_at=_aware,
    requested_test=st.sampled_from(ch.CodeTest),
    deadline=st.none() | _aware,
    officer=st.builds(
        ch.RequestingOfficer,
        name=_names,
        rank=st.none() | _name35,
        shoulder_number=_ids,
        station_code=st.none() | st.from_regex(r"[0-9]{2}[A-Z0-9]{4}", fullmatch=True),
        contact=_contacts,
    ),
    suspects=st.lists(_suspects, min_size=1, max_size=3).map(tuple),
    mg3=st.builds(
        ch.Mg3Report,
        summary_of_evidence=_long_text,
        key_evidence=st.lists(_text, max_size=3).map(tuple),
        officer_view=st.none() | _long_text,
        vulnerable_or_intimidated_witness=st.booleans(),
    ),
)


@settings(max_examples=60, deadline=None)
@given(requests)
def test_canonical_json_round_trip(request: ch.ChargeRequest) -> None:
    assert (
        ch.ChargeRequest.model_validate_json(orjson.dumps(request.model_dump(mode="json")))
        == request
    )


@settings(max_examples=60, deadline=None)
@given(requests)
def test_police_xml_round_trip_is_schema_valid(request: ch.ChargeRequest) -> None:
    raw = charge_request_to_xml(request)
    assert schema().validate(etree.fromstring(raw)), schema().error_log
    assert to_charge_request(etree.fromstring(raw)) == request


@settings(max_examples=60, deadline=None)
@given(requests)
def test_cms_json_keeps_every_canonical_field(request: ch.ChargeRequest) -> None:
    body = orjson.loads(orjson.dumps(charge_request_to_cms(request, envelope())))
    assert _contains(orjson.loads(request.model_dump_json()), body) == []
