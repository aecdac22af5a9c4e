"""The CPS case management system (CMS): pulls case files and charge requests as JSON."""

from __future__ import annotations

from exchange.domain.casefile import CaseFile
from exchange.domain.envelope import Agency, MessageType
from exchange.registry import Adapter, Outbound
from transforms.cms_case import case_file_to_cms

__all__ = ["adapter"]


def _cps_unit(case: CaseFile) -> str | None:
    return case.case.cps_organisation


adapter = Adapter(
    agency=Agency.CPS,
    system="CMS",
    outbound=(
        Outbound(
            destination=Agency.CPS,
            message_type=MessageType.CASE_FILE,
            format="cms-case-json",
            render=case_file_to_cms,
            organisation=_cps_unit,
        ),
    ),
)
