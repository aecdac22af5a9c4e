"""Courts adapter for the Libra SPI ``ResultedCaseMessage``: bytes in, ``HearingOutcome`` out.

Safe-parse, unwrap the CJSE ``DeliverRequest`` (or ``RouteData``) envelope, validate against
the project's own XSD (``schemas/xsd/courts/spi-resulted-case-v1.xsd``, compiled once),
reporting every error libxml2 finds with an XPath of local names and the line, then map.
Error paths are resolved the same way as the police NewCaseMessage adapter does.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Final

from lxml import etree

from exchange.domain.errors import InvalidMessage, Issue, UnsupportedFormat
from exchange.domain.identifiers import validate_asn, validate_pnc_id, validate_ptiurn
from exchange.domain.outcome import HearingOutcome
from exchange.formats import SPI_RESULTED_CASE, detect
from exchange.standingdata import StandingData
from exchange.xsd import load_schema, schema_issues
from transforms.spi_resulted_case import to_hearing_outcome

__all__ = [
    "SCHEMA_PATH",
    "case_urn",
    "defendant_asns",
    "outcome_issues",
    "parse_resulted_case",
    "schema",
    "validate_resulted_case",
]

SCHEMA_PATH: Final = (
    Path(__file__).resolve().parents[2] / "schemas" / "xsd" / "courts" / "spi-resulted-case-v1.xsd"
)


@functools.cache
def schema() -> etree.XMLSchema:
    """The compiled ResultedCaseMessage schema (compiled once per process)."""
    return load_schema(SCHEMA_PATH)


def validate_resulted_case(element: etree._Element) -> list[Issue]:
    """Every schema error in a ``ResultedCaseMessage`` element, as issues with path and line."""
    return schema_issues(schema(), element)


def parse_resulted_case(raw: bytes, *, standing_data: StandingData | None = None) -> HearingOutcome:
    """Parse, validate and map a court ``ResultedCaseMessage`` (bare or in a CJSE envelope).

    Raises ``InvalidMessage`` with every issue found, or ``UnsupportedFormat`` if the document
    is another format. Standing data (for the Principal Offence Category) defaults to the
    hub's installed copy, loaded on first use.
    """
    detected = detect(raw)
    if detected.format != SPI_RESULTED_CASE:
        raise UnsupportedFormat(
            f"expected a Libra SPI ResultedCaseMessage, got {detected.format} "
            f"(root {detected.root!r} in namespace {detected.namespace!r})"
        )
    issues = validate_resulted_case(detected.element)
    if issues:
        raise InvalidMessage(
            issues=issues,
            summary=f"ResultedCaseMessage is not valid against spi-resulted-case-v1: "
            f"{len(issues)} error(s)",
        )
    return to_hearing_outcome(detected.element, standing_data=standing_data)


def case_urn(outcome: HearingOutcome) -> str:
    """The PTIURN of the resulted case (the Kafka key)."""
    return outcome.ptiurn


def defendant_asns(outcome: HearingOutcome) -> list[str]:
    """The Arrest/Summons Numbers of the resulted defendants."""
    return outcome.asns


def outcome_issues(outcome: HearingOutcome, sd: StandingData) -> list[Issue]:
    """Data-quality findings on a hearing outcome, all as warnings.

    The court's results are a record of what happened: a broken ASN or an unknown result code
    must reach the police and the CPS to be corrected, not be refused, so nothing is an error.
    """
    found = validate_ptiurn(outcome.ptiurn, "/ptiurn")
    found += sd.check_ou_code(outcome.hearing.court_ou, "/hearing/court_ou")
    for i, d in enumerate(outcome.defendants):
        at = f"/defendants/{i}"
        found += validate_asn(d.asn, f"{at}/asn")
        if d.pnc_id:
            found += validate_pnc_id(d.pnc_id, f"{at}/pnc_id")
        for j, o in enumerate(d.offences):
            found += sd.check_offence_code(o.code, f"{at}/offences/{j}/code")
            for k, r in enumerate(o.results):
                if r.code:
                    found += sd.check_result_code(r.code, f"{at}/offences/{j}/results/{k}/code")
    return [replace(i, severity="warning") for i in found]
