"""The records of CJS standing data, as the hub uses them (field names are the hub's, not the
package's camelCase)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExceptionDefinition", "Offence", "OrganisationUnit", "PoliceForce", "Result"]


@dataclass(frozen=True, slots=True)
class Offence:
    """One CJS offence code, e.g. TH68001 "Theft from the person of another"."""

    code: str
    title: str
    category: str  # CI indictable, CE either way, CS summary, CM summary motoring, B7, VA, ...
    home_office_classification: str  # "039/00"; "000/00" means not classified
    notifiable_to_home_office: bool
    recordable_on_pnc: bool

    @property
    def home_office_class(self) -> str:
        """The Home Office offence class, the part before the slash ("039")."""
        return self.home_office_classification.partition("/")[0]


@dataclass(frozen=True, slots=True)
class Result:
    """One CJS result code, e.g. 1015 "Fine"."""

    code: str
    description: str
    type: str  # F final, I interim, P, or "" (as in the package)
    qualifiers: tuple[str, ...]  # result qualifier codes allowed with it
    half_life_hours: int | None


@dataclass(frozen=True, slots=True)
class OrganisationUnit:
    """One organisation unit: a court, a police station or unit. Police units have no top-level
    code in standing data; messages write them with a digit in front (116BH00 is 16BH00)."""

    code: str
    top_level_code: str
    second_level_code: str
    third_level_code: str
    bottom_level_code: str
    top_level_name: str
    second_level_name: str
    third_level_name: str
    bottom_level_name: str
    psa_code: str  # the 4-digit petty sessional area code of a court, "" otherwise

    @property
    def name(self) -> str:
        """The most specific name the unit has."""
        for name in (self.bottom_level_name, self.third_level_name, self.second_level_name):
            if name:
                return name
        return self.top_level_name

    @property
    def is_police(self) -> bool:
        return self.top_level_code == ""


@dataclass(frozen=True, slots=True)
class PoliceForce:
    """A police force (or PNC-using agency) by its 2-digit code, e.g. 01 Metropolitan Police."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ExceptionDefinition:
    """One of Bichard7's exception codes (HO100xxx) with the operator guidance that goes with it."""

    code: str
    short_description: str
    description: str
    cause: str
    correcting: str
    avoiding: str
