"""The canonical ``CaseFile``: a new case sent by the police for court, copied to the CPS.

Agency formats never appear here; the police SPI NewCaseMessage is one source of it
(``transforms/spi_new_case.py``). Field-by-field provenance and what is dropped is in
``docs/formats/flow1-new-case.md``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from exchange.domain.common import (
    Address,
    CanonicalModel,
    ContactDetails,
    Ethnicity,
    Gender,
    Hearing,
    PersonName,
    operational,
    personal,
    special_category,
)

__all__ = [
    "CASE_FILE_SCHEMA_VERSION",
    "Alcohol",
    "CaseFile",
    "CaseFlags",
    "CaseInfo",
    "CustodyStatus",
    "Defendant",
    "DriverInfo",
    "Offence",
    "OfficerInCase",
    "OrganisationDefendant",
    "ParentGuardian",
    "PersonDefendant",
    "Victim",
    "age_on",
    "derive_case_flags",
]

CASE_FILE_SCHEMA_VERSION = "1.0"
YOUTH_AGE = 18


class CustodyStatus(StrEnum):
    """Where the defendant will be for the first hearing."""

    CUSTODY = "custody"
    CONDITIONAL_BAIL = "conditional-bail"
    UNCONDITIONAL_BAIL = "unconditional-bail"
    REMANDED_LOCAL_AUTHORITY = "remanded-local-authority"
    NOT_APPLICABLE = "not-applicable"
    UNKNOWN = "unknown"


class CaseInfo(CanonicalModel):
    ptiurn: str = operational(min_length=1, max_length=16, description="Case URN (PTIURN)")
    originating_organisation: str = operational(description="OU code of the prosecuting force")
    initiation_code: str = operational(description="C charge, S summons, as the police send it")
    summons_code: str | None = operational(None)
    informant: str | None = operational(None, description="Name of the informant, as sent")
    cps_organisation: str | None = operational(None, description="OU code of the CPS office")
    case_marker: str | None = operational(None, description="e.g. a street-crime marker")
    vehicle_operator_licence: str | None = operational(None)
    initial_hearing: Hearing = operational()


class OfficerInCase(CanonicalModel):
    name: PersonName = personal()
    rank: str = operational()
    worker_reference: str = operational(description="Police worker (collar) number")
    location_ou: str = operational(description="OU code of the officer's station")
    address: Address | None = personal(None)
    contact: ContactDetails = personal(ContactDetails())


class DriverInfo(CanonicalModel):
    driver_number: str | None = personal(None)
    licence_code: str | None = personal(None, description="F full, P provisional")
    licence_issue: str | None = personal(None)
    counterpart_issue: str | None = personal(None)


class ParentGuardian(CanonicalModel):
    name: PersonName = personal()
    birth_date: dt.date | None = personal(None)
    gender: Gender = personal()
    address: Address | None = personal(None)
    contact: ContactDetails = personal(ContactDetails())
    ethnicity: Ethnicity | None = special_category(None)


class PersonDefendant(CanonicalModel):
    kind: Literal["person"] = operational("person")
    name: PersonName = personal()
    aliases: tuple[PersonName, ...] = personal(())
    birth_date: dt.date | None = personal(None)
    perceived_birth_year: int | None = personal(None)
    gender: Gender = personal()
    address: Address = personal()
    contact: ContactDetails = personal(ContactDetails())
    nationality: str | None = personal(None)
    ethnicity: Ethnicity | None = special_category(None)
    occupation: str | None = personal(None)
    occupation_code: int | None = personal(None)
    documentation_language: str = operational(description="E English, W Welsh")
    hearing_language: str = operational(description="E English, W Welsh")
    language_needs: str | None = personal(None)
    special_needs: str | None = special_category(None, description="May reveal health")
    driver: DriverInfo | None = personal(None)
    bail_conditions: str | None = operational(None)
    parent_guardian: ParentGuardian | None = personal(None)


class OrganisationDefendant(CanonicalModel):
    kind: Literal["organisation"] = operational("organisation")
    name: str = operational()
    aliases: tuple[str, ...] = operational(())
    address: Address = operational()
    contact: ContactDetails = operational(ContactDetails())


class Victim(CanonicalModel):
    name: PersonName | None = personal(None)
    address: Address = personal()
    contact: ContactDetails = personal(ContactDetails())
    birth_date: dt.date | None = personal(None)
    gender: Gender | None = personal(None)
    ethnicity: Ethnicity | None = special_category(None)


class Alcohol(CanonicalModel):
    level: int = operational(ge=0, le=999)
    method: str = operational(description="How the level was measured (breath, blood, urine)")


class Offence(CanonicalModel):
    sequence: int = operational(ge=0, le=999)
    code: str = operational(description="CJS offence code, e.g. TH68001")
    wording: str = operational()
    statement_of_facts: str | None = operational(None)
    date_code: int = operational(ge=1, le=6, description="1 on, 2 before, 3 after, 4 between, ...")
    start_date: dt.date = operational()
    start_time: dt.time | None = operational(None)
    end_date: dt.date | None = operational(None)
    end_time: dt.time | None = operational(None)
    location: str | None = operational(None)
    arrest_date: dt.date | None = operational(None)
    charge_date: dt.date | None = operational(None)
    alcohol: Alcohol | None = operational(None)
    vehicle_code: str | None = operational(None, description="LGV/PCV marker")
    vehicle_registration: str | None = personal(None)
    victims: tuple[Victim, ...] = personal(())


class CaseFlags(CanonicalModel):
    """Flags the agencies act on. ``None`` means the source did not say."""

    custody_status: CustodyStatus | None = operational(None)
    custody_status_code: str | None = operational(None, description="Code as sent, e.g. C")
    ppo: bool = operational(False, description="Prolific and Priority Offender")
    offender_code: str | None = operational(None, description="Code as sent, e.g. PO")
    youth: bool | None = operational(None, description="Under 18 on the first hearing date")
    dip_drug_test_positive: bool | None = special_category(
        None, description="Drug Interventions Programme test result"
    )
    vulnerable_or_intimidated_witness: bool | None = operational(None)


class Defendant(CanonicalModel):
    prosecutor_reference: str = operational(description="For the police, the ASN")
    pnc_id: str | None = personal(None)
    cro_number: str | None = personal(None)
    party: PersonDefendant | OrganisationDefendant = operational(discriminator="kind")
    flags: CaseFlags = operational(CaseFlags())
    offences: tuple[Offence, ...] = operational(min_length=1)


class CaseFile(CanonicalModel):
    """One police case for the first hearing: the case, its officer, defendants and charges."""

    case: CaseInfo = operational()
    officer_in_case: OfficerInCase = operational()
    defendants: tuple[Defendant, ...] = operational(min_length=1)
    flags: CaseFlags = operational(CaseFlags(), description="Roll-up over the defendants")


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on ``day`` (a 29 February birthday counts from 1 March)."""
    before_birthday = (day.month, day.day) < (birth.month, birth.day)
    return day.year - birth.year - int(before_birthday)


def derive_case_flags(defendants: tuple[Defendant, ...]) -> CaseFlags:
    """Roll defendant flags up to the case: the most restrictive status and any-of flags."""
    order = list(CustodyStatus)
    statuses = [d.flags.custody_status for d in defendants if d.flags.custody_status]
    youths = [d.flags.youth for d in defendants if d.flags.youth is not None]
    dips = [d.flags.dip_drug_test_positive for d in defendants]
    witnesses = [d.flags.vulnerable_or_intimidated_witness for d in defendants]
    return CaseFlags(
        custody_status=min(statuses, key=order.index) if statuses else None,
        ppo=any(d.flags.ppo for d in defendants),
        youth=any(youths) if youths else None,
        dip_drug_test_positive=_any_known(dips),
        vulnerable_or_intimidated_witness=_any_known(witnesses),
    )


def _any_known(values: list[bool | None]) -> bool | None:
    known = [v for v in values if v is not None]
    return any(known) if known else None
