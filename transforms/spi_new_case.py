"""Libra SPI ``NewCaseMessage`` (police to court) → canonical ``CaseFile``.

Takes an element already validated against ``schemas/xsd/police/spi-new-case-v1.xsd``, so
structure and lexical forms are trusted; this module only maps and normalises (trims text,
decodes BS7666 addressable-object names, decodes codes, derives case flags). Values the
schema admits but Python cannot hold (year 0, year 10000) become issues, never crashes.
Mapping table and dropped fields: docs/formats/flow1-new-case.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, TypeVar

from lxml import etree

from exchange.domain import casefile as cf
from exchange.domain.common import Hearing
from transforms.guard import guarded
from transforms.spi_new_case_values import (
    L,
    address_of,
    base_offence_fields,
    child_of,
    contact_of,
    date_of,
    ethnicity_of,
    gender_of,
    int_of,
    name_of,
    required_text,
    text_of,
    time_of,
    year_of,
)

__all__ = ["to_case_file"]

# Libra bail/custody status codes; anything else is kept as sent and marked unknown.
_CUSTODY: Final = {
    "C": cf.CustodyStatus.CUSTODY,
    "B": cf.CustodyStatus.CONDITIONAL_BAIL,
    "U": cf.CustodyStatus.UNCONDITIONAL_BAIL,
    "L": cf.CustodyStatus.REMANDED_LOCAL_AUTHORITY,
    "A": cf.CustodyStatus.NOT_APPLICABLE,
}
T = TypeVar("T")


# ---------------------------------------------------------------- parts


def _hearing(element: etree._Element) -> Hearing:
    return Hearing(
        court_ou=required_text(element, "CourtHearingLocation"),
        date=date_of(child_of(element, "DateOfHearing")),
        time=time_of(child_of(element, "TimeOfHearing")),
    )


def _case(case: etree._Element) -> cf.CaseInfo:
    return cf.CaseInfo(
        ptiurn=required_text(case, "PTIURN"),
        originating_organisation=required_text(case, "OriginatingOrganisation"),
        initiation_code=text_of(case, "CaseInitiation") or required_text(case, "InitiationCode"),
        summons_code=text_of(case, "SummonsCode"),
        informant=text_of(case, "Informant"),
        cps_organisation=text_of(case, "CPSorganisation"),
        case_marker=text_of(case, "CaseMarker"),
        vehicle_operator_licence=text_of(case, "VehicleOperatorLicenceNumber"),
        initial_hearing=_hearing(case.find(L + "InitialHearing")),
    )


def _officer(element: etree._Element) -> cf.OfficerInCase:
    return cf.OfficerInCase(
        name=name_of(child_of(element, "OfficerName")),
        rank=required_text(element, "PoliceOfficerRank"),
        worker_reference=required_text(element, "PoliceWorkerReferenceNumber"),
        location_ou=required_text(element, "PoliceWorkerLocationCode"),
        address=address_of(child_of(element, "StructuredAddress")),
        contact=contact_of(element, phones=child_of(element, "TelephoneDetails")),
    )


def _victim(element: etree._Element) -> cf.Victim:
    return cf.Victim(
        name=name_of(child_of(element, "PersonDetails")),
        address=address_of(child_of(element, "Address")),
        contact=contact_of(element, phones=child_of(element, "TelephoneDetails")),
        birth_date=date_of(child_of(element, "Birthdate")),
        gender=gender_of(element),
        ethnicity=ethnicity_of(child_of(element, "PersonEthnicity")),
    )


def _offence(element: etree._Element) -> cf.Offence:
    return cf.Offence(
        **base_offence_fields(element.find(L + "BaseOffenceDetails")),
        statement_of_facts=text_of(element, "ProsecutionFacts"),
        victims=tuple(_victim(v) for v in element.iterfind(L + "OtherPartyVictim")),
    )


def _person(element: etree._Element, hearing_date: dt.date) -> cf.Defendant:
    defendant = element.find(L + "PersonDefendant")
    details = defendant.find(L + "BasePersonDetails")
    driver, guardian = (
        child_of(element, "DriverInformation"),
        child_of(element, "ParentGuardianDetails"),
    )
    languages = element.find(L + "LanguageOptions")
    birth = date_of(child_of(details, "Birthdate"))
    custody_code, offender_code = (
        text_of(element, "CustodyStatus"),
        text_of(element, "OffenderCode"),
    )
    party = cf.PersonDefendant(
        name=name_of(details.find(L + "PersonName")),
        aliases=tuple(name_of(a) for a in element.iterfind(L + "Alias")),
        birth_date=birth,
        perceived_birth_year=year_of(child_of(element, "PerceivedBirthYear")),
        gender=gender_of(details),
        address=address_of(element.find(L + "Address")),
        contact=contact_of(details, phones=child_of(details, "TelephoneDetails")),
        nationality=text_of(defendant, "PersonStatedNationality"),
        ethnicity=ethnicity_of(child_of(element, "PersonEthnicity")),
        occupation=text_of(element, "Occupation"),
        occupation_code=int_of(element, "OccupationCode"),
        documentation_language=required_text(languages, "DocumentationLanguage"),
        hearing_language=required_text(languages, "HearingLanguage"),
        language_needs=text_of(element, "LanguageNeeds"),
        special_needs=text_of(element, "SpecialNeeds"),
        driver=None
        if driver is None and text_of(element, "CounterpartIssue") is None
        else cf.DriverInfo(
            driver_number=text_of(driver, "DriverNumber"),
            licence_code=text_of(driver, "DriverLicenceCode"),
            licence_issue=text_of(driver, "DriverLicenceIssue"),
            counterpart_issue=text_of(element, "CounterpartIssue"),
        ),
        bail_conditions=text_of(defendant, "BailConditions"),
        parent_guardian=None if guardian is None else _guardian(guardian),
    )
    flags = cf.CaseFlags(
        custody_status=None
        if custody_code is None
        else _CUSTODY.get(custody_code.upper(), cf.CustodyStatus.UNKNOWN),
        custody_status_code=custody_code,
        ppo=offender_code is not None,
        offender_code=offender_code,
        youth=None if birth is None else cf.age_on(birth, hearing_date) < cf.YOUTH_AGE,
    )
    return _defendant(element, party, flags, pnc=text_of(defendant, "PNCidentifier"))


def _guardian(element: etree._Element) -> cf.ParentGuardian:
    details = element.find(L + "BasePersonDetails")
    return cf.ParentGuardian(
        name=name_of(details.find(L + "PersonName")),
        birth_date=date_of(child_of(details, "Birthdate")),
        gender=gender_of(details),
        address=address_of(child_of(element, "Address")),
        contact=contact_of(details, phones=child_of(details, "TelephoneDetails")),
        ethnicity=ethnicity_of(child_of(element, "PersonEthnicity")),
    )


def _organisation(element: etree._Element) -> cf.Defendant:
    party = cf.OrganisationDefendant(
        name=required_text(element.find(L + "OrganisationName"), "OrganisationName"),
        aliases=tuple((a.text or "").strip() for a in element.iterfind(L + "Alias")),
        address=address_of(element.find(L + "Address")),
        contact=contact_of(element, business=text_of(element, "TelephoneNumberBusiness")),
    )
    flags = cf.CaseFlags(custody_status=cf.CustodyStatus.NOT_APPLICABLE, youth=False)
    return _defendant(element, party, flags, pnc=text_of(element, "PNCidentifier"))


def _defendant(
    party_element: etree._Element,
    party: cf.PersonDefendant | cf.OrganisationDefendant,
    flags: cf.CaseFlags,
    *,
    pnc: str | None,
) -> cf.Defendant:
    element = party_element.getparent()
    return cf.Defendant(
        prosecutor_reference=required_text(element, "ProsecutorReference"),
        pnc_id=pnc,
        cro_number=text_of(party_element, "CROnumber"),
        party=party,
        flags=flags,
        offences=tuple(_offence(o) for o in element.iterfind(L + "Offence")),
    )


# ---------------------------------------------------------------- entry point


def to_case_file(element: etree._Element) -> cf.CaseFile:
    """Map a schema-valid ``NewCaseMessage`` element to a ``CaseFile``."""

    def build() -> cf.CaseFile:
        case = element.find(L + "Case")
        info = _case(case)
        hearing_date = info.initial_hearing.date
        defendants: list[cf.Defendant] = []
        for d in case.iterfind(L + "Defendant"):
            person = d.find(L + "PoliceIndividualDefendant")
            if person is not None:
                defendants.append(_person(person, hearing_date))
            else:
                defendants.append(_organisation(d.find(L + "PoliceCorporateDefendant")))
        found = tuple(defendants)
        return cf.CaseFile(
            case=info,
            officer_in_case=_officer(case.find(L + "OtherPartyOfficerInCase")),
            defendants=found,
            flags=cf.derive_case_flags(found),
        )

    return guarded(build, element, source="NewCaseMessage", target="CaseFile")
