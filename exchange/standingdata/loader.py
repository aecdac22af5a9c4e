"""CJS standing data from the MoJ package ``@moj-bichard7-developers/bichard7-next-data``.

The Makefile installs the pinned package with npm; the hub builds one ``StandingData`` at start
(``StandingData.load()``) and hands it to whatever needs lookups. Each list is parsed on first use
and then kept, so start-up pays only for the lists a process touches.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from exchange.domain.errors import ExchangeError, Issue
from exchange.domain.identifiers import (
    OuCode,
    parse_ou_code,
    validate_offence_code,
    validate_ou_code,
    validate_result_code,
)
from exchange.standingdata.models import (
    ExceptionDefinition,
    Offence,
    OrganisationUnit,
    PoliceForce,
    Result,
)
from exchange.standingdata.poc import OTHER, PocClassifier, PocDecision

__all__ = ["ENV_VAR", "PACKAGE", "StandingData", "StandingDataUnavailable", "default_directory"]

PACKAGE = "@moj-bichard7-developers/bichard7-next-data"
ENV_VAR = "EXCHANGE_STANDING_DATA_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_MARKER = "offence-code.json"


class StandingDataUnavailable(ExchangeError):
    """The standing data files are missing or unreadable: the hub cannot validate without them."""

    code = "STANDING_DATA_UNAVAILABLE"
    http_status = 500
    retriable = False


def default_directory() -> Path:
    """Where ``npm install`` at the repository root puts the package's JSON."""
    return _REPO_ROOT / "node_modules" / PACKAGE / "data"


def _resolve(path: Path | None) -> Path:
    """The argument, else the environment setting, else node_modules; a package root is accepted
    as well as its ``data`` directory."""
    if path is None:
        env = os.environ.get(ENV_VAR)
        path = Path(env) if env else default_directory()
    for candidate in (path, path / "data"):
        if (candidate / _MARKER).is_file():
            return candidate
    raise StandingDataUnavailable(
        f"no CJS standing data at {path} (expected {_MARKER}); run `npm ci` at the repository"
        f" root to install {PACKAGE}, or set {ENV_VAR} to a copy of its data directory"
    )


class StandingData:
    """Lookups over the CJS reference lists: offences, results, organisation units, forces."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def load(cls, path: Path | None = None) -> StandingData:
        """Find the data (argument, ``EXCHANGE_STANDING_DATA_DIR``, node_modules) and check it is
        there; the lists themselves are read on first use (``preload()`` reads them all now)."""
        return cls(_resolve(path))

    def preload(self) -> StandingData:
        """Read every list now, so the first message does not pay for it."""
        for name in ("_offences", "_results", "_units", "_forces", "_exceptions", "_poc"):
            getattr(self, name)
        return self

    def _read(self, name: str) -> list[dict[str, Any]]:
        file = self.directory / f"{name}.json"
        try:
            data = orjson.loads(file.read_bytes())
        except (OSError, orjson.JSONDecodeError) as e:
            raise StandingDataUnavailable(f"cannot read standing data {file}: {e}") from e
        if not isinstance(data, list):
            raise StandingDataUnavailable(f"standing data {file} is not a JSON list")
        return data

    # --- lists, each parsed once ------------------------------------------------------------

    @cached_property
    def _offences(self) -> dict[str, Offence]:
        # Keyed upper-case: the package holds a few lower-case codes (42ESx084).
        return {
            r["cjsCode"].upper(): Offence(
                code=r["cjsCode"],
                title=r["offenceTitle"],
                category=r["offenceCategory"],
                home_office_classification=r["homeOfficeClassification"],
                notifiable_to_home_office=bool(r["notifiableToHo"]),
                recordable_on_pnc=bool(r["recordableOnPnc"]),
            )
            for r in self._read("offence-code")
        }

    @cached_property
    def _results(self) -> dict[str, Result]:
        return {
            r["cjsCode"]: Result(
                code=r["cjsCode"],
                description=r["description"],
                type=r["type"],
                qualifiers=tuple(
                    q.strip() for q in r["resultCodeQualifiers"].split(",") if q.strip()
                ),
                half_life_hours=int(r["resultHalfLifeHours"]) if r["resultHalfLifeHours"] else None,
            )
            for r in self._read("result-code")
        }

    @cached_property
    def _units(self) -> dict[str, OrganisationUnit]:
        units = {}
        for r in self._read("organisation-unit"):
            levels = (
                r["topLevelCode"],
                r["secondLevelCode"],
                r["thirdLevelCode"],
                r["bottomLevelCode"],
            )
            code = "".join(levels).upper()
            units[code] = OrganisationUnit(
                code, *levels,
                r["topLevelName"], r["secondLevelName"], r["thirdLevelName"], r["bottomLevelName"],
                r["thirdLevelPsaCode"],
            )  # fmt: skip
        return units

    @cached_property
    def _forces(self) -> dict[str, PoliceForce]:
        return {r["code"]: PoliceForce(r["code"], r["name"]) for r in self._read("forces")}

    @cached_property
    def _exceptions(self) -> dict[str, ExceptionDefinition]:
        return {
            r["code"]: ExceptionDefinition(
                r["code"],
                r["shortDescription"],
                r["description"],
                r["cause"],
                r["correctingThisError"],
                r["avoidingThisError"],
            )  # fmt: skip
            for r in self._read("exception-definitions")
        }

    @cached_property
    def _poc(self) -> PocClassifier:
        return PocClassifier(self._offences.values())

    # --- lookups ------------------------------------------------------------------------------

    def offence(self, code: str) -> Offence | None:
        """The offence with this CJS code (case-insensitive), or None."""
        return self._offences.get(code.strip().upper())

    def result(self, code: str) -> Result | None:
        """The result with this 4-digit CJS result code, or None."""
        return self._results.get(code.strip())

    def organisation_unit(self, code: str, *, nearest: bool = True) -> OrganisationUnit | None:
        """The organisation unit of a message's OU code (``B01EF01``, ``116BH00``, ``01ZD00``).

        A digit top level marks a police unit, which standing data holds without it. With
        ``nearest``, a unit not listed at bottom level (a courtroom, B01EF01) resolves to its
        third-level unit (B01EF00, Croydon). CPS units (top level A) are not in the package.
        """
        try:
            ou = parse_ou_code(code)
        except ValueError:
            return None
        for key in _candidate_keys(ou, nearest=nearest):
            if unit := self._units.get(key):
                return unit
        return None

    def police_force(self, code: str) -> PoliceForce | None:
        """The police force with this 2-digit code (``01``), or None."""
        return self._forces.get(code.strip().upper())

    def exception_definition(self, code: str) -> ExceptionDefinition | None:
        """Bichard7's definition of an exception code such as ``HO100206``, or None."""
        return self._exceptions.get(code.strip().upper())

    def principal_offence_category(self, offence_code: str) -> str:
        """One of the 12 CPS Principal Offence Categories for an offence code."""
        return self.principal_offence_category_decision(offence_code).category

    def principal_offence_category_decision(self, offence_code: str) -> PocDecision:
        """The POC with the rule that chose it. A qualified code with no classification of its
        own (COML007C) takes its base offence's; an unknown code falls back to "other"."""
        code = offence_code.strip().upper()
        offence = self._offences.get(code)
        base = self._offences.get(code[:-1]) if len(code) > 7 and code[-1].isalpha() else None
        if offence is None and base is None:
            return PocDecision(
                OTHER, f"fallback: offence code {offence_code!r} not in standing data"
            )
        if offence is None or (base is not None and not offence.title):
            assert base is not None
            decision = self._poc.classify(base)
            return PocDecision(
                decision.category, f"{decision.reason} (of base offence {base.code})"
            )
        return self._poc.classify(offence)

    # --- data-quality checks -------------------------------------------------------------------

    def check_offence_code(self, code: str, location: str = "") -> list[Issue]:
        """``OFFENCE_CODE_FORMAT`` (error) or ``OFFENCE_CODE_UNKNOWN`` (warning: the list lags
        new legislation, so an unknown but well-formed code is reported, not rejected)."""
        if self.offence(code) is not None:
            return []  # standing data is the authority, even for its few oddly shaped codes
        if issues := validate_offence_code(code, location):
            return issues
        return [
            Issue(
                "OFFENCE_CODE_UNKNOWN",
                f"offence code {code!r} is not in CJS standing data",
                location,
                severity="warning",
            )
        ]

    def check_ou_code(self, code: str, location: str = "") -> list[Issue]:
        """``OU_CODE_FORMAT`` (error) or ``OU_CODE_UNKNOWN`` (warning). Only top levels the
        package lists (police, B magistrates', C Crown Court) can be unknown."""
        if issues := validate_ou_code(code, location):
            return issues
        top = parse_ou_code(code).top
        covered = top == "" or top.isdigit() or top in self._top_levels
        if covered and self.organisation_unit(code) is None:
            return [
                Issue(
                    "OU_CODE_UNKNOWN",
                    f"organisation unit {code!r} is not in CJS standing data",
                    location,
                    severity="warning",
                )
            ]
        return []

    def check_result_code(self, code: str, location: str = "") -> list[Issue]:
        """``RESULT_CODE_FORMAT`` (error) or ``RESULT_CODE_UNKNOWN`` (warning)."""
        if issues := validate_result_code(code, location):
            return issues
        if self.result(code) is None:
            return [
                Issue(
                    "RESULT_CODE_UNKNOWN",
                    f"result code {code!r} is not in CJS standing data",
                    location,
                    severity="warning",
                )
            ]
        return []

    @cached_property
    def _top_levels(self) -> frozenset[str]:
        return frozenset(u.top_level_code for u in self._units.values())

    def counts(self) -> dict[str, int]:
        """How many records each list holds."""
        return {
            "offences": len(self._offences),
            "results": len(self._results),
            "organisation_units": len(self._units),
            "police_forces": len(self._forces),
            "exception_definitions": len(self._exceptions),
        }


def _candidate_keys(ou: OuCode, *, nearest: bool) -> list[str]:
    tops = [ou.top, ""] if ou.top.isdigit() else [ou.top]
    bottoms = [ou.bottom, "00"] if nearest and ou.bottom != "00" else [ou.bottom]
    return [f"{t}{ou.second}{ou.third}{b}" for b in bottoms for t in tops]
