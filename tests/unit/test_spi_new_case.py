"""Flow 1 inbound: format detection, the SPI NewCaseMessage adapter and the CaseFile model.

Messages here are synthetic (written for these tests); the real samples are exercised by
tests/conformance/test_spi_new_case_conformance.py.
"""

from __future__ import annotations

import datetime as dt
from html import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from adapters.police.spi import parse_new_case
from exchange.domain import casefile as cf
from exchange.domain.common import SENSITIVITY, Address, Gender, Hearing, PersonName
from exchange.domain.envelope import MessageType
from exchange.domain.errors import InvalidMessage, UnsupportedFormat
from exchange.formats import detect
from exchange.registry import Registry
from exchange.validation import to_canonical, validate_document

LIBRA = "http://www.dca.gov.uk/xmlschemas/libra"
BS = "http://www.govtalk.gov.uk/people/bs7666"

OFFENCE = """
      <Offence><BaseOffenceDetails>
        <OffenceSequenceNumber>{seq}</OffenceSequenceNumber><OffenceCode>TH68001</OffenceCode>
        <OffenceWording>Stole a bicycle worth 200 pounds.</OffenceWording>
        <OffenceTiming><OffenceDateCode>4</OffenceDateCode>
          <OffenceStart><OffenceDateStartDate>2024-03-01</OffenceDateStartDate>
            <OffenceStartTime>21:15:00.1234567Z</OffenceStartTime></OffenceStart>
          <OffenceEnd><OffenceEndDate>2024-03-02</OffenceEndDate></OffenceEnd></OffenceTiming>
        <ChargeDate>2024-03-03</ChargeDate><ArrestDate>2024-03-02</ArrestDate>
        <LocationOfOffence>Station Road, Anytown</LocationOfOffence>
        <AlcoholRelatedOffence><AlcoholLevelAmount>54</AlcoholLevelAmount>
          <AlcoholLevelMethod>A</AlcoholLevelMethod></AlcoholRelatedOffence>
        <VehicleRelatedOffence><VehicleRegistrationMark>AB12CDE</VehicleRegistrationMark>
        </VehicleRelatedOffence></BaseOffenceDetails>
        <ProsecutionFacts>Seen on CCTV.</ProsecutionFacts>
        <OtherPartyVictim><PersonDetails><PersonFamilyName>VICTIMSON</PersonFamilyName>
          </PersonDetails>
          <Address><b:PAON>          1</b:PAON><b:StreetDescription>Elm Road</b:StreetDescription>
            <b:Town>Anytown</b:Town></Address>
          <PersonEthnicity><ObservedEthnicity>2</ObservedEthnicity></PersonEthnicity>
        </OtherPartyVictim>
      </Offence>"""

MESSAGE = """<?xml version="1.0" encoding="UTF-8"?>
<NewCaseMessage xmlns="{libra}" xmlns:b="{bs}" Flow="NewCasesFromThePolice"
    Interface="LibraStandardProsecutorPolice" SchemaVersion="0.6g">
  <Case>
    <PTIURN>{ptiurn}</PTIURN><OriginatingOrganisation>01ZD00</OriginatingOrganisation>
    <CaseInitiation>C</CaseInitiation><CPSorganisation>A01AH00</CPSorganisation>
    <InitialHearing><CourtHearingLocation>B01EF01</CourtHearingLocation>
      <DateOfHearing>2024-04-10</DateOfHearing><TimeOfHearing>10:00:00+01:00</TimeOfHearing>
    </InitialHearing>
    <OtherPartyOfficerInCase>
      <OfficerName><PersonTitle>PC</PersonTitle><PersonGivenName1>Alex</PersonGivenName1>
        <PersonFamilyName>OFFICER</PersonFamilyName></OfficerName>
      <PoliceOfficerRank>Constable</PoliceOfficerRank>
      <PoliceWorkerReferenceNumber>PC4711</PoliceWorkerReferenceNumber>
      <PoliceWorkerLocationCode>01ZD03</PoliceWorkerLocationCode>
      <StructuredAddress><b:PAON>0012A0014 Police House</b:PAON>
        <b:StreetDescription>High Street</b:StreetDescription><b:Town>Anytown</b:Town>
        <b:PostCode>AT1 2BC</b:PostCode></StructuredAddress>
      <TelephoneDetails><TelephoneNumberBusiness>0100 000001</TelephoneNumberBusiness>
      </TelephoneDetails>
      <EmailDetails><EmailAddress1>alex.officer@police.example</EmailAddress1></EmailDetails>
    </OtherPartyOfficerInCase>
    <Defendant>
      <ProsecutorReference>2401ZD0100000000001W</ProsecutorReference>
      <PoliceIndividualDefendant>
        <PersonDefendant><BasePersonDetails>
          <PersonName><PersonGivenName1>Sam</PersonGivenName1>
            <PersonFamilyName>DEFENDANT</PersonFamilyName></PersonName>
          <Birthdate>{birth}</Birthdate><Gender>2</Gender></BasePersonDetails>
          <PNCidentifier>20060012345B</PNCidentifier>
          <BailConditions>Curfew 7pm to 7am.</BailConditions></PersonDefendant>
        <Address><b:SAON>0002 </b:SAON><b:PAON>          Rose Cottage</b:PAON>
          <b:StreetDescription>Lane End
          </b:StreetDescription><b:Locality>Hamlet</b:Locality></Address>
        <PersonEthnicity><SelfDefinedEthnicity>W1</SelfDefinedEthnicity></PersonEthnicity>
        <OffenderCode>PO</OffenderCode><CustodyStatus>{custody}</CustodyStatus>
        <LanguageOptions><DocumentationLanguage>W</DocumentationLanguage>
          <HearingLanguage>E</HearingLanguage></LanguageOptions>
        <DriverInformation><DriverNumber>DEFEN601016SA9AB</DriverNumber>
          <DriverLicenceCode>F</DriverLicenceCode><DriverLicenceIssue>3</DriverLicenceIssue>
        </DriverInformation>
      </PoliceIndividualDefendant>{offences}
    </Defendant>
    <Defendant>
      <ProsecutorReference>ORG-REF-1</ProsecutorReference>
      <PoliceCorporateDefendant>
        <OrganisationName><OrganisationName>Widgets Ltd</OrganisationName></OrganisationName>
        <Address><b:PAON>0007 </b:PAON><b:StreetDescription>Mill Lane</b:StreetDescription>
          <b:AdministrativeArea>Shire</b:AdministrativeArea></Address>
        <Alias>Widgets (UK)</Alias>
      </PoliceCorporateDefendant>{org_offence}
    </Defendant>
  </Case>
</NewCaseMessage>
"""


def message(
    *, ptiurn: str = "01ZD0300124", birth: str = "2007-05-01", custody: str = "C", offences: int = 2
) -> bytes:
    return MESSAGE.format(
        libra=LIBRA,
        bs=BS,
        ptiurn=ptiurn,
        birth=birth,
        custody=custody,
        offences="".join(OFFENCE.format(seq=i + 1) for i in range(offences)),
        org_offence=OFFENCE.format(seq=1),
    ).encode()


def deliver_request(payload: bytes) -> bytes:
    body = payload.split(b"?>", 1)[1]
    return (
        b'<DeliverRequest xmlns="http://schemas.cjse.gov.uk/messages/deliver/2006-05"'
        b' xmlns:msg="http://schemas.cjse.gov.uk/messages/messaging/2006-05">'
        b"<msg:MessageIdentifier>MSG-1</msg:MessageIdentifier>"
        b"<msg:RequestingSystem><msg:Name>CJSE</msg:Name></msg:RequestingSystem>"
        b"<Message>" + body + b"</Message></DeliverRequest>"
    )


def route_data(payload: bytes) -> bytes:
    return (
        '<RouteData xmlns="http://schemas.cjse.gov.uk/common/operations"'
        ' xmlns:e="http://schemas.cjse.gov.uk/common/businessentities">'
        "<RequestFromSystem><CorrelationID>CORR-9</CorrelationID>"
        "<SourceID>01PoliceCaseSystem</SourceID></RequestFromSystem>"
        f"<DataStream><e:DataStreamContent>{escape(payload.decode())}</e:DataStreamContent>"
        "</DataStream></RouteData>"
    ).encode()


# ------------------------------------------------------------------ detection


def test_detects_bare_new_case() -> None:
    found = detect(message())
    assert (found.format, found.root, found.namespace) == ("spi-new-case", "NewCaseMessage", LIBRA)
    assert found.envelope == {}


def test_unwraps_deliver_request_and_keeps_message_id() -> None:
    found = detect(deliver_request(message()))
    assert found.format == "spi-new-case"
    assert found.envelope["message_id"] == "MSG-1"
    assert found.payload.startswith(b"<NewCaseMessage")


def test_unwraps_route_data_and_keeps_correlation_id() -> None:
    found = detect(route_data(message()))
    assert found.format == "spi-new-case"
    assert found.envelope["correlation_id"] == "CORR-9"
    assert found.envelope["source_system"] == "01PoliceCaseSystem"


def test_detects_resulted_case_cp20_and_cms_json() -> None:
    resulted = f'<ResultedCaseMessage xmlns="{LIBRA}"/>'.encode()
    assert detect(resulted).format == "spi-resulted-case"
    assert detect(b'<CP20 xmlns="http://www.cgi.com/CP/CP20/2020-03"/>').format == "cp20"
    served = b' {"documentType": "DocumentsServed"}'
    assert detect(served).format == "cms-documents-served"
    assert detect(b'{"documentType": "ChargingDecision"}').format == "cms-charging-decision"


def test_json_without_a_known_document_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormat, match="documentType None"):
        detect(b' {"caseUrn": "01ZD0300124"}')


def test_unknown_root_names_root_namespace_and_accepted_formats() -> None:
    with pytest.raises(UnsupportedFormat) as info:
        detect(b'<Invoice xmlns="urn:shop"/>')
    text = str(info.value)
    assert "Invoice" in text
    assert "urn:shop" in text
    assert "spi-new-case" in text


def test_empty_deliver_request_is_an_envelope_error() -> None:
    raw = b'<DeliverRequest xmlns="http://schemas.cjse.gov.uk/messages/deliver/2006-05"/>'
    with pytest.raises(InvalidMessage) as info:
        detect(raw)
    assert info.value.issues[0].code == "ENVELOPE_INVALID"


def test_malformed_json_is_invalid() -> None:
    with pytest.raises(InvalidMessage) as info:
        detect(b'{"a": ')
    assert info.value.issues[0].code == "JSON_MALFORMED"


# ------------------------------------------------------------------ adapter


@pytest.mark.parametrize("wrap", [lambda b: b, deliver_request, route_data])
def test_parse_new_case_maps_case_and_counts(wrap) -> None:  # type: ignore[no-untyped-def]
    case = parse_new_case(wrap(message(offences=3)))
    assert case.case.ptiurn == "01ZD0300124"
    assert [len(d.offences) for d in case.defendants] == [3, 1]
    assert case.case.initial_hearing.time == dt.time(10, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_maps_person_details_and_decodes_bs7666() -> None:
    person = parse_new_case(message()).defendants[0]
    assert isinstance(person.party, cf.PersonDefendant)
    assert person.party.gender is Gender.FEMALE
    assert person.pnc_id == "20060012345B"
    assert person.party.address == Address(
        saon="2", paon="Rose Cottage", street="Lane End", locality="Hamlet"
    )
    assert person.party.driver
    assert person.party.driver.licence_issue == "3"
    assert person.party.documentation_language == "W"


def test_maps_officer_and_offence_details() -> None:
    case = parse_new_case(message())
    assert case.officer_in_case.address
    assert case.officer_in_case.address.paon == "12A-14 Police House"
    assert case.officer_in_case.contact.emails == ("alex.officer@police.example",)
    offence = case.defendants[0].offences[0]
    assert offence.date_code == 4
    assert offence.start_time == dt.time(21, 15, 0, 123456, tzinfo=dt.UTC)
    assert offence.alcohol == cf.Alcohol(level=54, method="A")
    assert offence.victims[0].name == PersonName(family_name="VICTIMSON")
    assert offence.statement_of_facts == "Seen on CCTV."


def test_flags_custody_ppo_and_youth() -> None:
    case = parse_new_case(message(birth="2007-05-01", custody="C"))
    flags = case.defendants[0].flags
    assert flags.custody_status is cf.CustodyStatus.CUSTODY
    assert flags.ppo is True
    assert flags.offender_code == "PO"
    assert flags.youth is True  # 16 on 2024-04-10
    assert case.flags.custody_status is cf.CustodyStatus.CUSTODY
    assert case.flags.youth is True
    assert case.defendants[1].flags.custody_status is cf.CustodyStatus.NOT_APPLICABLE


def test_adult_on_hearing_day_is_not_youth() -> None:
    case = parse_new_case(message(birth="2006-04-10", custody="U"))
    assert case.defendants[0].flags.youth is False
    assert case.flags.custody_status is cf.CustodyStatus.UNCONDITIONAL_BAIL


def test_unknown_custody_code_is_kept_as_unknown() -> None:
    flags = parse_new_case(message(custody="Q")).defendants[0].flags
    assert (flags.custody_status, flags.custody_status_code) == (cf.CustodyStatus.UNKNOWN, "Q")


def test_schema_errors_are_all_reported_with_paths_and_lines() -> None:
    raw = message(ptiurn="01ZD03001245678").replace(b"<Gender>2</Gender>", b"<Gender>5</Gender>")
    with pytest.raises(InvalidMessage) as info:
        parse_new_case(raw)
    issues = info.value.issues
    assert {i.code for i in issues} == {"SCHEMA_INVALID"}
    locations = {i.location for i in issues}
    assert "/NewCaseMessage/Case/PTIURN" in locations
    assert (
        "/NewCaseMessage/Case/Defendant[1]/PoliceIndividualDefendant/PersonDefendant"
        "/BasePersonDetails/Gender" in locations
    )
    assert all(i.line for i in issues)
    assert all("{http" not in i.message for i in issues)


def test_schema_error_message_keeps_pattern_quantifiers() -> None:
    raw = message().replace(b"20060012345B", b"2006/0012345B")
    with pytest.raises(InvalidMessage) as info:
        parse_new_case(raw)
    assert "{0,13}" in info.value.issues[0].message


def test_missing_required_element_is_reported() -> None:
    raw = message().replace(b"<CaseInitiation>C</CaseInitiation>", b"")
    with pytest.raises(InvalidMessage) as info:
        parse_new_case(raw)
    assert info.value.issues[0].location == "/NewCaseMessage/Case/CPSorganisation"


def test_schema_errors_inside_envelope_have_payload_paths() -> None:
    raw = deliver_request(message().replace(b"<OffenceDateCode>4<", b"<OffenceDateCode>7<"))
    with pytest.raises(InvalidMessage) as info:
        parse_new_case(raw)
    assert info.value.issues[0].location.startswith("/NewCaseMessage/Case/Defendant[1]/Offence[1]")


def test_year_python_cannot_hold_is_an_issue_not_a_crash() -> None:
    raw = message().replace(b"<ChargeDate>2024-03-03<", b"<ChargeDate>10000-03-03<", 1)
    with pytest.raises(InvalidMessage) as info:
        parse_new_case(raw)
    assert info.value.issues[0].code == "VALUE_UNSUPPORTED"
    assert info.value.issues[0].location.endswith("ChargeDate")


def test_schema_valid_but_empty_urn_fails_canonical_rules() -> None:
    # The SPI schema admits an empty PTIURN (maxLength only); a case needs one to be keyed.
    with pytest.raises(InvalidMessage) as info:
        parse_new_case(message(ptiurn=""))
    issue = info.value.issues[0]
    assert (issue.code, issue.location) == ("CANONICAL_INVALID", "CaseInfo/ptiurn")


def test_other_format_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormat):
        parse_new_case(f'<ResultedCaseMessage xmlns="{LIBRA}"/>'.encode())


# ------------------------------------------------------------------ validation registry


def test_validate_document_reports_format_and_issues() -> None:
    assert validate_document(message()).valid is True
    result = validate_document(message(ptiurn="TOO-LONG-URN-1"))
    assert (result.format, result.valid) == ("spi-new-case", False)
    assert result.issues[0].location == "/NewCaseMessage/Case/PTIURN"
    assert validate_document(b"<a>").issues[0].code == "XML_MALFORMED"


def test_to_canonical_returns_message_type_and_case_file() -> None:
    inbound, payload = to_canonical(route_data(message()))
    assert inbound.message_type is MessageType.CASE_FILE
    assert isinstance(payload, cf.CaseFile)
    assert "spi-new-case" in Registry.discover().formats()


def test_recognised_but_unregistered_format_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormat, match="not accepted"):
        to_canonical(b'<CP20 xmlns="http://www.cgi.com/CP/CP20/2020-03"/>', Registry([]))


# ------------------------------------------------------------------ canonical model


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


def test_every_field_has_a_sensitivity_marking() -> None:
    unmarked = [
        f"{model.__name__}.{name}"
        for model in _models(cf.CaseFile, set())
        for name, info in model.model_fields.items()
        if not isinstance(info.json_schema_extra, dict) or SENSITIVITY not in info.json_schema_extra
    ]
    assert unmarked == []


def test_ethnicity_is_special_category_and_contacts_personal() -> None:
    schema = cf.CaseFile.model_json_schema()["$defs"]
    assert schema["Ethnicity"]["properties"]["observed_code"][SENSITIVITY] == "special-category"
    assert schema["ContactDetails"]["properties"]["emails"][SENSITIVITY] == "personal"


def test_case_file_is_frozen_and_forbids_extra() -> None:
    case = parse_new_case(message())
    with pytest.raises(ValueError, match="frozen"):
        case.case.__setattr__("ptiurn", "X")
    with pytest.raises(ValueError, match="Extra inputs"):
        cf.CaseInfo.model_validate({**case.case.model_dump(), "surprise": 1})


def test_age_on_handles_birthday_edges() -> None:
    assert cf.age_on(dt.date(2006, 4, 10), dt.date(2024, 4, 9)) == 17
    assert cf.age_on(dt.date(2006, 4, 10), dt.date(2024, 4, 10)) == 18
    assert cf.age_on(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_opt = st.none() | _text
_times = st.times(
    timezones=st.none() | st.just(dt.UTC) | st.just(dt.timezone(dt.timedelta(hours=1)))
)
_names = st.builds(
    PersonName, title=_opt, given_names=st.lists(_text, max_size=3).map(tuple), family_name=_opt
)
_addresses = st.builds(
    Address, paon=_opt, street=_opt, postcode=_opt, uprn=st.none() | st.integers(1, 10**12)
)
_offences = st.builds(
    cf.Offence,
    sequence=st.integers(0, 999),
    code=_text,
    wording=_text,
    date_code=st.integers(1, 6),
    start_date=st.dates(),
    start_time=st.none() | _times,
    alcohol=st.none() | st.builds(cf.Alcohol, level=st.integers(0, 999), method=_text),
    victims=st.lists(
        st.builds(cf.Victim, name=st.none() | _names, address=_addresses), max_size=2
    ).map(tuple),
)
_flags = st.builds(
    cf.CaseFlags,
    custody_status=st.none() | st.sampled_from(cf.CustodyStatus),
    ppo=st.booleans(),
    youth=st.none() | st.booleans(),
    dip_drug_test_positive=st.none() | st.booleans(),
)
_people = st.builds(
    cf.PersonDefendant,
    name=_names,
    aliases=st.lists(_names, max_size=2).map(tuple),
    birth_date=st.none() | st.dates(),
    gender=st.sampled_from(Gender),
    address=_addresses,
    documentation_language=st.sampled_from(["E", "W"]),
    hearing_language=st.sampled_from(["E", "W"]),
    driver=st.none() | st.builds(cf.DriverInfo, driver_number=_opt),
)
_organisations = st.builds(cf.OrganisationDefendant, name=_text, address=_addresses)
_defendants = st.builds(
    cf.Defendant,
    prosecutor_reference=_text,
    party=_people | _organisations,
    flags=_flags,
    offences=st.lists(_offences, min_size=1, max_size=3).map(tuple),
)
_case_files = st.builds(
    cf.CaseFile,
    case=st.builds(
        cf.CaseInfo,
        ptiurn=st.text(min_size=1, max_size=16),
        originating_organisation=_text,
        initiation_code=_text,
        initial_hearing=st.builds(
            Hearing,
            court_ou=_text,
            date=st.dates(),
            time=st.none() | _times,
        ),
    ),
    officer_in_case=st.builds(
        cf.OfficerInCase, name=_names, rank=_text, worker_reference=_text, location_ou=_text
    ),
    defendants=st.lists(_defendants, min_size=1, max_size=3).map(tuple),
    flags=_flags,
)


@settings(max_examples=60, deadline=None)
@given(_case_files)
def test_case_file_round_trips_through_json(case: cf.CaseFile) -> None:
    assert cf.CaseFile.model_validate_json(case.model_dump_json()) == case
