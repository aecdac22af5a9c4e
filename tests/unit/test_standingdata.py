"""CJS standing data from the npm package. `npm ci` (the Makefile) must have run: a missing
node_modules is a setup error and these tests fail saying so, rather than skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.standingdata import (
    PRINCIPAL_OFFENCE_CATEGORIES,
    StandingData,
    StandingDataUnavailable,
    default_directory,
)


@pytest.fixture(scope="module")
def sd() -> StandingData:
    assert (default_directory() / "offence-code.json").is_file(), (
        f"standing data not installed at {default_directory()}: run `npm ci` at the repo root"
    )
    return StandingData.load().preload()


def test_lists_have_sane_sizes(sd: StandingData) -> None:
    counts = sd.counts()
    assert counts["offences"] > 25_000
    assert counts["results"] > 800
    assert counts["organisation_units"] > 6_000
    assert counts["police_forces"] > 40
    assert counts["exception_definitions"] > 30


def test_offence_lookup(sd: StandingData) -> None:
    theft = sd.offence("TH68001")
    assert theft is not None
    assert "theft" in theft.title.lower()
    assert theft.category == "CE"
    assert theft.home_office_class == "039"
    assert theft.recordable_on_pnc
    assert theft.notifiable_to_home_office
    assert sd.offence("th68001 ") == theft
    assert sd.offence("BK68006") is None  # used by a Bichard7 sample as the unknown offence


def test_result_lookup(sd: StandingData) -> None:
    fine = sd.result("1015")
    assert fine is not None
    assert fine.description == "Fine"
    assert fine.type == "F"
    assert "B" in fine.qualifiers
    assert sd.result("0000") is None


@pytest.mark.parametrize(
    ("code", "found", "name"),
    [
        ("B01EF01", "B01EF00", "Croydon"),  # courtroom 01 resolves to its court
        ("B01LY00", "B01LY00", "Lavender Hill"),
        ("116BH00", "16BH00", "SCUNTHORPE POLICE STATION"),  # police: digit top level dropped
        ("01ZD00", "01ZD00", "CROYDON POLICE STATION CROYDON BOROUGH"),
    ],
)
def test_organisation_unit_lookup(sd: StandingData, code: str, found: str, name: str) -> None:
    unit = sd.organisation_unit(code)
    assert unit is not None
    assert unit.code == found
    assert unit.name == name


def test_organisation_unit_exact_and_absent(sd: StandingData) -> None:
    assert sd.organisation_unit("B01EF01", nearest=False) is None
    assert sd.organisation_unit("A01AH00") is None  # CPS units are not in the package
    assert sd.organisation_unit("not an OU") is None


def test_police_force(sd: StandingData) -> None:
    force = sd.police_force("16")
    assert force is not None
    assert force.name == "Humberside"
    assert sd.police_force("01") is not None
    assert sd.police_force("ZZ") is None


def test_exception_definition(sd: StandingData) -> None:
    definition = sd.exception_definition("HO100102")
    assert definition is not None
    assert definition.short_description == "Bad Date"


@pytest.mark.parametrize(
    ("code", "poc"),
    [
        ("TH68001", "theft and handling"),
        ("TH68010", "theft and handling"),
        ("RT88007", "motoring offences"),  # drive with excess alcohol
        ("RT88191", "motoring offences"),  # no insurance
        ("COML025", "homicide"),  # murder
        ("RT88338", "homicide"),  # cause death by careless driving when unfit
        ("OF61016", "offences against the person"),  # s.18 wounding with intent
        ("CJ88116", "offences against the person"),  # assault by beating
        ("SX03001", "sexual offences"),
        ("TH68037", "burglary"),
        ("MD71530", "drugs offences"),
        ("PU86003", "public order offences"),  # affray
        ("CD71039", "criminal damage"),
        ("TH78011", "fraud and forgery"),  # make off without payment (HO class 053)
        ("COML002", "offences against the person"),  # unclassified: by title (ABH)
        ("COML025A", "homicide"),  # attempt murder
    ],
)
def test_principal_offence_category(sd: StandingData, code: str, poc: str) -> None:
    assert poc in PRINCIPAL_OFFENCE_CATEGORIES
    assert sd.principal_offence_category(code) == poc


def test_poc_fallback_says_why(sd: StandingData) -> None:
    decision = sd.principal_offence_category_decision("BK68006")
    assert decision.category == "all other offences (excluding motoring)"
    assert "not in standing data" in decision.reason
    qualified = sd.principal_offence_category_decision("COML007C")  # no title of its own
    assert "base offence COML007" in qualified.reason


def test_every_offence_gets_one_of_the_twelve(sd: StandingData) -> None:
    seen = {sd.principal_offence_category(code) for code in ("TH68001", "RT88007", "COML025")}
    assert seen <= set(PRINCIPAL_OFFENCE_CATEGORIES)
    assert len(PRINCIPAL_OFFENCE_CATEGORIES) == 12


def test_check_offence_code(sd: StandingData) -> None:
    assert sd.check_offence_code("TH68001", "/x") == []
    [unknown] = sd.check_offence_code("BK68006", "/x")
    assert (unknown.code, unknown.severity, unknown.location) == (
        "OFFENCE_CODE_UNKNOWN",
        "warning",
        "/x",
    )
    [bad] = sd.check_offence_code("OffenceC")
    assert (bad.code, bad.severity) == ("OFFENCE_CODE_FORMAT", "error")


def test_check_ou_code(sd: StandingData) -> None:
    assert sd.check_ou_code("B01EF01") == []
    assert sd.check_ou_code("116BH00") == []
    assert sd.check_ou_code("A01AH00") == []  # CPS: the package cannot tell, so no warning
    [unknown] = sd.check_ou_code("B99ZZ00")
    assert (unknown.code, unknown.severity) == ("OU_CODE_UNKNOWN", "warning")
    assert [i.code for i in sd.check_ou_code("DUMMY")] == ["OU_CODE_FORMAT"]


def test_check_result_code(sd: StandingData) -> None:
    assert sd.check_result_code("1015") == []
    assert [i.code for i in sd.check_result_code("0000")] == ["RESULT_CODE_UNKNOWN"]
    assert [i.code for i in sd.check_result_code("10A5")] == ["RESULT_CODE_FORMAT"]


def test_load_from_argument_env_and_package_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package_root = default_directory().parent
    assert StandingData.load(package_root).directory == default_directory()
    monkeypatch.setenv("EXCHANGE_STANDING_DATA_DIR", str(default_directory()))
    assert StandingData.load().directory == default_directory()
    monkeypatch.setenv("EXCHANGE_STANDING_DATA_DIR", str(tmp_path))
    with pytest.raises(StandingDataUnavailable, match="npm ci"):
        StandingData.load()


def test_unreadable_list_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "offence-code.json").write_text("{not json")
    data = StandingData.load(tmp_path)
    with pytest.raises(StandingDataUnavailable, match="offence-code.json"):
        data.offence("TH68001")
