"""CJS standing data (offences, results, organisation units, police forces, Bichard7 exception
definitions) from the MoJ package, with lookups, data-quality checks and the CPS Principal Offence
Category of an offence."""

from exchange.standingdata.loader import (
    ENV_VAR,
    PACKAGE,
    StandingData,
    StandingDataUnavailable,
    default_directory,
)
from exchange.standingdata.models import (
    ExceptionDefinition,
    Offence,
    OrganisationUnit,
    PoliceForce,
    Result,
)
from exchange.standingdata.poc import PRINCIPAL_OFFENCE_CATEGORIES, PocDecision

__all__ = [
    "ENV_VAR",
    "PACKAGE",
    "PRINCIPAL_OFFENCE_CATEGORIES",
    "ExceptionDefinition",
    "Offence",
    "OrganisationUnit",
    "PocDecision",
    "PoliceForce",
    "Result",
    "StandingData",
    "StandingDataUnavailable",
    "default_directory",
]
