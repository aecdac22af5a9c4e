"""Court systems (DCS-style Crown Court, magistrates'): receive case records and bundles."""

from __future__ import annotations

from exchange.domain.casefile import CaseFile
from exchange.domain.envelope import Agency, MessageType
from exchange.registry import Adapter, Outbound
from transforms.dcs_case import case_file_to_court_record

__all__ = ["adapter"]


def _court(case: CaseFile) -> str | None:
    return case.case.initial_hearing.court_ou


adapter = Adapter(
    agency=Agency.COURT,
    system="DCS",
    outbound=(
        Outbound(
            destination=Agency.COURT,
            message_type=MessageType.CASE_FILE,
            format="dcs-case-json",
            render=case_file_to_court_record,
            organisation=_court,
        ),
    ),
)
