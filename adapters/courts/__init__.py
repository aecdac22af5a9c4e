"""Court systems (DCS-style Crown Court, magistrates'): receive case records and bundles,
send hearing results (Libra SPI ResultedCaseMessage)."""

from __future__ import annotations

from adapters.courts.spi_results import (
    case_urn,
    defendant_asns,
    outcome_issues,
    validate_resulted_case,
)
from exchange.domain.bundle import CourtBundle
from exchange.domain.casefile import CaseFile
from exchange.domain.envelope import Agency, MessageType
from exchange.formats import SPI_RESULTED_CASE
from exchange.registry import Adapter, Inbound, Outbound
from transforms.dcs_bundle import court_bundle_to_dcs
from transforms.dcs_case import case_file_to_court_record
from transforms.spi_resulted_case import to_hearing_outcome

__all__ = ["adapter"]


def _court(case: CaseFile) -> str | None:
    return case.case.initial_hearing.court_ou


def _bundle_court(bundle: CourtBundle) -> str | None:
    return bundle.case.court_ou


adapter = Adapter(
    agency=Agency.COURT,
    system="DCS",
    inbound=(
        Inbound(
            format=SPI_RESULTED_CASE,
            message_type=MessageType.HEARING_OUTCOME,
            validate=lambda d: validate_resulted_case(d.element),
            to_canonical=lambda d: to_hearing_outcome(d.element),
            case_urn=case_urn,
            asns=defendant_asns,
            quality=outcome_issues,
        ),
    ),
    outbound=(
        Outbound(
            destination=Agency.COURT,
            message_type=MessageType.CASE_FILE,
            format="dcs-case-json",
            render=case_file_to_court_record,
            organisation=_court,
        ),
        Outbound(
            destination=Agency.COURT,
            message_type=MessageType.COURT_BUNDLE,
            format="dcs-bundle-json",
            render=court_bundle_to_dcs,
            organisation=_bundle_court,
        ),
    ),
)
