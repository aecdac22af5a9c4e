"""Flow 3 inbound: the CMS charging-decision JSON, the ChargingDecision model and the police XML
the police receive. Fixtures in tests/fixtures/charging are fictional."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from adapters.cps.charging_decision import (
    DOCUMENT_TYPE,
    MAX_DEPTH,
    MAX_VALUES,
    charging_decision_quality,
    is_charging_decision,
    json_schema,
    parse_charging_decision,
    validate_charging_decision,
    validator,
)
from exchange.domain import charging as ch
from exchange.domain.common import PersonName
from exchange.domain.envelope import Agency, Envelope, MessageType, Party
from exchange.domain.errors import InvalidMessage, Issue
from transforms.charging_decision import (
    POLICE_NS,
    charging_decision_to_cms,
    charging_decision_to_police_xml,
    cms_to_charging_decision,
    police_schema,
    render_police_charging_decision,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "charging"
NOW = dt.datetime(2024, 3, 2, 17, tzinfo=dt.UTC)
REQUEST_ID = uuid.UUID("5b0e8f8e-2f6c-4f54-9d7e-4c1a1c0f2a11")
P = f"{{{POLICE_NS}}}"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def envelope(causation: uuid.UUID | None = REQUEST_ID) -> Envelope:
    return Envelope(
        message_id=uuid.UUID("3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98"),
        message_type=MessageType.CHARGING_DECISION,
        schema_version="1.0",
        case_urn="01ZD0300124",
        source=Party(agency=Agency.CPS, system="CMS", organisation="A01AH00"),
        correlation_id=uuid.UUID("9d1c1c9e-8a55-4a8e-bb7e-0e6c5a0f2b33"),
        causation_id=causation,
        occurred_at=NOW,
    )


def issues_of(raw: bytes, now: dt.datetime = NOW) -> list[tuple[str, str]]:
    with pytest.raises(InvalidMessage) as info:
        parse_charging_decision(raw, now=now)
    return [(i.code, i.location) for i in info.value.issues]


# ------------------------------------------------------------------ parsing


def test_parses_a_charge_and_no_further_action() -> None:
    decision = parse_charging_decision(fixture("charging-decision-charge.json"), now=NOW)
    assert decision.request_message_id == REQUEST_ID
    assert decision.code_test is ch.CodeTest.FULL_CODE
    assert decision.prosecutor.name == PersonName(
        title="Ms", given_names=("Pat",), family_name="LAWYER"
    )
    charged, nfa = decision.suspect_decisions
    assert charged.outcome is ch.DecisionOutcome.CHARGE
    assert [(c.offence_code, c.proposed_charge_id) for c in charged.charges] == [
        ("TH68010", "C1"),
        ("CJ88116", "C2"),
    ]
    assert (nfa.outcome, nfa.failed_stage) == (
        ch.DecisionOutcome.NO_FURTHER_ACTION,
        ch.FailedStage.EVIDENTIAL,
    )
    assert decision.force_code == "01"


def test_parses_an_action_plan_and_a_disposal() -> None:
    plan = parse_charging_decision(fixture("charging-decision-action-plan.json"), now=NOW)
    actions = plan.suspect_decisions[0].actions
    assert [a.due_by for a in actions] == [dt.date(2024, 3, 20), dt.date(2024, 3, 27)]
    disposal = parse_charging_decision(fixture("charging-decision-disposal.json"), now=NOW)
    assert disposal.suspect_decisions[0].disposal == ch.Disposal(
        kind=ch.DisposalKind.CONDITIONAL_CAUTION,
        conditions=("Pay 250 pounds compensation to the owner within 28 days.",),
    )


def test_schema_errors_are_all_reported_as_json_pointers() -> None:
    found = issues_of(fixture("charging-decision-invalid-schema.json"))
    assert {code for code, _ in found} == {"JSON_SCHEMA_INVALID"}
    assert {loc for _, loc in found} >= {
        "/decisionId",
        "/requestMessageId",
        "/codeTest",
        "/decidedAt",
        "/surprise",
        "/suspectDecisions/0/charges/0/wording",
    }


def test_business_rules_after_schema() -> None:
    found = issues_of(fixture("charging-decision-invalid-rules.json"))
    assert found == [
        ("DECISION_IN_FUTURE", "/decidedAt"),
        ("CHARGE_WITHOUT_CHARGES", "/suspectDecisions/0/charges"),
        ("THRESHOLD_TEST_NOT_IN_CUSTODY", "/suspectDecisions/1/status"),
    ]


def test_threshold_test_for_a_suspect_in_custody_is_accepted() -> None:
    doc = orjson.loads(fixture("charging-decision-charge.json"))
    doc["codeTest"] = "threshold-test"
    doc["suspectDecisions"] = doc["suspectDecisions"][:1]
    assert parse_charging_decision(orjson.dumps(doc), now=NOW).code_test is ch.CodeTest.THRESHOLD


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"outcome": "out-of-court-disposal"},
            ("DISPOSAL_MISSING", "/suspectDecisions/0/disposal"),
        ),
        (
            {"outcome": "action-plan"},
            ("ACTION_PLAN_WITHOUT_ACTIONS", "/suspectDecisions/0/actions"),
        ),
        (
            {"outcome": "no-further-action"},
            ("FAILED_STAGE_MISSING", "/suspectDecisions/0/failedStage"),
        ),
        (
            {
                "actions": [{"advice": "Get CCTV.", "dueBy": "2024-03-01"}],
                "outcome": "action-plan",
                "charges": [],
            },
            ("ACTION_DUE_BEFORE_DECISION", "/suspectDecisions/0/actions/0/dueBy"),
        ),
    ],
)
def test_outcome_rules(change: dict[str, object], expected: tuple[str, str]) -> None:
    doc = orjson.loads(fixture("charging-decision-action-plan.json"))
    doc["suspectDecisions"][0] = {"suspectId": "S2", "status": "pre-charge-bail", **change}
    assert expected in issues_of(orjson.dumps(doc))


def test_charges_with_another_outcome_and_repeated_suspect() -> None:
    doc = orjson.loads(fixture("charging-decision-charge.json"))
    doc["suspectDecisions"][1]["charges"] = doc["suspectDecisions"][0]["charges"]
    doc["suspectDecisions"][1]["suspectId"] = "S1"
    found = issues_of(orjson.dumps(doc))
    assert ("CHARGES_WITHOUT_CHARGE_DECISION", "/suspectDecisions/1/charges") in found
    assert ("DUPLICATE_ID", "/suspectDecisions/1/suspectId") in found


def test_identifier_checks() -> None:
    doc = orjson.loads(fixture("charging-decision-charge.json"))
    doc["suspectDecisions"][0]["asn"] = "2401ZD0100000448754A"
    doc["suspectDecisions"][0]["charges"][0]["offenceCode"] = "th68010"
    found = issues_of(orjson.dumps(doc))
    assert ("ASN_CHECK_CHARACTER", "/suspectDecisions/0/asn") in found
    assert ("OFFENCE_CODE_FORMAT", "/suspectDecisions/0/charges/0/offenceCode") in found


def test_malformed_json_has_line_and_column() -> None:
    with pytest.raises(InvalidMessage) as info:
        parse_charging_decision(b'{\n  "documentType": "ChargingDecision",\n  "caseUrn": \n}')
    issue = info.value.issues[0]
    assert (issue.code, issue.line) == ("JSON_MALFORMED", 4)
    assert "column" in issue.location


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "JSON_TOO_DEEP"),
        (b"[" * 5000 + b"]" * 5000, "JSON_TOO_DEEP"),  # past orjson's own recursion limit
        (b"[" + b"0," * MAX_VALUES + b"0]", "JSON_TOO_MANY_VALUES"),
        (b'"' + b"x" * (2 * 1024 * 1024) + b'"', "JSON_TOO_LARGE"),
    ],
)
def test_json_bombs_are_refused(raw: bytes, code: str) -> None:
    with pytest.raises(InvalidMessage) as info:
        parse_charging_decision(raw)
    assert info.value.issues[0].code == code


def test_nesting_at_the_limit_is_only_a_schema_error() -> None:
    raw = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert validate_charging_decision(raw)[0].code == "JSON_SCHEMA_INVALID"


def test_document_type_tells_it_from_other_cms_json() -> None:
    doc = orjson.loads(fixture("charging-decision-charge.json"))
    assert DOCUMENT_TYPE == "ChargingDecision"
    assert is_charging_decision(doc)
    assert not is_charging_decision({"documentType": "CourtBundle"})
    assert not is_charging_decision([doc])


def test_json_schema_is_draft_2020_12_and_strict() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["documentType"]["const"] == DOCUMENT_TYPE


def test_valid_fixtures_have_no_issues() -> None:
    for name in ("charge", "action-plan", "disposal"):
        assert validate_charging_decision(fixture(f"charging-decision-{name}.json"), now=NOW) == []


class FakeStandingData:
    """Knows no offence and every OU code."""

    def check_offence_code(self, code: str, location: str = "") -> list[Issue]:
        return [Issue("OFFENCE_CODE_UNKNOWN", code, location, severity="warning")]

    def check_ou_code(self, code: str, location: str = "") -> list[Issue]:
        return []


def test_quality_reports_unknown_offences_by_canonical_pointer() -> None:
    decision = parse_charging_decision(fixture("charging-decision-charge.json"), now=NOW)
    found = charging_decision_quality(decision, FakeStandingData())  # type: ignore[arg-type]
    assert [i.location for i in found] == [
        "/suspect_decisions/0/charges/0/offence_code",
        "/suspect_decisions/0/charges/1/offence_code",
    ]


# ------------------------------------------------------------------ police XML


def test_police_xml_is_schema_valid_and_carries_ids_and_charges() -> None:
    decision = parse_charging_decision(fixture("charging-decision-charge.json"), now=NOW)
    body = render_police_charging_decision(decision, envelope())
    assert body["messageId"] == "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98"
    root = etree.fromstring(body["xml"].encode())
    assert police_schema().validate(root), police_schema().error_log
    assert root.findtext(P + "MessageId") == body["messageId"]
    assert root.findtext(P + "CausationId") == str(REQUEST_ID)
    codes = [c.findtext(P + "CJSCode") for c in root.iter(P + "Charge")]
    assert codes == ["TH68010", "CJ88116"]


def test_causation_falls_back_to_the_request_it_answers() -> None:
    decision = parse_charging_decision(fixture("charging-decision-charge.json"), now=NOW)
    root = etree.fromstring(charging_decision_to_police_xml(decision, envelope(None)))
    assert root.findtext(P + "CausationId") == str(REQUEST_ID)


# ------------------------------------------------------------------ properties

_text = st.text(
    st.characters(categories=("L", "N", "P", "Zs"), max_codepoint=0x2FFF), min_size=1, max_size=40
).filter(lambda s: s == s.strip() and s != "")
_long_text = st.lists(_text, min_size=1, max_size=3).map("\n".join)
_ids = st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,9}", fullmatch=True)
_offsets = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=1)), dt.timezone(-dt.timedelta(hours=9, minutes=30))]
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
_suspect_decisions = st.builds(
    ch.SuspectDecision,
    suspect_id=_ids,
    asn=st.none() | st.from_regex(r"[0-9]{4}[A-Z0-9]{4}[0-9]{11}[A-Z]", fullmatch=True),
    status=st.sampled_from(ch.SuspectStatus),
    outcome=st.sampled_from(ch.DecisionOutcome),
    charges=st.lists(
        st.builds(
            ch.DecidedCharge,
            offence_code=st.from_regex(r"[A-Z]{2}[0-9]{5}[A-Z]?", fullmatch=True),
            wording=_long_text,
            proposed_charge_id=st.none() | _ids,
        ),
        max_size=3,
    ).map(tuple),
    disposal=st.none()
    | st.builds(
        ch.Disposal,
        kind=st.sampled_from(ch.DisposalKind),
        conditions=st.lists(_long_text, max_size=2).map(tuple),
    ),
    failed_stage=st.none() | st.sampled_from(ch.FailedStage),
    reason=st.none() | _long_text,
    actions=st.lists(st.builds(ch.Action, advice=_long_text, due_by=_dates), max_size=2).map(tuple),
)
decisions = st.builds(
    ch.ChargingDecision,
    decision_id=_ids,
    case_urn=st.from_regex(r"[0-9]{2}[0-9A-Z]{2}[0-9]{7}(/[0-9])?", fullmatch=True),
    request_message_id=st.uuids(),
    request_reference=st.none() | _ids,
    cps_organisation=st.none() | st.from_regex(r"[A-Z][0-9]{2}[A-Z0-9]{4}", fullmatch=True),
    code_test=st.sampled_from(ch.CodeTest),
    decided_at=_aware,
    prosecutor=st.builds(ch.Prosecutor, name=_names, role=st.none() | _name35),
    advice=st.none() | _long_text,
    suspect_decisions=st.lists(_suspect_decisions, min_size=1, max_size=3).map(tuple),
)


@settings(max_examples=60, deadline=None)
@given(decisions)
def test_canonical_json_round_trip(decision: ch.ChargingDecision) -> None:
    raw = orjson.dumps(decision.model_dump(mode="json"))
    assert ch.ChargingDecision.model_validate_json(raw) == decision


@settings(max_examples=60, deadline=None)
@given(decisions)
def test_cms_json_round_trip_is_schema_valid(decision: ch.ChargingDecision) -> None:
    doc = orjson.loads(orjson.dumps(charging_decision_to_cms(decision)))
    errors = [e.message for e in validator().iter_errors(doc)]
    assert errors == []
    assert cms_to_charging_decision(doc) == decision


@settings(max_examples=60, deadline=None)
@given(decisions, st.uuids())
def test_police_xml_is_valid_and_carries_every_decided_charge(
    decision: ch.ChargingDecision, message_id: uuid.UUID
) -> None:
    env = envelope().model_copy(update={"message_id": message_id})
    root = etree.fromstring(render_police_charging_decision(decision, env)["xml"].encode())
    assert police_schema().validate(root), police_schema().error_log
    assert root.findtext(P + "MessageId") == str(message_id)
    rendered = [
        [(c.findtext(P + "CJSCode"), c.findtext(P + "Wording")) for c in s.iter(P + "Charge")]
        for s in root.iter(P + "SuspectDecision")
    ]
    assert rendered == [
        [(c.offence_code, c.wording) for c in s.charges] for s in decision.suspect_decisions
    ]
