"""Libra SPI ``ResultedCaseMessage`` (court to police) → canonical ``HearingOutcome``.

Takes an element already validated against ``schemas/xsd/courts/spi-resulted-case-v1.xsd``,
so structure and lexical forms are trusted; this module maps and normalises (trims text,
pads result codes to four digits, decodes bail and presence codes) and derives the case's
finalisation with standing data (offence category and Principal Offence Category). Values the
schema admits but Python cannot hold (year 0) become issues, never crashes. Mapping table and
dropped fields: docs/formats/flow5-hearing-outcome.md.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Final, TypeVar

from lxml import etree

from exchange.domain import outcome as oc
from exchange.domain.casefile import CustodyStatus
from exchange.domain.common import Hearing
from exchange.domain.errors import InvalidMessage, Issue
from exchange.standingdata import StandingData
from exchange.xmlsafe import element_path
from transforms.guard import guarded
from transforms.spi_new_case_values import (
    L,
    address_of,
    base_offence_fields,
    child_of,
    contact_of,
    date_of,
    gender_of,
    int_of,
    name_of,
    required_text,
    text_of,
    time_of,
)

__all__ = ["MULTIPLE_CASES", "classifier", "to_hearing_outcome"]

MULTIPLE_CASES: Final = "MULTIPLE_CASES_UNSUPPORTED"
# SPI remand status codes (standing data remand-status list): P and C are both custody;
# S (secure care) is a remand to local authority secure accommodation.
_BAIL: Final = {
    "C": CustodyStatus.CUSTODY,
    "P": CustodyStatus.CUSTODY,
    "B": CustodyStatus.CONDITIONAL_BAIL,
    "U": CustodyStatus.UNCONDITIONAL_BAIL,
    "L": CustodyStatus.REMANDED_LOCAL_AUTHORITY,
    "S": CustodyStatus.REMANDED_LOCAL_AUTHORITY,
    "A": CustodyStatus.NOT_APPLICABLE,
}
_PRESENCE: Final = {"Y": oc.Presence.PRESENT, "N": oc.Presence.ABSENT, "A": oc.Presence.REPRESENTED}
_COURT_TYPES: Final = {"B": oc.CourtType.MAGISTRATES, "C": oc.CourtType.CROWN}
# Offence category (mode of trial class) → seriousness rank; see OffenceClass.
_SERIOUSNESS: Final = {"CI": 0, "CE": 1, "CS": 2, "CM": 3}
_UNKNOWN_RANK: Final = 4
_CENT: Final = Decimal("0.01")
T = TypeVar("T")


# ---------------------------------------------------------------- parts


def _hearing(element: etree._Element) -> Hearing:
    return Hearing(
        court_ou=required_text(element, "CourtHearingLocation"),
        date=date_of(child_of(element, "DateOfHearing")),
        time=time_of(child_of(element, "TimeOfHearing")),
    )


def _bail(code: str | None) -> CustodyStatus | None:
    return None if code is None else _BAIL.get(code.upper(), CustodyStatus.UNKNOWN)


def _next_hearing(element: etree._Element | None) -> oc.NextHearing | None:
    if element is None:
        return None
    code = text_of(element, "BailStatusOffence")
    return oc.NextHearing(
        hearing=_hearing(element.find(L + "NextHearingDetails")),
        reason=text_of(element, "NextHearingReason"),
        bail_status=_bail(code),
        bail_status_code=code,
    )


def _duration(element: etree._Element | None) -> oc.Duration | None:
    if element is None:
        return None
    periods: list[oc.DurationPeriod] = []
    # Start/end dates repeat as optional pairs: a start opens a period, an end closes the
    # open one, or stands alone when none is open.
    current: dict[str, object] = {}
    for child in element:
        name = etree.QName(child).localname
        if name == "DurationStartDate" or (name == "DurationEndDate" and "end_date" in current):
            if current:
                periods.append(oc.DurationPeriod(**current))
            current = {}
        if name == "DurationStartDate":
            current["start_date"] = date_of(child)
        elif name == "DurationEndDate":
            current["end_date"] = date_of(child)
    if current:
        periods.append(oc.DurationPeriod(**current))
    return oc.Duration(
        value=int_of(element, "DurationValue"),
        unit=text_of(element, "DurationUnit"),
        secondary_value=int_of(element, "SecondaryDurationValue"),
        secondary_unit=text_of(element, "SecondaryDurationUnit"),
        periods=tuple(periods),
    )


def _result(element: etree._Element) -> oc.CourtResult:
    code = int_of(element, "ResultCode")
    outcome = child_of(element, "Outcome")
    amount = text_of(outcome, "ResultAmountSterling")
    return oc.CourtResult(
        code=None if code is None else f"{code:04d}",
        text=text_of(element, "ResultText") or "",
        qualifiers=tuple(
            (q.text or "").strip() for q in element.iterfind(L + "ResultCodeQualifier")
        ),
        next_hearing=_next_hearing(child_of(element, "NextHearing")),
        penalty_points=int_of(outcome, "PenaltyPoints"),
        # The schema allows at most two significant decimals; fix the scale at pence.
        amount=None if amount is None else Decimal(amount).quantize(_CENT),
        duration=_duration(child_of(outcome, "Duration")),
    )


def _offence(element: etree._Element) -> oc.OffenceOutcome:
    court = int_of(element, "ConvictingCourt")
    return oc.OffenceOutcome(
        **base_offence_fields(element.find(L + "BaseOffenceDetails")),
        initiated_date=date_of(child_of(element, "InitiatedDate")),
        plea_code=int_of(element, "Plea"),
        mode_of_trial_code=int_of(element, "ModeOfTrial"),
        final_disposal=(text_of(element, "FinalDisposalIndicator") or "").upper() == "Y",
        conviction_date=date_of(child_of(element, "ConvictionDate")),
        convicting_court=None if court is None else f"{court:04d}",
        finding_code=text_of(element, "Finding"),
        results=tuple(_result(r) for r in element.iterfind(L + "Result")),
    )


def _address_parts(
    element: etree._Element | None,
) -> dict[str, object]:
    if element is None:
        return {}
    simple = child_of(element, "SimpleAddress")
    if simple is not None:
        return {"address_lines": tuple((c.text or "").strip() for c in simple)}
    return {"address": address_of(child_of(element, "ComplexAddress"))}


def _guardian(element: etree._Element | None) -> oc.RelatedPerson | None:
    if element is None:
        return None
    details = element.find(L + "BasePersonDetails")
    return oc.RelatedPerson(
        name=name_of(details.find(L + "PersonName")),
        birth_date=date_of(child_of(details, "Birthdate")),
        gender=gender_of(details),
        contact=contact_of(details, phones=child_of(details, "TelephoneDetails")),
        **_address_parts(child_of(element, "Address")),
    )


def _defendant(element: etree._Element) -> oc.DefendantOutcome:
    person = element.find(L + "CourtIndividualDefendant")
    party: oc.PersonParty | oc.OrganisationParty
    if person is not None:
        holder, base = person, person.find(L + "PersonDefendant")
        details = base.find(L + "BasePersonDetails")
        pnc = text_of(base, "PNCidentifier")
        party = oc.PersonParty(
            name=name_of(details.find(L + "PersonName")),
            birth_date=date_of(child_of(details, "Birthdate")),
            gender=gender_of(details),
            nationality=text_of(base, "PersonStatedNationality"),
            contact=contact_of(details, phones=child_of(details, "TelephoneDetails")),
            parent_guardian=_guardian(child_of(person, "ParentGuardianDetails")),
            **_address_parts(child_of(person, "Address")),
        )
        conditions = text_of(base, "BailConditions")
    else:
        holder = element.find(L + "CourtCorporateDefendant")
        pnc, conditions = text_of(holder, "PNCidentifier"), None
        party = oc.OrganisationParty(
            name=required_text(holder.find(L + "OrganisationName"), "OrganisationName"),
            contact=contact_of(holder, business=text_of(holder, "TelephoneNumberBusiness")),
            **_address_parts(child_of(holder, "Address")),
        )
    offences = tuple(_offence(o) for o in element.iterfind(L + "Offence"))
    nexts = [r.next_hearing for o in offences for r in o.results if r.next_hearing]
    code = text_of(holder, "BailStatus") or ""
    return oc.DefendantOutcome(
        asn=required_text(element, "ProsecutorReference"),
        pnc_id=pnc,
        party=party,
        bail_status=_bail(code) if code else CustodyStatus.UNKNOWN,
        bail_status_code=code,
        bail_conditions=conditions,
        bail_or_custody_reason=text_of(holder, "ReasonForBailConditionsOrCustody"),
        presence=_PRESENCE.get(
            (text_of(holder, "PresentAtHearing") or "").upper(), oc.Presence.UNKNOWN
        ),
        next_hearing=min(nexts, key=lambda n: (n.hearing.date, str(n.hearing.time)), default=None),
        offences=offences,
    )


# ---------------------------------------------------------------- standing data


@functools.cache
def _default_standing_data() -> StandingData:
    # Loaded on first use, not at import: nothing touches the disk until a message arrives.
    return StandingData.load()


def classifier(standing_data: StandingData) -> oc.Classifier:
    """Offence code → seriousness and Principal Offence Category, from standing data."""

    def classify(code: str) -> oc.OffenceClass:
        offence = standing_data.offence(code) or standing_data.offence(code.strip()[:7])
        decision = standing_data.principal_offence_category_decision(code)
        rank = _SERIOUSNESS.get(offence.category, _UNKNOWN_RANK) if offence else _UNKNOWN_RANK
        return oc.OffenceClass(
            rank, oc.PrincipalOffenceCategory(decision.category), decision.reason
        )

    return classify


# ---------------------------------------------------------------- entry point


def _one_case(element: etree._Element) -> list[etree._Element]:
    cases: list[etree._Element] = list(element.findall(f"{L}Session/{L}Case"))
    urns = {required_text(c, "PTIURN") for c in cases}
    if len(urns) > 1:
        first = required_text(cases[0], "PTIURN")
        other = next(c for c in cases if required_text(c, "PTIURN") != first)
        # One canonical message per case (the Kafka key is the PTIURN): a session resulting
        # several cases must be split before it reaches the hub.
        raise InvalidMessage(
            issues=[
                Issue(
                    code=MULTIPLE_CASES,
                    message=f"session results {len(urns)} cases ({', '.join(sorted(urns))});"
                    " send one ResultedCaseMessage per PTIURN",
                    location=element_path(other, within=element.getparent()),
                    line=other.sourceline,
                )
            ],
            summary="ResultedCaseMessage holds more than one case",
        )
    return cases


def to_hearing_outcome(
    element: etree._Element, *, standing_data: StandingData | None = None
) -> oc.HearingOutcome:
    """Map a schema-valid ``ResultedCaseMessage`` element to a ``HearingOutcome``.

    Several ``Case`` elements with the same PTIURN (one per defendant) become one outcome
    with several defendants; different PTIURNs are refused (``MULTIPLE_CASES_UNSUPPORTED``).
    """
    cases = _one_case(element)
    classify = classifier(standing_data or _default_standing_data())

    def build() -> oc.HearingOutcome:
        court = element.find(f"{L}Session/{L}CourtHearing")
        hearing = _hearing(court.find(L + "Hearing"))
        defendants = tuple(_defendant(c.find(L + "Defendant")) for c in cases)
        return oc.HearingOutcome(
            ptiurn=required_text(cases[0], "PTIURN"),
            hearing=hearing,
            court_type=_COURT_TYPES.get(hearing.court_ou[:1].upper(), oc.CourtType.OTHER),
            psa_code=f"{int_of(court, 'PSAcode'):04d}",
            defendants=defendants,
            finalisation=oc.derive_finalisation(defendants, classify),
        )

    return guarded(build, element, source="ResultedCaseMessage", target="HearingOutcome")
