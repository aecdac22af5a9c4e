"""Identifiers of the CJS with their real rules: PTIURN, ASN, PNC ID, CRO number, offence, OU and
result codes.

Pure functions over strings, standard library only. ``parse_*`` normalise (strip, upper-case) and
raise ``ValueError`` on a malformed value; ``validate_*`` never raise and return the data-quality
issues found, each with a stable code, so a bad identifier is a finding, not a crash. The rules
and what they were measured against are in docs/identifiers.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from exchange.domain.errors import Issue

__all__ = [
    "CHECK_TABLE",
    "Asn",
    "CroNumber",
    "OffenceCode",
    "OuCode",
    "PncId",
    "Ptiurn",
    "asn_check_character",
    "check_character",
    "cro_check_character",
    "parse_asn",
    "parse_cro",
    "parse_offence_code",
    "parse_ou_code",
    "parse_pnc_id",
    "parse_ptiurn",
    "pnc_check_character",
    "validate_asn",
    "validate_cro",
    "validate_offence_code",
    "validate_ou_code",
    "validate_pnc_id",
    "validate_ptiurn",
    "validate_result_code",
]

# I, O and S are left out so a check letter is never mistaken for 1, 0 or 5.
CHECK_TABLE = "ZABCDEFGHJKLMNPQRTUVWXY"
_CHECK = "[A-HJ-NP-RT-Z]"


def check_character(number: int) -> str:
    """The CJS check letter of a number: ``CHECK_TABLE[number mod 23]``."""
    return CHECK_TABLE[number % len(CHECK_TABLE)]


def _norm(value: str) -> str:
    return value.strip().upper()


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 40 else repr(value[:40] + "...")


# --- PTIURN -----------------------------------------------------------------------------------

_PTIURN = re.compile(r"(\d{2})([0-9A-Z]{2})(\d{5})(\d{2})(?:/(\d{1,3}))?")


@dataclass(frozen=True, slots=True)
class Ptiurn:
    """A case's unique reference number, e.g. ``01ZD0303208`` or ``01ZD0303208/2`` (CPS split)."""

    force: str
    unit: str
    serial: str
    year: str
    split: str | None = None

    def __str__(self) -> str:
        base = f"{self.force}{self.unit}{self.serial}{self.year}"
        return base if self.split is None else f"{base}/{self.split}"


def parse_ptiurn(value: str) -> Ptiurn:
    """Parse a PTIURN (force 2 digits, unit 2, serial 5 digits, year 2 digits, optional ``/n``)."""
    m = _PTIURN.fullmatch(_norm(value))
    if m is None:
        raise ValueError(f"not a PTIURN: {_shown(value)}")
    return Ptiurn(*m.groups())


def validate_ptiurn(value: str, location: str = "") -> list[Issue]:
    """Issues with a PTIURN as received (case-sensitive: lower-case units are reported)."""
    if _PTIURN.fullmatch(value) is None:
        hint = " (unit must be upper case)" if _PTIURN.fullmatch(value.upper()) else ""
        return [
            Issue(
                "PTIURN_FORMAT",
                f"PTIURN {_shown(value)} is not force 2 digits, unit 2 characters, serial 5 digits,"
                f" year 2 digits with an optional /n split suffix{hint}",
                location,
            )
        ]
    return []


# --- ASN ----------------------------------------------------------------------------------------

# Long form: year, [top-level OU character], force, unit, system, 11-digit sequence, check.
_ASN_LONG = re.compile(
    rf"(\d{{2}})([A-Z0-9]?)([A-Z0-9]{{2}})([A-Z0-9]{{2}})([A-Z0-9]{{2}})(\d{{11}})({_CHECK})"
)
# Display form YY/FFUU/SS/nnnnnnC (sequence without leading zeros), also with a top-level char.
_ASN_DISPLAY = re.compile(
    rf"(\d{{2}})/([A-Z0-9]?)([A-Z0-9]{{2}})([A-Z0-9]{{2}})/([A-Z0-9]{{2}})/(\d{{1,11}})({_CHECK})"
)


def asn_check_character(year: str, force: str, system: str, sequence: str | int) -> str:
    """Bichard7's ASN check letter: n = force + system + year + 11-digit sequence, as one number.

    A force or system code that is not all digits is dropped from n, as Bichard7 does; the unit
    and any top-level character never take part.
    """
    digits = "".join(p for p in (force, system) if p.isdigit()) + year + f"{int(sequence):011d}"
    return check_character(int(digits))


@dataclass(frozen=True, slots=True)
class Asn:
    """An arrest/summons number, e.g. ``1101ZD0100000448754K``."""

    year: str
    force: str
    unit: str
    system: str
    sequence: str  # always 11 digits
    check: str
    top_level: str = ""  # the optional 21st character (top-level OU code), e.g. "1"

    @property
    def expected_check(self) -> str:
        return asn_check_character(self.year, self.force, self.system, self.sequence)

    @property
    def check_is_valid(self) -> bool:
        return self.check == self.expected_check

    def __str__(self) -> str:
        """The long form (20 characters, 21 with a top-level character)."""
        return (
            f"{self.year}{self.top_level}{self.force}{self.unit}{self.system}"
            f"{self.sequence}{self.check}"
        )

    def display(self) -> str:
        """The form people write: ``YY/FFUU/SS/nnnnnnC``, sequence without leading zeros."""
        return (
            f"{self.year}/{self.top_level}{self.force}{self.unit}/{self.system}/"
            f"{int(self.sequence)}{self.check}"
        )


def parse_asn(value: str) -> Asn:
    """Parse an ASN in its 20-char, 21-char (top-level character) or display form.

    Only the shape is checked here; ``validate_asn`` or ``Asn.check_is_valid`` checks the letter.
    """
    text = _norm(value)
    m = _ASN_LONG.fullmatch(text) or _ASN_DISPLAY.fullmatch(text)
    if m is None:
        raise ValueError(f"not an ASN: {_shown(value)}")
    year, top, force, unit, system, sequence, check = m.groups()
    return Asn(year, force, unit, system, f"{int(sequence):011d}", check, top)


def validate_asn(value: str, location: str = "") -> list[Issue]:
    """Issues with an ASN: ``ASN_FORMAT`` or ``ASN_CHECK_CHARACTER``."""
    try:
        asn = parse_asn(value)
    except ValueError:
        return [
            Issue(
                "ASN_FORMAT",
                f"ASN {_shown(value)} is not year 2 digits, force 2, unit 2, system 2,"
                " sequence 11 digits and a check letter (or YY/FFUU/SS/nnnnnnC)",
                location,
            )
        ]
    if not asn.check_is_valid:
        return [
            Issue(
                "ASN_CHECK_CHARACTER",
                f"ASN {_shown(value)} has check letter {asn.check}, expected {asn.expected_check}",
                location,
            )
        ]
    return []


# --- PNC ID -------------------------------------------------------------------------------------

# The SPI carries PNC IDs without the slash (its pattern forbids it): both forms parse.
_PNC_ID = re.compile(rf"(\d{{4}})/?(\d{{7}})({_CHECK})")


def pnc_check_character(year: str, serial: str | int) -> str:
    """PNC ID check letter: n = the year's last 2 digits followed by the 7-digit serial."""
    return check_character(int(f"{year[-2:]}{int(serial):07d}"))


@dataclass(frozen=True, slots=True)
class PncId:
    """A PNC identifier, ``YYYY/NNNNNNNC``."""

    year: str
    serial: str
    check: str

    @property
    def expected_check(self) -> str:
        return pnc_check_character(self.year, self.serial)

    def __str__(self) -> str:
        return f"{self.year}/{self.serial}{self.check}"


def parse_pnc_id(value: str) -> PncId:
    """Parse a PNC ID ``YYYY/NNNNNNNC``."""
    m = _PNC_ID.fullmatch(_norm(value))
    if m is None:
        raise ValueError(f"not a PNC ID: {_shown(value)}")
    return PncId(*m.groups())


def validate_pnc_id(value: str, location: str = "") -> list[Issue]:
    """Issues with a PNC ID; a wrong check letter is only a warning (rule not yet confirmed)."""
    try:
        pnc = parse_pnc_id(value)
    except ValueError:
        return [Issue("PNC_ID_FORMAT", f"PNC ID {_shown(value)} is not YYYY/NNNNNNNC", location)]
    if pnc.check != pnc.expected_check:
        return [
            Issue(
                "PNC_ID_CHECK_CHARACTER",
                f"PNC ID {_shown(value)} has check letter {pnc.check},"
                f" expected {pnc.expected_check}",
                location,
                severity="warning",
            )
        ]
    return []


# --- CRO number ---------------------------------------------------------------------------------

_CRO = re.compile(rf"(\d{{1,6}})/(\d{{2}})({_CHECK})")
_CRO_SF = re.compile(rf"SF ?(\d{{2}})/(\d{{1,6}})({_CHECK})")


def cro_check_character(year: str, serial: str, *, sf: bool = False) -> str:
    """CRO check letter: n = YY followed by the serial (padded to 6 digits, except SF numbers)."""
    return check_character(int(year + (serial if sf else serial.zfill(6))))


@dataclass(frozen=True, slots=True)
class CroNumber:
    """A CRO number, ``NNNNNN/YYC`` or, for a scanned fingerprint record, ``SF YY/NNNNNNC``."""

    serial: str
    year: str
    check: str
    sf: bool = False

    @property
    def expected_check(self) -> str:
        return cro_check_character(self.year, self.serial, sf=self.sf)

    def __str__(self) -> str:
        if self.sf:
            return f"SF{self.year}/{self.serial}{self.check}"
        return f"{self.serial}/{self.year}{self.check}"


def parse_cro(value: str) -> CroNumber:
    """Parse a CRO number in either form."""
    text = _norm(value)
    if m := _CRO.fullmatch(text):
        return CroNumber(m[1], m[2], m[3])
    if m := _CRO_SF.fullmatch(text):
        return CroNumber(m[2], m[1], m[3], sf=True)
    raise ValueError(f"not a CRO number: {_shown(value)}")


def validate_cro(value: str, location: str = "") -> list[Issue]:
    """Issues with a CRO number: ``CRO_FORMAT`` or ``CRO_CHECK_CHARACTER``."""
    try:
        cro = parse_cro(value)
    except ValueError:
        return [
            Issue(
                "CRO_FORMAT",
                f"CRO number {_shown(value)} is not NNNNNN/YYC or SFYY/NNNNNNC",
                location,
            )
        ]
    if cro.check != cro.expected_check:
        return [
            Issue(
                "CRO_CHECK_CHARACTER",
                f"CRO number {_shown(value)} has check letter {cro.check},"
                f" expected {cro.expected_check}",
                location,
            )
        ]
    return []


# --- Offence codes ------------------------------------------------------------------------------

OffenceCodeKind = Literal["statute", "common_law", "local"]
_OFFENCE_STATUTE = re.compile(r"([A-Z]{2})(\d{2})([0-9A-Z]\d{2})([A-Z]?)")
_OFFENCE_COMMON_LAW = re.compile(r"(COML)([0-9A-Z]\d{2})([A-Z]?)")
# Force-local codes in standing data: a 2-digit force then 4 to 8 letters and digits.
_OFFENCE_LOCAL = re.compile(r"(\d{2})([0-9A-Z]{4,8})")


@dataclass(frozen=True, slots=True)
class OffenceCode:
    """A CJS offence code. ``TH68001``: act TH, year 68, section 001; ``COML025A``: act COML,
    section 025, qualifier A (attempt); a force-local code keeps its force in ``act``."""

    act: str
    year: str
    section: str
    qualifier: str = ""
    kind: OffenceCodeKind = "statute"

    def __str__(self) -> str:
        return f"{self.act}{self.year}{self.section}{self.qualifier}"

    @property
    def base(self) -> str:
        """The code without its qualifier (attempt, aid and abet, conspire, incite)."""
        return f"{self.act}{self.year}{self.section}"


def parse_offence_code(value: str) -> OffenceCode:
    """Parse a CJS offence code: statute, common law (``COML``) or force-local."""
    text = _norm(value)
    if m := _OFFENCE_COMMON_LAW.fullmatch(text):
        return OffenceCode(m[1], "", m[2], m[3], "common_law")
    if m := _OFFENCE_STATUTE.fullmatch(text):
        return OffenceCode(m[1], m[2], m[3], m[4], "statute")
    if m := _OFFENCE_LOCAL.fullmatch(text):
        return OffenceCode(m[1], "", m[2], "", "local")
    raise ValueError(f"not a CJS offence code: {_shown(value)}")


def validate_offence_code(value: str, location: str = "") -> list[Issue]:
    """Issues with the shape of an offence code (whether it exists is standing data's job)."""
    try:
        parse_offence_code(value)
    except ValueError:
        return [
            Issue(
                "OFFENCE_CODE_FORMAT",
                f"offence code {_shown(value)} is not act 2 letters + year 2 digits + section 3"
                " + optional qualifier, COMLnnn, or a force-local code",
                location,
            )
        ]
    if value != value.strip().upper():
        return [
            Issue(
                "OFFENCE_CODE_FORMAT", f"offence code {_shown(value)} is not upper case", location
            )
        ]
    return []


# --- Organisation unit codes --------------------------------------------------------------------

# Top level (one of A-J, Z or a digit; police units are written without it in standing data),
# then second (2 digits: the force or area, as every unit in standing data has), third and
# bottom levels of two characters each.
_OU = re.compile(r"([A-JZ0-9]?)(\d{2})([0-9A-Z]{2})([0-9A-Z]{2})([0-9A-Z]?)")


@dataclass(frozen=True, slots=True)
class OuCode:
    """An organisation unit code, e.g. court ``B01EF01``: top B, second 01, third EF, bottom 01."""

    top: str
    second: str
    third: str
    bottom: str
    extra: str = ""  # an 8th character, allowed by the CJSE envelope; its meaning is not known

    def __str__(self) -> str:
        return f"{self.top}{self.second}{self.third}{self.bottom}{self.extra}"


def parse_ou_code(value: str) -> OuCode:
    """Parse a 6-, 7- or 8-character OU code."""
    m = _OU.fullmatch(_norm(value))
    if m is None:
        raise ValueError(f"not an organisation unit code: {_shown(value)}")
    top, second, third, bottom, extra = m.groups()
    if extra and not top:  # 7 characters with no valid top level read as 6 + 1: reject
        raise ValueError(f"not an organisation unit code: {_shown(value)}")
    return OuCode(top, second, third, bottom, extra)


def validate_ou_code(value: str, location: str = "") -> list[Issue]:
    """Issues with the shape of an organisation unit code."""
    try:
        parse_ou_code(value)
    except ValueError:
        return [
            Issue(
                "OU_CODE_FORMAT",
                f"organisation unit code {_shown(value)} is not a top-level character and three"
                " 2-character levels (e.g. B01EF01)",
                location,
            )
        ]
    if value != value.strip().upper():
        return [
            Issue(
                "OU_CODE_FORMAT",
                f"organisation unit code {_shown(value)} is not upper case",
                location,
            )
        ]
    return []


# --- Result codes -------------------------------------------------------------------------------

_RESULT = re.compile(r"\d{4}")


def validate_result_code(value: str, location: str = "") -> list[Issue]:
    """Issues with the shape of a CJS result code (4 digits, e.g. 1015)."""
    if _RESULT.fullmatch(value) is None:
        return [
            Issue("RESULT_CODE_FORMAT", f"result code {_shown(value)} is not 4 digits", location)
        ]
    return []
