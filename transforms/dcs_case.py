"""Canonical ``CaseFile`` → the court's case record (DCS-style), for the first hearing.

Data minimisation: the court gets what it needs to list, hear and result the case, built from
an allowlist so a new canonical field is withheld until someone decides otherwise. Withheld
here: police officer contact details (phone, fax, email, DX, address), ethnicity of anyone,
occupation, driver licence details other than the driver number (needed to endorse),
CRO number, the PPO marker, victims' personal details, and contact details of a parent or
guardian beyond name and address. The table with reasons is in docs/formats/flow1-new-case.md.
"""

from __future__ import annotations

from typing import Any

from exchange.domain import casefile as cf
from exchange.domain.common import Address, ContactDetails, PersonName
from exchange.domain.envelope import Envelope

__all__ = ["COURT_RECORD_SCHEMA", "case_file_to_court_record"]

COURT_RECORD_SCHEMA = "cjs-exchange/court-case-record/1.0"


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
    return {"lines": list(address.lines), "postcode": address.postcode}


def _contact(contact: ContactDetails) -> dict[str, Any]:
    # The court serves notices on the defendant; fax and DX are police/solicitor channels.
    return {
        "phone": contact.phone_mobile or contact.phone_home or contact.phone_business,
        "emails": list(contact.emails),
    }


def _flags(flags: cf.CaseFlags) -> dict[str, Any]:
    # PPO is a police case-management marker and is prejudicial before verdict: withheld.
    return {
        "custodyStatus": flags.custody_status.value if flags.custody_status else None,
        "youth": flags.youth,
        "dipDrugTestPositive": flags.dip_drug_test_positive,
        "vulnerableOrIntimidatedWitness": flags.vulnerable_or_intimidated_witness,
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
        "chargeDate": _iso(offence.charge_date),
        "alcoholLevel": None
        if offence.alcohol is None
        else {"level": offence.alcohol.level, "method": offence.alcohol.method},
        "vehicleRegistration": offence.vehicle_registration,
        "vehicleCode": offence.vehicle_code,
        # Victims' details stay with the police and CPS; the court record (seen by the
        # defence) only says how many there are.
        "victimCount": len(offence.victims),
    }


def _party(party: cf.PersonDefendant | cf.OrganisationDefendant) -> dict[str, Any]:
    if isinstance(party, cf.OrganisationDefendant):
        return {
            "type": "organisation",
            "organisationName": party.name,
            "aliases": list(party.aliases),
            "address": _address(party.address),
        }
    guardian = party.parent_guardian
    return {
        "type": "person",
        "name": _name(party.name),
        "aliases": [_name(a) for a in party.aliases],
        "dateOfBirth": _iso(party.birth_date),
        "gender": party.gender.value,
        "address": _address(party.address),
        "contact": _contact(party.contact),
        "nationality": party.nationality,
        # Interpreter and Welsh-language duties and reasonable adjustments fall on the court.
        "documentationLanguage": party.documentation_language,
        "hearingLanguage": party.hearing_language,
        "languageNeeds": party.language_needs,
        "specialNeeds": party.special_needs,
        "driverNumber": party.driver.driver_number if party.driver else None,
        "bailConditions": party.bail_conditions,
        # A youth's parent or guardian may be required to attend: name and address only.
        "parentGuardian": None
        if guardian is None
        else {"name": _name(guardian.name), "address": _address(guardian.address)},
    }


def _defendant(defendant: cf.Defendant) -> dict[str, Any]:
    return {
        "asn": defendant.prosecutor_reference,
        "pncId": defendant.pnc_id,
        **_party(defendant.party),
        "flags": _flags(defendant.flags),
        "charges": [_charge(o) for o in defendant.offences],
    }


def case_file_to_court_record(case: cf.CaseFile, envelope: Envelope) -> dict[str, Any]:
    """The court's case record for a new case, minimised for the court."""
    info, officer = case.case, case.officer_in_case
    return {
        "schema": COURT_RECORD_SCHEMA,
        "messageId": str(envelope.message_id),
        "caseUrn": info.ptiurn,
        "prosecutor": {
            "organisation": info.originating_organisation,
            "cpsOrganisation": info.cps_organisation,
            "informant": info.informant,
        },
        "initiation": {"code": info.initiation_code, "summonsCode": info.summons_code},
        "hearing": {
            "courtCode": info.initial_hearing.court_ou,
            "date": _iso(info.initial_hearing.date),
            "time": _iso(info.initial_hearing.time),
        },
        "flags": _flags(case.flags),
        # The court identifies the officer (e.g. for witness warning) but contacts the
        # police through the prosecutor: no phone, email, fax, DX or address.
        "officerInCase": {
            "name": _name(officer.name),
            "rank": officer.rank,
            "workerReference": officer.worker_reference,
            "stationCode": officer.location_ou,
        },
        "defendants": [_defendant(d) for d in case.defendants],
    }
