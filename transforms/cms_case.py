"""Canonical ``CaseFile`` → the JSON the CPS case management system (CMS) pulls.

Our own shape, camelCase. The CPS prosecutes the case, so it gets nearly the whole file;
what it does not get, and why, is in docs/formats/flow1-new-case.md (destination × field).
``messageId`` is the hub's message id, stable across retries, so CMS can de-duplicate.
"""

from __future__ import annotations

from typing import Any

from exchange.domain import casefile as cf
from exchange.domain.common import Address, ContactDetails, Ethnicity, Hearing, PersonName
from exchange.domain.envelope import Envelope

__all__ = ["CMS_CASE_SCHEMA", "case_file_to_cms"]

CMS_CASE_SCHEMA = "cjs-exchange/cms-case/1.0"


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _name(name: PersonName | None) -> dict[str, Any] | None:
    if name is None:
        return None
    return {
        "title": name.title,
        "givenNames": list(name.given_names),
        "familyName": name.family_name,
    }


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {"lines": list(address.lines), "postcode": address.postcode, "uprn": address.uprn}


def _contact(contact: ContactDetails) -> dict[str, Any]:
    return {
        "phoneBusiness": contact.phone_business,
        "phoneHome": contact.phone_home,
        "phoneMobile": contact.phone_mobile,
        "fax": contact.fax,
        "emails": list(contact.emails),
        "dxAddress": contact.dx_address,
    }


def _ethnicity(ethnicity: Ethnicity | None) -> dict[str, Any] | None:
    # Kept for the CPS's equality and hate-crime monitoring of defendants.
    if ethnicity is None:
        return None
    return {"observed": ethnicity.observed_code, "selfDefined": ethnicity.self_defined_code}


def _hearing(hearing: Hearing) -> dict[str, Any]:
    return {"courtCode": hearing.court_ou, "date": _iso(hearing.date), "time": _iso(hearing.time)}


def _flags(flags: cf.CaseFlags) -> dict[str, Any]:
    return {
        "custodyStatus": flags.custody_status.value if flags.custody_status else None,
        "prolificPriorityOffender": flags.ppo,
        "youth": flags.youth,
        "dipDrugTestPositive": flags.dip_drug_test_positive,
        "vulnerableOrIntimidatedWitness": flags.vulnerable_or_intimidated_witness,
    }


def _victim(victim: cf.Victim) -> dict[str, Any]:
    # The CPS owes victims duties under the Victims' Code, so it needs to reach them;
    # their ethnicity and gender serve no prosecution purpose and are withheld.
    return {
        "name": _name(victim.name),
        "address": _address(victim.address),
        "contact": _contact(victim.contact),
        "dateOfBirth": _iso(victim.birth_date),
    }


def _charge(offence: cf.Offence) -> dict[str, Any]:
    return {
        "sequence": offence.sequence,
        "offenceCode": offence.code,
        "wording": offence.wording,
        "statementOfFacts": offence.statement_of_facts,
        "dateCode": offence.date_code,
        "startDate": _iso(offence.start_date),
        "startTime": _iso(offence.start_time),
        "endDate": _iso(offence.end_date),
        "endTime": _iso(offence.end_time),
        "location": offence.location,
        "arrestDate": _iso(offence.arrest_date),
        "chargeDate": _iso(offence.charge_date),
        "alcohol": None
        if offence.alcohol is None
        else {"level": offence.alcohol.level, "method": offence.alcohol.method},
        "vehicleCode": offence.vehicle_code,
        "vehicleRegistration": offence.vehicle_registration,
        "victims": [_victim(v) for v in offence.victims],
    }


def _party(party: cf.PersonDefendant | cf.OrganisationDefendant) -> dict[str, Any]:
    if isinstance(party, cf.OrganisationDefendant):
        return {
            "type": "organisation",
            "organisationName": party.name,
            "aliases": list(party.aliases),
            "address": _address(party.address),
            "contact": _contact(party.contact),
        }
    guardian = party.parent_guardian
    return {
        "type": "person",
        "name": _name(party.name),
        "aliases": [_name(a) for a in party.aliases],
        "dateOfBirth": _iso(party.birth_date),
        "perceivedBirthYear": party.perceived_birth_year,
        "gender": party.gender.value,
        "address": _address(party.address),
        "contact": _contact(party.contact),
        "nationality": party.nationality,
        "ethnicity": _ethnicity(party.ethnicity),
        "occupation": party.occupation,
        "documentationLanguage": party.documentation_language,
        "hearingLanguage": party.hearing_language,
        "languageNeeds": party.language_needs,
        "specialNeeds": party.special_needs,
        "driverNumber": party.driver.driver_number if party.driver else None,
        "bailConditions": party.bail_conditions,
        "parentGuardian": None
        if guardian is None
        else {
            "name": _name(guardian.name),
            "address": _address(guardian.address),
            "contact": _contact(guardian.contact),
        },
    }


def _defendant(defendant: cf.Defendant) -> dict[str, Any]:
    return {
        "asn": defendant.prosecutor_reference,
        "pncId": defendant.pnc_id,
        "croNumber": defendant.cro_number,
        **_party(defendant.party),
        "flags": _flags(defendant.flags),
        "charges": [_charge(o) for o in defendant.offences],
    }


def case_file_to_cms(case: cf.CaseFile, envelope: Envelope) -> dict[str, Any]:
    """The CMS JSON for a new case, ready for ``orjson.dumps``."""
    info, officer = case.case, case.officer_in_case
    return {
        "schema": CMS_CASE_SCHEMA,
        "messageId": str(envelope.message_id),
        "correlationId": str(envelope.correlation_id),
        "occurredAt": envelope.occurred_at.isoformat(),
        "caseUrn": info.ptiurn,
        "prosecutingOrganisation": info.originating_organisation,
        "cpsOrganisation": info.cps_organisation,
        "initiation": {"code": info.initiation_code, "summonsCode": info.summons_code},
        "informant": info.informant,
        "caseMarker": info.case_marker,
        "vehicleOperatorLicence": info.vehicle_operator_licence,
        "hearing": _hearing(info.initial_hearing),
        "flags": _flags(case.flags),
        # The reviewing lawyer needs to reach the officer in the case.
        "officerInCase": {
            "name": _name(officer.name),
            "rank": officer.rank,
            "workerReference": officer.worker_reference,
            "stationCode": officer.location_ou,
            "contact": _contact(officer.contact),
        },
        "defendants": [_defendant(d) for d in case.defendants],
    }
