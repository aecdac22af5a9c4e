"""Canonical ``HearingOutcome`` → the JSON the CPS case management system (CMS) pulls.

Our own shape, camelCase, like ``transforms.cms_case``. The CPS prosecutes the case and
records its finalisation, so it gets the results, the finalisation with its reasons and the
Principal Offence Category. Withheld: contact details (the CPS holds them from the case file)
and the parent or guardian. Amounts are strings ("100.00") so no pence are lost to floats.
"""

from __future__ import annotations

from typing import Any, Final

from exchange.domain import outcome as oc
from exchange.domain.envelope import Envelope

__all__ = ["CMS_OUTCOME_FORMAT", "CMS_OUTCOME_SCHEMA", "cps_organisation", "outcome_to_cms"]

CMS_OUTCOME_SCHEMA: Final = "cjs-exchange/cms-hearing-outcome/1.0"
CMS_OUTCOME_FORMAT: Final = "cms-outcome-json"


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _next_hearing(nh: oc.NextHearing | None) -> dict[str, Any] | None:
    if nh is None:
        return None
    return {
        "courtCode": nh.hearing.court_ou,
        "date": _iso(nh.hearing.date),
        "time": _iso(nh.hearing.time),
        "reason": nh.reason,
        "bailStatus": nh.bail_status.value if nh.bail_status else None,
    }


def _result(result: oc.CourtResult) -> dict[str, Any]:
    d = result.duration
    return {
        "resultCode": result.code,
        "text": result.text,
        "qualifiers": list(result.qualifiers),
        "penaltyPoints": result.penalty_points,
        "amountSterling": None if result.amount is None else f"{result.amount:.2f}",
        "duration": None
        if d is None
        else {
            "value": d.value,
            "unit": d.unit,
            "secondaryValue": d.secondary_value,
            "secondaryUnit": d.secondary_unit,
            "periods": [
                {"startDate": _iso(p.start_date), "endDate": _iso(p.end_date)} for p in d.periods
            ],
        },
        "nextHearing": _next_hearing(result.next_hearing),
    }


def _offence(offence: oc.OffenceOutcome) -> dict[str, Any]:
    return {
        "sequence": offence.sequence,
        "offenceCode": offence.code,
        "wording": offence.wording,
        "startDate": _iso(offence.start_date),
        "endDate": _iso(offence.end_date),
        "plea": offence.plea_code,
        "modeOfTrial": offence.mode_of_trial_code,
        "finding": offence.finding_code,
        "convictionDate": _iso(offence.conviction_date),
        "finalDisposal": offence.final_disposal,
        "results": [_result(r) for r in offence.results],
    }


def _party(party: oc.PersonParty | oc.OrganisationParty) -> dict[str, Any]:
    lines = list(party.address.lines) if party.address else list(party.address_lines)
    if isinstance(party, oc.OrganisationParty):
        return {"type": "organisation", "organisationName": party.name, "addressLines": lines}
    return {
        "type": "person",
        "name": {
            "title": party.name.title,
            "givenNames": list(party.name.given_names),
            "familyName": party.name.family_name,
        },
        "dateOfBirth": _iso(party.birth_date),
        "gender": party.gender.value,
        "addressLines": lines,
    }


def _defendant(defendant: oc.DefendantOutcome) -> dict[str, Any]:
    return {
        "asn": defendant.asn,
        "pncId": defendant.pnc_id,
        **_party(defendant.party),
        "bailStatus": defendant.bail_status.value,
        "bailConditions": defendant.bail_conditions,
        "bailOrCustodyReason": defendant.bail_or_custody_reason,
        "presence": defendant.presence.value,
        "nextHearing": _next_hearing(defendant.next_hearing),
        "offences": [_offence(o) for o in defendant.offences],
    }


def outcome_to_cms(outcome: oc.HearingOutcome, envelope: Envelope) -> dict[str, Any]:
    """The CMS JSON for one case's hearing outcome, ready for ``orjson.dumps``."""
    fin = outcome.finalisation
    return {
        "schema": CMS_OUTCOME_SCHEMA,
        "messageId": str(envelope.message_id),
        "correlationId": str(envelope.correlation_id),
        "occurredAt": envelope.occurred_at.isoformat(),
        "caseUrn": outcome.ptiurn,
        "court": {
            "code": outcome.hearing.court_ou,
            "type": outcome.court_type.value,
            "psaCode": outcome.psa_code,
        },
        "hearing": {"date": _iso(outcome.hearing.date), "time": _iso(outcome.hearing.time)},
        "finalisation": {
            "outcome": fin.outcome.value,
            "final": fin.final,
            "successful": fin.successful,
            "principalOffenceCategory": fin.principal_offence_category.value,
            "principalOffence": {
                "asn": fin.principal_offence.asn,
                "sequence": fin.principal_offence.sequence,
                "offenceCode": fin.principal_offence.code,
            },
            "reason": fin.reason,
            "categoryReason": fin.category_reason,
        },
        "defendants": [_defendant(d) for d in outcome.defendants],
    }


def cps_organisation(_outcome: oc.HearingOutcome) -> str | None:
    """Tenancy: the CPS area. SPI results do not name it, so it is left to routing (None)."""
    return None
