"""Data-quality rules beyond the schema, applied to canonical payloads.

A rule's issue is an ``error`` (the message is rejected: the sender must fix it) only where the
hub cannot route or identify safely otherwise: a malformed PTIURN, or an ASN whose check
character is wrong. Everything else is a ``warning``: the message flows, and the warning is
stored with it, counted in metrics and shown to ops. Locations are JSON pointers into the
canonical payload.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from exchange.domain.casefile import CaseFile
from exchange.domain.errors import Issue
from exchange.domain.identifiers import (
    parse_asn,
    validate_asn,
    validate_cro,
    validate_pnc_id,
    validate_ptiurn,
)
from exchange.standingdata import StandingData


def _as_warning(issues: list[Issue]) -> list[Issue]:
    return [dataclasses.replace(i, severity="warning") for i in issues]


def _asn_issues(value: str, location: str) -> list[Issue]:
    try:
        parse_asn(value)
    except ValueError:
        # The SPI allows any prosecutor reference; police ones should be ASNs.
        return _as_warning(validate_asn(value, location))
    return validate_asn(value, location)


def case_file_issues(case: CaseFile, sd: StandingData, today: dt.date | None = None) -> list[Issue]:
    """Every data-quality issue in a police case file."""
    today = today or dt.date.today()  # noqa: DTZ011 - a calendar date in England and Wales
    info = case.case
    issues = validate_ptiurn(info.ptiurn, "/case/ptiurn")
    issues += sd.check_ou_code(info.initial_hearing.court_ou, "/case/initial_hearing/court_ou")
    for d, defendant in enumerate(case.defendants):
        base = f"/defendants/{d}"
        issues += _asn_issues(defendant.prosecutor_reference, f"{base}/prosecutor_reference")
        if defendant.pnc_id:
            issues += _as_warning(validate_pnc_id(defendant.pnc_id, f"{base}/pnc_id"))
        if defendant.cro_number:
            issues += _as_warning(validate_cro(defendant.cro_number, f"{base}/cro_number"))
        birth = getattr(defendant.party, "birth_date", None)
        if birth is not None and birth > today:
            issues.append(
                Issue(
                    "BIRTH_DATE_IN_FUTURE",
                    f"birth date {birth} is in the future",
                    f"{base}/party/birth_date",
                    severity="warning",
                )
            )
        for o, offence in enumerate(defendant.offences):
            at = f"{base}/offences/{o}"
            issues += _as_warning(sd.check_offence_code(offence.code, f"{at}/code"))
            issues += _offence_dates(offence, at, info.initial_hearing.date)
    return issues


def _offence_dates(offence: object, at: str, hearing: dt.date | None) -> list[Issue]:
    start = getattr(offence, "start_date", None)
    end = getattr(offence, "end_date", None)
    charged = getattr(offence, "charge_date", None)
    found: list[Issue] = []
    if start and end and end < start:
        found.append(
            Issue(
                "OFFENCE_DATES_REVERSED",
                f"offence ends ({end}) before it starts ({start})",
                f"{at}/end_date",
                severity="warning",
            )
        )
    if start and charged and charged < start:
        found.append(
            Issue(
                "CHARGE_BEFORE_OFFENCE",
                f"charged on {charged}, before the offence date {start}",
                f"{at}/charge_date",
                severity="warning",
            )
        )
    if charged and hearing and hearing < charged:
        found.append(
            Issue(
                "HEARING_BEFORE_CHARGE",
                f"first hearing {hearing} is before the charge date {charged}",
                f"{at}/charge_date",
                severity="warning",
            )
        )
    return found
