"""Canonical ``ChargeRequest`` (flow 2, police → CPS) and ``ChargingDecision`` (flow 3, CPS →
police): the MG3 report to the Crown Prosecutor and the prosecutor's pre-charge decision.

Semantics follow TWIF ``SuspectStructure``/``ProposedCharge`` and ``PreChargeDecisionStructure``;
the shapes are ours. Rules that need the whole message (a charge decision carries charges, the
Threshold Test only for a suspect in custody) are functions returning ``Problem``s rather than
model validators, so a rule breach becomes a precise, located issue at ingestion instead of a
bare ``ValidationError``. Field provenance: docs/formats/flow2-3-charging.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydantic import AwareDatetime

from exchange.domain.common import (
    CanonicalModel,
    ContactDetails,
    Gender,
    PersonName,
    operational,
    personal,
    special_category,
)
from exchange.domain.errors import Severity

__all__ = [
    "CHARGING_SCHEMA_VERSION",
    "Action",
    "ChargeRequest",
    "ChargingDecision",
    "CodeTest",
    "DecidedCharge",
    "DecisionOutcome",
    "Disposal",
    "DisposalKind",
    "FailedStage",
    "Mg3Report",
    "Problem",
    "Prosecutor",
    "ProposedCharge",
    "RequestingOfficer",
    "Suspect",
    "SuspectDecision",
    "SuspectStatus",
    "decision_problems",
    "request_problems",
]

CHARGING_SCHEMA_VERSION: Final = "1.0"
# Clocks at the CPS and the hub disagree a little; a decision stamped a few minutes "ahead"
# is clock skew, not a decision from the future.
CLOCK_SKEW: Final = dt.timedelta(minutes=5)


class CodeTest(StrEnum):
    """The Code for Crown Prosecutors test applied (TWIF ``EvidentialTest``)."""

    FULL_CODE = "full-code-test"
    THRESHOLD = "threshold-test"


class SuspectStatus(StrEnum):
    """Where a suspect is while the police await a decision (TWIF ``PoliceRemandStatus``).

    Not ``casefile.CustodyStatus``: that is the status for the first hearing, after charge;
    before charge a suspect is detained, on pre-charge bail (PACE Part 4), released under
    investigation or attending voluntarily, and the Threshold Test turns on exactly this.
    """

    IN_CUSTODY = "in-custody"
    PRE_CHARGE_BAIL = "pre-charge-bail"
    RELEASED_UNDER_INVESTIGATION = "released-under-investigation"
    VOLUNTARY_ATTENDANCE = "voluntary-attendance"


class DecisionOutcome(StrEnum):
    CHARGE = "charge"
    OUT_OF_COURT_DISPOSAL = "out-of-court-disposal"
    NO_FURTHER_ACTION = "no-further-action"
    ACTION_PLAN = "action-plan"  # more evidence needed before a decision


class DisposalKind(StrEnum):
    CONDITIONAL_CAUTION = "conditional-caution"
    SIMPLE_CAUTION = "simple-caution"
    COMMUNITY_RESOLUTION = "community-resolution"
    OTHER = "other"


class FailedStage(StrEnum):
    """Which stage of the Full Code Test a no-further-action decision failed."""

    EVIDENTIAL = "evidential"
    PUBLIC_INTEREST = "public-interest"


# ---------------------------------------------------------------- flow 2: the request


class RequestingOfficer(CanonicalModel):
    name: PersonName = personal()
    rank: str | None = operational(None, max_length=35)
    shoulder_number: str = operational(min_length=1, max_length=10, description="Collar number")
    station_code: str | None = operational(None, description="OU code of the officer's station")
    contact: ContactDetails = personal(ContactDetails())


class ProposedCharge(CanonicalModel):
    """A charge the police suggest (TWIF ``ProposedCharge``)."""

    charge_id: str = operational(min_length=1, max_length=20, description="Police's own id")
    offence_code: str = operational(description="CJS offence code, e.g. TH68001")
    wording: str = operational(min_length=1, max_length=2000)
    from_date: dt.date = operational()
    to_date: dt.date | None = operational(None)


class Suspect(CanonicalModel):
    suspect_id: str = operational(min_length=1, max_length=20, description="Police's own id")
    name: PersonName = personal()
    birth_date: dt.date | None = personal(None)
    gender: Gender | None = personal(None)
    asn: str = operational(description="Arrest/summons number")
    pnc_id: str | None = personal(None)
    status: SuspectStatus = operational()
    custody_time_limit: AwareDatetime | None = operational(
        None, description="When the PACE detention clock runs out (suspect in custody)"
    )
    bail_date: dt.date | None = operational(None, description="Date to answer pre-charge bail")
    ppo: bool = operational(False, description="Prolific and Priority Offender")
    dip_drug_test_positive: bool | None = special_category(
        None, description="Drug Interventions Programme test result"
    )
    proposed_charges: tuple[ProposedCharge, ...] = operational(())


class Mg3Report(CanonicalModel):
    """The officer's report to the Crown Prosecutor (MG3)."""

    summary_of_evidence: str = operational(min_length=1)
    key_evidence: tuple[str, ...] = operational(())
    officer_view: str | None = operational(None, description="Officer's view on charge")
    vulnerable_or_intimidated_witness: bool = operational(False)


class ChargeRequest(CanonicalModel):
    """Police ask the CPS for a charging decision on one case."""

    request_reference: str = operational(min_length=1, max_length=35, description="Police's id")
    case_urn: str = operational(min_length=1, max_length=16, description="PTIURN")
    requesting_force: str = operational(pattern=r"^[0-9]{2}$", description="2-digit force code")
    cps_organisation: str | None = operational(None, description="OU code of the CPS unit")
    submitted_at: AwareDatetime = operational()
    requested_test: CodeTest = operational()
    deadline: AwareDatetime | None = operational(None, description="Decision needed by")
    officer: RequestingOfficer = operational()
    suspects: tuple[Suspect, ...] = operational(min_length=1)
    mg3: Mg3Report = operational()

    @property
    def force_code(self) -> str:
        """The owning force: the PTIURN's first two digits (the tenant)."""
        return self.case_urn[:2]


# ---------------------------------------------------------------- flow 3: the decision


class Prosecutor(CanonicalModel):
    name: PersonName = personal()
    role: str | None = operational(None, max_length=50, examples=["Senior Crown Prosecutor"])


class DecidedCharge(CanonicalModel):
    offence_code: str = operational(description="CJS offence code")
    wording: str = operational(min_length=1, max_length=2000)
    proposed_charge_id: str | None = operational(None, description="Police charge it answers")


class Disposal(CanonicalModel):
    kind: DisposalKind = operational()
    conditions: tuple[str, ...] = operational(())


class Action(CanonicalModel):
    """One item of an action plan: what the police must do, and by when."""

    advice: str = operational(min_length=1)
    due_by: dt.date = operational()


class SuspectDecision(CanonicalModel):
    suspect_id: str = operational(min_length=1, max_length=20, description="From the request")
    asn: str | None = operational(None)
    status: SuspectStatus = operational(description="Where the suspect was at decision time")
    outcome: DecisionOutcome = operational()
    charges: tuple[DecidedCharge, ...] = operational(())
    disposal: Disposal | None = operational(None)
    failed_stage: FailedStage | None = operational(None)
    reason: str | None = operational(None)
    actions: tuple[Action, ...] = operational(())


class ChargingDecision(CanonicalModel):
    """The prosecutor's pre-charge decision on every suspect of one request."""

    decision_id: str = operational(min_length=1, max_length=35, description="CMS's own id")
    case_urn: str = operational(min_length=1, max_length=16, description="PTIURN")
    request_message_id: uuid.UUID = operational(description="Hub message id of the request")
    request_reference: str | None = operational(None, max_length=35)
    cps_organisation: str | None = operational(None, description="OU code of the CPS unit")
    code_test: CodeTest = operational()
    decided_at: AwareDatetime = operational()
    prosecutor: Prosecutor = operational()
    advice: str | None = operational(None)
    suspect_decisions: tuple[SuspectDecision, ...] = operational(min_length=1)

    @property
    def force_code(self) -> str:
        return self.case_urn[:2]


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Problem:
    """A rule breach; ``path`` names the canonical field (``("suspects", 0, "status")``), so
    each format can spell the location in its own terms."""

    code: str
    message: str
    path: tuple[str | int, ...]
    severity: Severity = "error"


def request_problems(request: ChargeRequest) -> list[Problem]:
    """Rules over a whole ``ChargeRequest`` that its schema cannot express."""
    found: list[Problem] = []
    found += _duplicates([s.suspect_id for s in request.suspects], ("suspects",), "suspect_id")
    if request.requesting_force != request.force_code:
        found.append(
            Problem(
                "FORCE_MISMATCH",
                f"requesting force {request.requesting_force} does not own case"
                f" {request.case_urn} (force {request.force_code})",
                ("requesting_force",),
                "warning",
            )
        )
    for i, suspect in enumerate(request.suspects):
        at: tuple[str | int, ...] = ("suspects", i)
        ids = [c.charge_id for c in suspect.proposed_charges]
        found += _duplicates(ids, (*at, "proposed_charges"), "charge_id")
        in_custody = suspect.status is SuspectStatus.IN_CUSTODY
        if request.requested_test is CodeTest.THRESHOLD and not in_custody:
            found.append(_threshold(suspect.suspect_id, suspect.status, (*at, "status")))
        if in_custody and suspect.custody_time_limit is None:
            found.append(
                Problem(
                    "CUSTODY_TIME_LIMIT_MISSING",
                    f"suspect {suspect.suspect_id} is in custody but no custody time limit is"
                    " given; the prosecutor cannot prioritise the request",
                    (*at, "status"),
                )
            )
        if suspect.status is SuspectStatus.PRE_CHARGE_BAIL and suspect.bail_date is None:
            found.append(
                Problem(
                    "BAIL_DATE_MISSING",
                    f"suspect {suspect.suspect_id} is on pre-charge bail but no bail date is given",
                    (*at, "status"),
                    "warning",
                )
            )
        for j, charge in enumerate(suspect.proposed_charges):
            if charge.to_date is not None and charge.to_date < charge.from_date:
                found.append(_dates_reversed((*at, "proposed_charges", j, "to_date")))
    return found


def decision_problems(decision: ChargingDecision, now: dt.datetime) -> list[Problem]:
    """Rules over a whole ``ChargingDecision``; ``now`` is an aware datetime."""
    found: list[Problem] = []
    if decision.decided_at > now + CLOCK_SKEW:
        found.append(
            Problem(
                "DECISION_IN_FUTURE",
                f"decision time {decision.decided_at.isoformat()} is in the future",
                ("decided_at",),
            )
        )
    ids = [s.suspect_id for s in decision.suspect_decisions]
    found += _duplicates(ids, ("suspect_decisions",), "suspect_id")
    for i, item in enumerate(decision.suspect_decisions):
        found += _suspect_decision(decision, item, ("suspect_decisions", i))
    return found


def _suspect_decision(
    decision: ChargingDecision, item: SuspectDecision, at: tuple[str | int, ...]
) -> list[Problem]:
    found: list[Problem] = []
    who = f"suspect {item.suspect_id}"
    charging = item.outcome is DecisionOutcome.CHARGE
    if charging and not item.charges:
        found.append(
            Problem(
                "CHARGE_WITHOUT_CHARGES",
                f"{who}: a charge decision names no charges",
                (*at, "charges"),
            )
        )
    if not charging and item.charges:
        found.append(
            Problem(
                "CHARGES_WITHOUT_CHARGE_DECISION",
                f"{who}: outcome is {item.outcome.value} but charges are given",
                (*at, "charges"),
            )
        )
    if decision.code_test is CodeTest.THRESHOLD and item.status is not SuspectStatus.IN_CUSTODY:
        found.append(_threshold(item.suspect_id, item.status, (*at, "status")))
    if item.outcome is DecisionOutcome.OUT_OF_COURT_DISPOSAL and item.disposal is None:
        found.append(
            Problem(
                "DISPOSAL_MISSING",
                f"{who}: out-of-court disposal with no disposal given",
                (*at, "disposal"),
            )
        )
    if item.outcome is DecisionOutcome.NO_FURTHER_ACTION and item.failed_stage is None:
        found.append(
            Problem(
                "FAILED_STAGE_MISSING",
                f"{who}: no further action without the Code test stage that was not met",
                (*at, "failed_stage"),
            )
        )
    if item.outcome is DecisionOutcome.ACTION_PLAN and not item.actions:
        found.append(
            Problem(
                "ACTION_PLAN_WITHOUT_ACTIONS",
                f"{who}: an action plan with no actions",
                (*at, "actions"),
            )
        )
    for j, action in enumerate(item.actions):
        if action.due_by < decision.decided_at.date():
            found.append(
                Problem(
                    "ACTION_DUE_BEFORE_DECISION",
                    f"{who}: action due {action.due_by.isoformat()}, before the decision",
                    (*at, "actions", j, "due_by"),
                )
            )
    return found


def _threshold(suspect_id: str, status: SuspectStatus, path: tuple[str | int, ...]) -> Problem:
    return Problem(
        "THRESHOLD_TEST_NOT_IN_CUSTODY",
        f"suspect {suspect_id} has status {status.value}: the Threshold Test applies only to a"
        " suspect in custody whom it is proposed to keep in custody",
        path,
    )


def _dates_reversed(path: tuple[str | int, ...]) -> Problem:
    return Problem("DATES_REVERSED", "offence end date is before its start date", path)


def _duplicates(ids: list[str], at: tuple[str | int, ...], field: str) -> list[Problem]:
    seen: set[str] = set()
    found: list[Problem] = []
    for i, value in enumerate(ids):
        if value in seen:
            found.append(Problem("DUPLICATE_ID", f"{field} {value!r} is repeated", (*at, i, field)))
        seen.add(value)
    return found
