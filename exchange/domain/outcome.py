"""The canonical ``HearingOutcome``: what a court decided at one hearing of one case (flow 5).

The court results every offence of every defendant; the hub adds the case's **finalisation**
(outcome, successful or not, Principal Offence Category), derived by ``derive_finalisation``
from the results and an offence classifier backed by standing data. Agency formats never
appear here; the Libra SPI ResultedCaseMessage is one source (``transforms/spi_resulted_case``).
Mapping table and dropped fields: ``docs/formats/flow5-hearing-outcome.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from exchange.domain.casefile import Alcohol, CustodyStatus
from exchange.domain.common import (
    Address,
    CanonicalModel,
    ContactDetails,
    Gender,
    Hearing,
    PersonName,
    operational,
    personal,
)

__all__ = [
    "HEARING_OUTCOME_SCHEMA_VERSION",
    "CourtResult",
    "CourtType",
    "DefendantOutcome",
    "Duration",
    "DurationPeriod",
    "Finalisation",
    "FinalisationOutcome",
    "HearingOutcome",
    "NextHearing",
    "OffenceClass",
    "OffenceOutcome",
    "OrganisationParty",
    "PersonParty",
    "Presence",
    "PrincipalOffence",
    "PrincipalOffenceCategory",
    "RelatedPerson",
    "derive_finalisation",
]

HEARING_OUTCOME_SCHEMA_VERSION = "1.0"


class CourtType(StrEnum):
    """The kind of court, from the top level of its OU code (B magistrates', C Crown)."""

    MAGISTRATES = "magistrates"
    CROWN = "crown"
    OTHER = "other"


class Presence(StrEnum):
    """Whether the defendant was at the hearing (SPI codes Y, N, A)."""

    PRESENT = "present"
    ABSENT = "absent"
    REPRESENTED = "represented"  # not there, but appeared through a barrister or solicitor
    UNKNOWN = "unknown"


class PrincipalOffenceCategory(StrEnum):
    """The 12 Principal Offence Categories the CPS reports finalisations under."""

    HOMICIDE = "homicide"
    OFFENCES_AGAINST_THE_PERSON = "offences against the person"
    SEXUAL_OFFENCES = "sexual offences"
    BURGLARY = "burglary"
    ROBBERY = "robbery"
    THEFT_AND_HANDLING = "theft and handling"
    FRAUD_AND_FORGERY = "fraud and forgery"
    CRIMINAL_DAMAGE = "criminal damage"
    DRUGS_OFFENCES = "drugs offences"
    PUBLIC_ORDER_OFFENCES = "public order offences"
    ALL_OTHER_OFFENCES = "all other offences (excluding motoring)"
    MOTORING_OFFENCES = "motoring offences"


class FinalisationOutcome(StrEnum):
    """How the case stands after the hearing, in CPS finalisation terms."""

    GUILTY_PLEA = "guilty-plea"
    CONVICTION_AFTER_TRIAL = "conviction-after-trial"
    PROOF_IN_ABSENCE = "proof-in-absence"
    WITHDRAWN_DISCONTINUED = "withdrawn-discontinued"
    DISMISSED = "dismissed"  # acquitted after trial, no case to answer, no evidence offered
    OTHER_UNSUCCESSFUL = "other-unsuccessful"  # finally disposed of without a conviction
    WARRANT_OUTSTANDING = "warrant-outstanding"  # administratively finalised
    SENT_TO_CROWN_COURT = "sent-to-crown-court"  # not final here: the Crown Court continues
    ADJOURNED = "adjourned"  # not final


class RelatedPerson(CanonicalModel):
    """A parent or guardian named in the results."""

    name: PersonName = personal()
    birth_date: dt.date | None = personal(None)
    gender: Gender = personal()
    address: Address | None = personal(None, description="Structured (BS7666) address")
    address_lines: tuple[str, ...] = personal((), description="Unstructured address lines")
    contact: ContactDetails = personal(ContactDetails())


class PersonParty(CanonicalModel):
    kind: Literal["person"] = operational("person")
    name: PersonName = personal()
    birth_date: dt.date | None = personal(None)
    gender: Gender = personal()
    nationality: str | None = personal(None)
    address: Address | None = personal(None, description="Structured (BS7666) address")
    address_lines: tuple[str, ...] = personal((), description="Unstructured address lines")
    contact: ContactDetails = personal(ContactDetails())
    parent_guardian: RelatedPerson | None = personal(None)


class OrganisationParty(CanonicalModel):
    kind: Literal["organisation"] = operational("organisation")
    name: str = operational()
    address: Address | None = operational(None)
    address_lines: tuple[str, ...] = operational(())
    contact: ContactDetails = operational(ContactDetails())


class NextHearing(CanonicalModel):
    """Where and when the case comes back, and on what bail terms for the offence."""

    hearing: Hearing = operational()
    reason: str | None = operational(None)
    bail_status: CustodyStatus | None = operational(None)
    bail_status_code: str | None = operational(None, description="Code as sent, e.g. U")


class DurationPeriod(CanonicalModel):
    start_date: dt.date | None = operational(None)
    end_date: dt.date | None = operational(None)


class Duration(CanonicalModel):
    """A length of sentence or order: value and unit (D, H, W, M, Y, L life, S sessions)."""

    value: int | None = operational(None, ge=0, le=999)
    unit: str | None = operational(None, max_length=1)
    secondary_value: int | None = operational(None, ge=0, le=999)
    secondary_unit: str | None = operational(None, max_length=1)
    periods: tuple[DurationPeriod, ...] = operational(())


class CourtResult(CanonicalModel):
    """One result the court gave for an offence (CJS result code with its qualifiers)."""

    code: str | None = operational(None, pattern=r"^\d{4}$", description="4-digit CJS code")
    text: str = operational(description="The court's wording of the result")
    qualifiers: tuple[str, ...] = operational((), max_length=4)
    next_hearing: NextHearing | None = operational(None)
    penalty_points: int | None = operational(None, ge=0, le=99)
    amount: Decimal | None = operational(
        None, ge=0, max_digits=16, decimal_places=2, description="Pounds sterling"
    )
    duration: Duration | None = operational(None)


class OffenceOutcome(CanonicalModel):
    sequence: int = operational(ge=0, le=999)
    code: str = operational(description="CJS offence code, e.g. TH68001")
    wording: str = operational()
    date_code: int = operational(ge=1, le=6)
    start_date: dt.date = operational()
    start_time: dt.time | None = operational(None)
    end_date: dt.date | None = operational(None)
    end_time: dt.time | None = operational(None)
    location: str | None = operational(None)
    charge_date: dt.date | None = operational(None)
    arrest_date: dt.date | None = operational(None)
    alcohol: Alcohol | None = operational(None)
    vehicle_code: str | None = operational(None)
    vehicle_registration: str | None = personal(None)
    initiated_date: dt.date = operational()
    plea_code: int | None = operational(None, ge=0, le=88, description="SPI plea code")
    mode_of_trial_code: int | None = operational(None, ge=0, le=99)
    final_disposal: bool = operational(description="Disposed of finally at this hearing")
    conviction_date: dt.date | None = operational(None)
    convicting_court: str | None = operational(None, description="PSA code of that court")
    finding_code: str | None = operational(None, description="Verdict: G, N, A, O, C")
    results: tuple[CourtResult, ...] = operational(min_length=1)


class DefendantOutcome(CanonicalModel):
    asn: str = operational(description="Arrest/Summons Number (SPI ProsecutorReference)")
    pnc_id: str | None = personal(None)
    party: PersonParty | OrganisationParty = operational(discriminator="kind")
    bail_status: CustodyStatus = operational(description="Status after the hearing")
    bail_status_code: str = operational(description="Code as sent, e.g. U")
    bail_conditions: str | None = operational(None)
    bail_or_custody_reason: str | None = operational(None)
    presence: Presence = operational()
    next_hearing: NextHearing | None = operational(None, description="Earliest one, if adjourned")
    offences: tuple[OffenceOutcome, ...] = operational(min_length=1)


class PrincipalOffence(CanonicalModel):
    asn: str = operational()
    sequence: int = operational()
    code: str = operational()


class Finalisation(CanonicalModel):
    """The case's outcome as the CPS records it, with the reasons the hub chose it."""

    outcome: FinalisationOutcome = operational()
    final: bool = operational(description="False while any offence awaits a further hearing")
    successful: bool | None = operational(None, description="None when not final or admin")
    principal_offence_category: PrincipalOffenceCategory = operational()
    principal_offence: PrincipalOffence = operational()
    reason: str = operational(description="Which rule chose the outcome")
    category_reason: str = operational(description="Which rule chose the POC")


class HearingOutcome(CanonicalModel):
    """The results of one case at one court hearing, and where that leaves the case."""

    ptiurn: str = operational(min_length=1, max_length=16, description="Case URN (PTIURN)")
    hearing: Hearing = operational()
    court_type: CourtType = operational()
    psa_code: str = operational(pattern=r"^\d{4}$", description="Petty sessional area code")
    hearing_type: str | None = operational(None, description="Not carried by SPI results")
    defendants: tuple[DefendantOutcome, ...] = operational(min_length=1)
    finalisation: Finalisation = operational()

    @property
    def asns(self) -> list[str]:
        """The defendants' Arrest/Summons Numbers, in message order."""
        return [d.asn for d in self.defendants]


# ---------------------------------------------------------------- finalisation

# CJS result codes (standing data result-code list) that say how an offence ended.
_WITHDRAWN = frozenset({"2023", "2051", "2053", "2063", "2073", "2078", "2094", "4010"})
_DISMISSED = frozenset({"2004", "2005", "2006", "2050", "2064", "2075", "2076", "2091"})
# Replaced by another offence or carried forward to another case: the replacement decides.
_SUPERSEDED = frozenset({"2059", "2060"})
_WARRANT = frozenset({"4575", "4576", "4577"})
_SENT_FOR_TRIAL = frozenset({"4057", "4593", *(str(c) for c in range(4558, 4568))})
_GUILTY_PLEAS = frozenset({1, 6, 7})  # guilty, guilty, admits (plea-status standing data)
_NO_PLEA = frozenset({3})
_CONVICTING_FINDINGS = frozenset({"G", "A"})  # guilty, guilty of an alternative offence


@dataclass(frozen=True, slots=True)
class OffenceClass:
    """What standing data says about an offence code, for choosing the principal offence.

    ``seriousness``: 0 indictable only, 1 either way, 2 summary, 3 summary motoring,
    4 unknown; lower is more serious.
    """

    seriousness: int
    category: PrincipalOffenceCategory
    reason: str


Classifier = Callable[[str], OffenceClass]


def _codes(offence: OffenceOutcome) -> set[str]:
    return {r.code for r in offence.results if r.code}


def _superseded(offence: OffenceOutcome) -> bool:
    codes = _codes(offence)
    return bool(codes) and codes <= _SUPERSEDED


def _convicted(offence: OffenceOutcome) -> bool:
    if offence.finding_code is not None:
        return offence.finding_code.upper() in _CONVICTING_FINDINGS
    return offence.conviction_date is not None


def _principal(
    candidates: Iterable[tuple[DefendantOutcome, OffenceOutcome]], classify: Classifier
) -> tuple[DefendantOutcome, OffenceOutcome, OffenceClass]:
    """The most serious offence: mode of trial class, then POC order, then message order."""
    order = list(PrincipalOffenceCategory)
    ranked = [(classify(o.code), i, d, o) for i, (d, o) in enumerate(candidates)]
    cls, _, defendant, offence = min(
        ranked, key=lambda r: (r[0].seriousness, order.index(r[0].category), r[1])
    )
    return defendant, offence, cls


def derive_finalisation(
    defendants: tuple[DefendantOutcome, ...], classify: Classifier
) -> Finalisation:
    """The case's finalisation from its results (rules in docs/formats/flow5-hearing-outcome.md).

    Final only when every offence still in play was finally disposed of; successful when at
    least one was a conviction. The principal offence is the most serious convicted one, or
    the most serious of all when there is no conviction; its POC is the case's.
    """
    every = [(d, o) for d in defendants for o in d.offences]
    live = [(d, o) for d, o in every if not _superseded(o)] or every
    pending = [(d, o) for d, o in live if not o.final_disposal]
    convicted = [(d, o) for d, o in live if _convicted(o)]
    defendant, offence, cls = _principal(convicted or live, classify)
    successful: bool | None
    if pending:
        codes = set().union(*(_codes(o) for _, o in pending))
        has_next = any(r.next_hearing for _, o in pending for r in o.results)
        successful = None
        if codes & _SENT_FOR_TRIAL:
            outcome, reason = FinalisationOutcome.SENT_TO_CROWN_COURT, "sent for trial"
        elif codes & _WARRANT and not has_next:
            outcome = FinalisationOutcome.WARRANT_OUTSTANDING
            reason = "warrant issued with no next hearing"
        else:
            outcome = FinalisationOutcome.ADJOURNED
            reason = f"{len(pending)} offence(s) not finally disposed of"
    elif convicted:
        successful = True
        if offence.plea_code in _GUILTY_PLEAS:
            outcome, reason = FinalisationOutcome.GUILTY_PLEA, "principal offence: guilty plea"
        elif defendant.presence is Presence.ABSENT and offence.plea_code in (None, *_NO_PLEA):
            outcome = FinalisationOutcome.PROOF_IN_ABSENCE
            reason = "principal offence: convicted in absence without a plea"
        else:
            outcome = FinalisationOutcome.CONVICTION_AFTER_TRIAL
            reason = "principal offence: convicted without a guilty plea"
    else:
        successful = False
        codes = _codes(offence)
        if codes & _WITHDRAWN:
            outcome = FinalisationOutcome.WITHDRAWN_DISCONTINUED
            reason = f"principal offence result {sorted(codes & _WITHDRAWN)[0]} (withdrawn)"
        elif codes & _DISMISSED or (offence.finding_code or "").upper() == "N":
            outcome, reason = FinalisationOutcome.DISMISSED, "principal offence dismissed"
        else:
            outcome = FinalisationOutcome.OTHER_UNSUCCESSFUL
            reason = "finally disposed of without a conviction, withdrawal or dismissal"
    return Finalisation(
        outcome=outcome,
        final=not pending,
        successful=successful,
        principal_offence_category=cls.category,
        principal_offence=PrincipalOffence(
            asn=defendant.asn, sequence=offence.sequence, code=offence.code
        ),
        reason=reason,
        category_reason=cls.reason,
    )
