"""Police case systems (NSPIS-style): they send new cases, and receive what concerns them."""

from __future__ import annotations

from adapters.police.spi import validate_new_case
from exchange.domain.casefile import CaseFile
from exchange.domain.envelope import Agency, MessageType
from exchange.formats import SPI_NEW_CASE
from exchange.quality import case_file_issues
from exchange.registry import Adapter, Inbound
from transforms.spi_new_case import to_case_file

__all__ = ["adapter"]


def _case_urn(case: CaseFile) -> str:
    return case.case.ptiurn


def _asns(case: CaseFile) -> list[str]:
    return [d.prosecutor_reference for d in case.defendants]


adapter = Adapter(
    agency=Agency.POLICE,
    system="NSPIS",
    inbound=(
        Inbound(
            format=SPI_NEW_CASE,
            message_type=MessageType.CASE_FILE,
            validate=lambda d: validate_new_case(d.element),
            to_canonical=lambda d: to_case_file(d.element),
            case_urn=_case_urn,
            asns=_asns,
            quality=case_file_issues,
        ),
    ),
)
