"""Flow 1 outbound: CMS JSON for the CPS and the court case record, and data minimisation."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest

from exchange.domain import casefile as cf
from exchange.domain.common import Address, ContactDetails, Ethnicity, Gender, Hearing, PersonName
from exchange.domain.envelope import Agency, Envelope, MessageType, Party
from transforms.cms_case import case_file_to_cms
from transforms.dcs_case import case_file_to_court_record

# Distinct marker values, so a leak is found wherever in the output it ends up.
OFFICER_PHONE = "0100 111111"
OFFICER_MOBILE = "0700 222222"
OFFICER_EMAIL = "oic.marker@police.example"
OFFICER_FAX = "0100 333333"
OFFICER_DX = "DX-OFFICER-MARKER"
OFFICER_STREET = "Officer Marker Street"
DEFENDANT_SELF_ETHNICITY = "Q7"
GUARDIAN_SELF_ETHNICITY = "Z9"
GUARDIAN_EMAIL = "guardian.marker@home.example"
VICTIM_STREET = "Victim Marker Road"
VICTIM_EMAIL = "victim.marker@home.example"
LICENCE_ISSUE = "L7"
COUNTERPART = "K"
CRO = "CRO-MARKER/9"
OCCUPATION = "Occupation-Marker"
DRIVER_NUMBER = "DEFEN601016SA9AB"

MESSAGE_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


@pytest.fixture
def envelope() -> Envelope:
    return Envelope(
        message_id=MESSAGE_ID,
        message_type=MessageType.CASE_FILE,
        schema_version="1.0",
        case_urn="01ZD0300124",
        source=Party(agency=Agency.POLICE, system="NSPIS", organisation="01"),
        correlation_id=uuid.uuid4(),
        occurred_at=dt.datetime(2024, 4, 1, 9, 0, tzinfo=dt.UTC),
    )


@pytest.fixture
def case() -> cf.CaseFile:
    victim = cf.Victim(
        name=PersonName(family_name="VICTIM"),
        address=Address(paon="1", street=VICTIM_STREET),
        contact=ContactDetails(emails=(VICTIM_EMAIL,)),
        ethnicity=Ethnicity(observed_code=3),
        gender=Gender.MALE,
    )
    offence = cf.Offence(
        sequence=1,
        code="RT88010",
        wording="Drove with excess alcohol.",
        date_code=1,
        start_date=dt.date(2024, 3, 1),
        alcohol=cf.Alcohol(level=54, method="A"),
        vehicle_registration="AB12CDE",
        victims=(victim,),
    )
    person = cf.PersonDefendant(
        name=PersonName(given_names=("Sam",), family_name="DEFENDANT"),
        birth_date=dt.date(2007, 5, 1),
        gender=Gender.FEMALE,
        address=Address(paon="2", street="Lane End", postcode="AT1 2BC"),
        contact=ContactDetails(phone_mobile="0700 999999"),
        ethnicity=Ethnicity(observed_code=1, self_defined_code=DEFENDANT_SELF_ETHNICITY),
        occupation=OCCUPATION,
        documentation_language="W",
        hearing_language="E",
        language_needs="Polish interpreter",
        driver=cf.DriverInfo(
            driver_number=DRIVER_NUMBER,
            licence_code="F",
            licence_issue=LICENCE_ISSUE,
            counterpart_issue=COUNTERPART,
        ),
        bail_conditions="Curfew 7pm to 7am.",
        parent_guardian=cf.ParentGuardian(
            name=PersonName(family_name="GUARDIAN"),
            gender=Gender.MALE,
            address=Address(paon="2", street="Lane End"),
            contact=ContactDetails(emails=(GUARDIAN_EMAIL,)),
            ethnicity=Ethnicity(self_defined_code=GUARDIAN_SELF_ETHNICITY),
        ),
    )
    flags = cf.CaseFlags(
        custody_status=cf.CustodyStatus.CONDITIONAL_BAIL, ppo=True, offender_code="PO", youth=True
    )
    defendant = cf.Defendant(
        prosecutor_reference="2401ZD0100000000001X",
        pnc_id="20060012345B",
        cro_number=CRO,
        party=person,
        flags=flags,
        offences=(offence,),
    )
    organisation = cf.Defendant(
        prosecutor_reference="ORG-1",
        party=cf.OrganisationDefendant(
            name="Widgets Ltd", address=Address(paon="7", street="Mill")
        ),
        offences=(offence,),
    )
    return cf.CaseFile(
        case=cf.CaseInfo(
            ptiurn="01ZD0300124",
            originating_organisation="01ZD00",
            initiation_code="C",
            cps_organisation="A01AH00",
            initial_hearing=Hearing(
                court_ou="B01EF01", date=dt.date(2024, 4, 10), time=dt.time(10)
            ),
        ),
        officer_in_case=cf.OfficerInCase(
            name=PersonName(title="PC", family_name="OFFICER"),
            rank="Constable",
            worker_reference="PC4711",
            location_ou="01ZD03",
            address=Address(paon="3", street=OFFICER_STREET),
            contact=ContactDetails(
                phone_business=OFFICER_PHONE,
                phone_mobile=OFFICER_MOBILE,
                fax=OFFICER_FAX,
                emails=(OFFICER_EMAIL,),
                dx_address=OFFICER_DX,
            ),
        ),
        defendants=(defendant, organisation),
        flags=cf.derive_case_flags((defendant, organisation)),
    )


def _json(document: dict[str, object]) -> str:
    return orjson.dumps(document).decode()


# ------------------------------------------------------------------ court record


COURT_WITHHELD = {
    "officer phone": OFFICER_PHONE,
    "officer mobile": OFFICER_MOBILE,
    "officer email": OFFICER_EMAIL,
    "officer fax": OFFICER_FAX,
    "officer DX": OFFICER_DX,
    "officer address": OFFICER_STREET,
    "defendant ethnicity": DEFENDANT_SELF_ETHNICITY,
    "guardian ethnicity": GUARDIAN_SELF_ETHNICITY,
    "guardian email": GUARDIAN_EMAIL,
    "victim address": VICTIM_STREET,
    "victim email": VICTIM_EMAIL,
    "licence issue number": LICENCE_ISSUE,
    "CRO number": CRO,
    "occupation": OCCUPATION,
}


@pytest.mark.parametrize(("what", "marker"), COURT_WITHHELD.items())
def test_court_record_withholds(
    what: str, marker: str, case: cf.CaseFile, envelope: Envelope
) -> None:
    assert marker not in _json(case_file_to_court_record(case, envelope)), what


def test_court_record_has_no_ethnicity_ppo_or_licence_keys(
    case: cf.CaseFile, envelope: Envelope
) -> None:
    text = _json(case_file_to_court_record(case, envelope)).lower()
    for key in ("ethnicity", "prolific", "ppo", "licenceissue", "licencecode", "counterpart"):
        assert key not in text


def test_court_record_carries_what_the_court_needs(case: cf.CaseFile, envelope: Envelope) -> None:
    record = case_file_to_court_record(case, envelope)
    assert record["messageId"] == str(MESSAGE_ID)
    assert record["caseUrn"] == "01ZD0300124"
    assert record["hearing"] == {"courtCode": "B01EF01", "date": "2024-04-10", "time": "10:00:00"}
    assert record["officerInCase"] == {
        "name": {"title": "PC", "givenNames": [], "familyName": "OFFICER"},
        "rank": "Constable",
        "workerReference": "PC4711",
        "stationCode": "01ZD03",
    }
    person, organisation = record["defendants"]
    assert person["driverNumber"] == DRIVER_NUMBER
    assert person["flags"] == {
        "custodyStatus": "conditional-bail",
        "youth": True,
        "dipDrugTestPositive": None,
        "vulnerableOrIntimidatedWitness": None,
    }
    assert person["parentGuardian"]["name"]["familyName"] == "GUARDIAN"
    assert person["charges"][0]["alcoholLevel"] == {"level": 54, "method": "A"}
    assert person["charges"][0]["victimCount"] == 1
    assert organisation["type"] == "organisation"
    assert organisation["organisationName"] == "Widgets Ltd"


# ------------------------------------------------------------------ CMS


def test_cms_json_has_message_id_urn_and_charges(case: cf.CaseFile, envelope: Envelope) -> None:
    cms = case_file_to_cms(case, envelope)
    assert cms["messageId"] == str(MESSAGE_ID)
    assert cms["caseUrn"] == "01ZD0300124"
    assert cms["flags"]["prolificPriorityOffender"] is True
    assert cms["flags"]["custodyStatus"] == "conditional-bail"
    assert [len(d["charges"]) for d in cms["defendants"]] == [1, 1]
    assert cms["officerInCase"]["contact"]["emails"] == [OFFICER_EMAIL]


def test_cms_json_is_camel_case_and_serialisable(case: cf.CaseFile, envelope: Envelope) -> None:
    cms = case_file_to_cms(case, envelope)

    def keys(node: object) -> list[str]:
        if isinstance(node, dict):
            return [k for k, v in node.items() for k in (k, *keys(v))]
        if isinstance(node, list):
            return [k for item in node for k in keys(item)]
        return []

    assert all("_" not in k for k in keys(cms))
    assert orjson.loads(orjson.dumps(cms)) == cms


def test_cms_json_withholds_victim_ethnicity_and_licence_issue(
    case: cf.CaseFile, envelope: Envelope
) -> None:
    cms = case_file_to_cms(case, envelope)
    victim = cms["defendants"][0]["charges"][0]["victims"][0]
    assert set(victim) == {"name", "address", "contact", "dateOfBirth"}
    text = _json(cms)
    assert LICENCE_ISSUE not in text
    assert GUARDIAN_SELF_ETHNICITY not in text
