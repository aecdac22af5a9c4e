"""Police case systems (NSPIS-style): send new cases and pre-charge requests; receive
charging decisions and hearing outcomes."""

from __future__ import annotations

from adapters.police.charge_request import charge_request_quality, validate_charge_request
from adapters.police.spi import validate_new_case
from exchange.domain.casefile import CaseFile
from exchange.domain.charging import ChargeRequest, ChargingDecision
from exchange.domain.envelope import Agency, MessageType
from exchange.formats import POLICE_CHARGE_REQUEST, SPI_NEW_CASE
from exchange.quality import case_file_issues
from exchange.registry import Adapter, Inbound, Outbound
from transforms.charge_request import to_charge_request
from transforms.charging_decision import render_police_charging_decision
from transforms.police_outcome import outcome_to_police_xml, police_force
from transforms.spi_new_case import to_case_file

__all__ = ["adapter"]


def _case_urn(case: CaseFile) -> str:
    return case.case.ptiurn


def _asns(case: CaseFile) -> list[str]:
    return [d.prosecutor_reference for d in case.defendants]


def _request_urn(request: ChargeRequest) -> str:
    return request.case_urn


def _request_asns(request: ChargeRequest) -> list[str]:
    return [s.asn for s in request.suspects if s.asn]


def _decision_force(decision: ChargingDecision) -> str:
    return decision.force_code


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
        Inbound(
            format=POLICE_CHARGE_REQUEST,
            message_type=MessageType.CHARGE_REQUEST,
            validate=lambda d: validate_charge_request(d.element),
            to_canonical=lambda d: to_charge_request(d.element),
            case_urn=_request_urn,
            asns=_request_asns,
            quality=charge_request_quality,
        ),
    ),
    outbound=(
        Outbound(
            destination=Agency.POLICE,
            message_type=MessageType.HEARING_OUTCOME,
            format="police-outcome-xml",
            render=outcome_to_police_xml,
            organisation=police_force,
        ),
        Outbound(
            destination=Agency.POLICE,
            message_type=MessageType.CHARGING_DECISION,
            format="police-charging-decision-xml",
            render=render_police_charging_decision,
            organisation=_decision_force,
        ),
    ),
)
