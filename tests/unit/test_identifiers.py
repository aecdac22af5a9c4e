"""Identifier rules: generated identifiers round-trip and pass, one changed character fails, and
the real identifiers in ../shared/samples behave as docs/identifiers.md records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.domain.errors import Issue
from exchange.domain.identifiers import (
    CHECK_TABLE,
    Asn,
    asn_check_character,
    check_character,
    cro_check_character,
    parse_asn,
    parse_cro,
    parse_offence_code,
    parse_ou_code,
    parse_pnc_id,
    parse_ptiurn,
    pnc_check_character,
    validate_asn,
    validate_cro,
    validate_offence_code,
    validate_ou_code,
    validate_pnc_id,
    validate_ptiurn,
    validate_result_code,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


def alnum(n: int) -> st.SearchStrategy[str]:
    return st.text(ALNUM, min_size=n, max_size=n)


def codes(result: list[Issue]) -> list[str]:
    return [i.code for i in result]


# --- check character --------------------------------------------------------------------------


def test_check_table_has_23_letters_without_i_o_s() -> None:
    assert len(CHECK_TABLE) == 23
    assert not set("IOS") & set(CHECK_TABLE)
    assert check_character(0) == "Z"
    assert check_character(1) == "A"
    assert check_character(23) == "Z"


def test_asn_check_of_the_glossary_example() -> None:
    # 1101ZD0100000448754K: n = 01 (force) 01 (system) 11 (year) 00000448754 (sequence)
    assert int("010111" + "00000448754") % 23 == CHECK_TABLE.index("K")
    assert asn_check_character("11", "01", "01", "00000448754") == "K"
    assert validate_asn("1101ZD0100000448754K") == []


# --- ASN ----------------------------------------------------------------------------------------


@st.composite
def asns(draw: st.DrawFn) -> Asn:
    year, force, unit, system = draw(digits(2)), draw(alnum(2)), draw(alnum(2)), draw(alnum(2))
    sequence = draw(digits(11))
    top = draw(st.sampled_from(["", "1", "B"]))
    check = asn_check_character(year, force, system, sequence)
    return Asn(year, force, unit, system, sequence, check, top)


@given(asns())
def test_generated_asn_round_trips_and_passes(asn: Asn) -> None:
    assert parse_asn(str(asn)) == asn
    assert parse_asn(asn.display()) == asn
    assert parse_asn(str(asn).lower()) == asn
    assert validate_asn(str(asn)) == []
    assert validate_asn(asn.display()) == []
    assert len(str(asn)) == (21 if asn.top_level else 20)


@given(asns(), st.data())
def test_asn_with_one_changed_digit_fails(asn: Asn, data: st.DataObject) -> None:
    text = str(asn)
    # Positions that take part in the check: year, sequence, and force and system when they are
    # all digits (Bichard7's rule drops a force or system with a letter, so it is unprotected).
    offset = len(asn.top_level)
    used = [0, 1, *range(8 + offset, 19 + offset)]
    for start, part in ((2, asn.force), (6, asn.system)):
        if part.isdigit():
            used += [start + offset, start + offset + 1]
    positions = used
    i = data.draw(st.sampled_from(positions))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != text[i]]))
    changed = text[:i] + new + text[i + 1 :]
    # A single digit change alters n by d*10^k with 0 < |d| < 10; 23 divides neither factor.
    assert codes(validate_asn(changed)) == ["ASN_CHECK_CHARACTER"]


@given(asns(), st.sampled_from(CHECK_TABLE))
def test_asn_with_another_check_letter_fails(asn: Asn, letter: str) -> None:
    if letter != asn.check:
        assert codes(validate_asn(str(asn)[:-1] + letter)) == ["ASN_CHECK_CHARACTER"]


@pytest.mark.parametrize(
    "bad", ["", "BROKEN_ASN", "007007", "1101ZD010000410836V", "1101ZD0100000448754I"]
)
def test_malformed_asn_is_a_format_issue(bad: str) -> None:
    [issue] = validate_asn(bad, location="/Case/Defendant/ProsecutorReference")
    assert issue.code == "ASN_FORMAT"
    assert issue.location == "/Case/Defendant/ProsecutorReference"
    with pytest.raises(ValueError, match="not an ASN"):
        parse_asn(bad)


def test_asn_display_form() -> None:
    asn = parse_asn("11/01ZD/01/448754K")
    assert str(asn) == "1101ZD0100000448754K"
    assert asn.display() == "11/01ZD/01/448754K"


# --- PTIURN -------------------------------------------------------------------------------------


@given(digits(2), alnum(2), digits(5), digits(2), st.none() | st.integers(1, 99).map(str))
def test_generated_ptiurn_round_trips(
    force: str, unit: str, serial: str, year: str, split: str | None
) -> None:
    text = f"{force}{unit}{serial}{year}" + ("" if split is None else f"/{split}")
    urn = parse_ptiurn(text)
    assert (urn.force, urn.unit, urn.serial, urn.year, urn.split) == (
        force,
        unit,
        serial,
        year,
        split,
    )
    assert str(urn) == text
    assert validate_ptiurn(text) == []


@pytest.mark.parametrize("bad", ["70", "XXXXXXXXX", "URN_NUMBER", "01ZD030010", "01ZD0300108/"])
def test_bad_ptiurn(bad: str) -> None:
    assert codes(validate_ptiurn(bad)) == ["PTIURN_FORMAT"]


def test_lower_case_ptiurn_is_reported_but_parses() -> None:
    [issue] = validate_ptiurn("01zd0300108")
    assert issue.code == "PTIURN_FORMAT"
    assert "upper case" in issue.message
    assert str(parse_ptiurn("01zd0300108")) == "01ZD0300108"


# --- PNC ID and CRO -----------------------------------------------------------------------------


@given(st.integers(1900, 2099).map(str), digits(7))
def test_generated_pnc_id_round_trips_and_one_digit_change_fails(year: str, serial: str) -> None:
    text = f"{year}/{serial}{pnc_check_character(year, serial)}"
    assert str(parse_pnc_id(text)) == text
    assert validate_pnc_id(text) == []
    i = 5  # first serial digit
    changed = text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :]
    [issue] = validate_pnc_id(changed)
    assert issue.code == "PNC_ID_CHECK_CHARACTER"
    assert issue.severity == "warning"


@pytest.mark.parametrize("bad", ["PNCidentifier", "Test PNC", "2004/123456A", "04/0123456A"])
def test_malformed_pnc_id_is_an_error(bad: str) -> None:
    [issue] = validate_pnc_id(bad)
    assert issue.code == "PNC_ID_FORMAT"
    assert issue.severity == "error"


@given(st.text("0123456789", min_size=1, max_size=6), digits(2), st.booleans())
def test_generated_cro_round_trips_and_wrong_letter_fails(serial: str, year: str, sf: bool) -> None:
    check = cro_check_character(year, serial, sf=sf)
    text = f"SF{year}/{serial}{check}" if sf else f"{serial}/{year}{check}"
    assert str(parse_cro(text)) == text
    assert validate_cro(text) == []
    other = CHECK_TABLE[(CHECK_TABLE.index(check) + 1) % 23]
    assert codes(validate_cro(text[:-1] + other)) == ["CRO_CHECK_CHARACTER"]


@pytest.mark.parametrize("bad", ["12345", "CROnumber0", "1234567/08A"])
def test_malformed_cro(bad: str) -> None:
    assert codes(validate_cro(bad)) == ["CRO_FORMAT"]


# --- offence, OU and result codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("TH68001", ("TH", "68", "001", "", "statute")),
        ("SX03001A", ("SX", "03", "001", "A", "statute")),
        ("AA60A01", ("AA", "60", "A01", "", "statute")),
        ("COML025", ("COML", "", "025", "", "common_law")),
        ("COML016C", ("COML", "", "016", "C", "common_law")),
        ("01CL85001", ("01", "", "CL85001", "", "local")),
    ],
)
def test_parse_offence_code(text: str, parts: tuple[str, ...]) -> None:
    code = parse_offence_code(text)
    assert (code.act, code.year, code.section, code.qualifier, code.kind) == parts
    assert str(code) == text
    assert validate_offence_code(text) == []


@pytest.mark.parametrize("bad", ["OffenceC", "TH6800", "th68001", "T", "TH68001AB"])
def test_bad_offence_code(bad: str) -> None:
    assert codes(validate_offence_code(bad)) == ["OFFENCE_CODE_FORMAT"]


@pytest.mark.parametrize("text", ["B01EF01", "116BH00", "A01AH00", "01ZD00", "C234567", "Z000000"])
def test_ou_codes(text: str) -> None:
    assert validate_ou_code(text) == []
    assert str(parse_ou_code(text)) == text


@pytest.mark.parametrize("bad", ["DUMMY", "CourtHeari", "K01EF01", "b01ef01", "B01EF0"])
def test_bad_ou_codes(bad: str) -> None:
    assert codes(validate_ou_code(bad)) == ["OU_CODE_FORMAT"]


def test_result_codes() -> None:
    assert validate_result_code("1015") == []
    assert codes(validate_result_code("101")) == ["RESULT_CODE_FORMAT"]
    assert codes(validate_result_code("10150")) == ["RESULT_CODE_FORMAT"]


# --- real samples -------------------------------------------------------------------------------

needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} is absent")


def sample_values(*elements: str) -> Iterator[tuple[str, str]]:
    """(file, value) of every element with one of these local names, also inside escaped XML."""
    pattern = re.compile(rf"(?:<|&lt;)(?:\w+:)?({'|'.join(elements)})(?:>|&gt;)([^<&]*)(?:<|&lt;)")
    for path in sorted(SAMPLES.rglob("*.xml")):
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            yield str(path.relative_to(SAMPLES)), m.group(2).strip()


# Deliberately broken ASNs in the samples, with the issue each must raise (docs/identifiers.md).
BROKEN_ASNS = {
    "": "ASN_FORMAT",  # 271-invalid-ptiurn-asn
    "BROKEN_ASN": "ASN_FORMAT",  # 414, 418
    "007007": "ASN_FORMAT",  # hmcts-spi/PoliceCase.xml
    "ProsecutorReference0": "ASN_FORMAT",  # placeholder in an SPI sample
    "1101ZD010000410836V": "ASN_FORMAT",  # results/083: 10-digit sequence
    "1101ZD0100000410804A": "ASN_CHECK_CHARACTER",  # results/405 (new-case has ...K)
    "1101ZD0100000448754A": "ASN_CHECK_CHARACTER",  # results/428 (new-case has ...K)
    "1201ZD0100000445099P": "ASN_CHECK_CHARACTER",  # results/142a (new-case has ...L)
    "1564NP0004361000333N": "ASN_CHECK_CHARACTER",  # hmcts-cps CP20 fixtures: made up
    "1900NP0004361000203N": "ASN_CHECK_CHARACTER",
    "1900NP0004361000543N": "ASN_CHECK_CHARACTER",
}


@needs_samples
def test_every_sample_asn_validates_except_the_known_broken_ones() -> None:
    values = list(sample_values("ProsecutorReference", "ASN"))
    assert len(values) >= 100
    valid = set()
    for file, value in values:
        found = codes(validate_asn(value))
        expected = [BROKEN_ASNS[value]] if value in BROKEN_ASNS else []
        assert found == expected, f"{file}: {value!r}"
        if not found:
            valid.add(value)
    assert len(valid) >= 60
    assert "0901VK0100000342547V" in valid  # 190-correcting-invalid-asn: its ASN is well-formed


@needs_samples
def test_sample_ptiurns_offence_and_result_codes() -> None:
    bad_urns = {v for _, v in sample_values("PTIURN", "URN") if validate_ptiurn(v)}
    assert bad_urns == {"01zd0300108", "70", "URN_NUMBER", "XXXXXXXXX"}
    bad_offences = {v for _, v in sample_values("OffenceCode") if validate_offence_code(v)}
    assert bad_offences <= {"OffenceCode0", "OffenceC"}
    results = [v for _, v in sample_values("ResultCode")]
    assert results
    assert all(validate_result_code(v) == [] for v in results)


@needs_samples
def test_sample_ou_codes() -> None:
    elements = ("CourtHearingLocation", "OriginatingOrganisation", "CPSorganisation", "OUCode")
    bad = {v for _, v in sample_values(*elements) if validate_ou_code(v)}
    assert all(v.startswith(("Court", "Originatin", "CPSorg")) for v in bad), bad
