"""The CPS case management system (CMS): pulls case files, charge requests and outcomes as
JSON; sends documents served (CP20 XML or CMS JSON) for the court bundle."""

from __future__ import annotations

from adapters.cps.charging_decision import (
    charging_decision_quality,
    parse_charging_decision,
    validate_charging_decision,
)
from adapters.cps.cp20 import map_cp20, validate_cp20
from adapters.cps.documents_served_json import parse_documents_served
from exchange.domain.bundle import CourtBundle
from exchange.domain.casefile import CaseFile
from exchange.domain.charging import ChargeRequest, ChargingDecision
from exchange.domain.envelope import Agency, MessageType
from exchange.formats import CMS_CHARGING_DECISION, CMS_DOCUMENTS_SERVED, CP20
from exchange.registry import Adapter, Inbound, Outbound
from transforms.charge_request import render_cms_charge_request
from transforms.cms_case import case_file_to_cms
from transforms.cms_outcome import cps_organisation, outcome_to_cms

__all__ = ["adapter"]


def _cps_unit(case: CaseFile) -> str | None:
    return case.case.cps_organisation


def _bundle_urn(bundle: CourtBundle) -> str:
    return bundle.case.ptiurn


def _bundle_asns(bundle: CourtBundle) -> list[str]:
    return [d.asn for d in bundle.defendants if d.asn]


def _decision_urn(decision: ChargingDecision) -> str:
    return decision.case_urn


def _decision_asns(decision: ChargingDecision) -> list[str]:
    return [s.asn for s in decision.suspect_decisions if s.asn]


def _request_unit(request: ChargeRequest) -> str | None:
    return request.cps_organisation


adapter = Adapter(
    agency=Agency.CPS,
    system="CMS",
    inbound=(
        Inbound(
            format=CP20,
            message_type=MessageType.COURT_BUNDLE,
            validate=lambda d: validate_cp20(d.element),
            to_canonical=lambda d: map_cp20(d.element),
            case_urn=_bundle_urn,
            asns=_bundle_asns,
        ),
        Inbound(
            format=CMS_DOCUMENTS_SERVED,
            message_type=MessageType.COURT_BUNDLE,
            # The JSON parser validates as it maps (schema, base64, document types).
            validate=lambda _d: [],
            to_canonical=lambda d: parse_documents_served(d.payload),
            case_urn=_bundle_urn,
            asns=_bundle_asns,
        ),
        Inbound(
            format=CMS_CHARGING_DECISION,
            message_type=MessageType.CHARGING_DECISION,
            validate=lambda d: validate_charging_decision(d.payload),
            to_canonical=lambda d: parse_charging_decision(d.payload),
            case_urn=_decision_urn,
            asns=_decision_asns,
            quality=charging_decision_quality,
            causation_id=lambda decision: decision.request_message_id,
        ),
    ),
    outbound=(
        Outbound(
            destination=Agency.CPS,
            message_type=MessageType.CASE_FILE,
            format="cms-case-json",
            render=case_file_to_cms,
            organisation=_cps_unit,
        ),
        Outbound(
            destination=Agency.CPS,
            message_type=MessageType.HEARING_OUTCOME,
            format="cms-outcome-json",
            render=outcome_to_cms,
            organisation=cps_organisation,
        ),
        Outbound(
            destination=Agency.CPS,
            message_type=MessageType.CHARGE_REQUEST,
            format="cms-charge-request-json",
            render=render_cms_charge_request,
            organisation=_request_unit,
        ),
    ),
)
