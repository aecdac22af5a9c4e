"""The `exchange` CLI contract other tools rely on: validate and transform."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.samples import DEMO_CASE

pytestmark = pytest.mark.e2e


def _exchange(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exchange.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_validate_prints_one_json_line_per_file(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(DEMO_CASE)
    bad = tmp_path / "bad.xml"
    bad.write_bytes(DEMO_CASE.replace(b"<Gender>1</Gender>", b"<Gender>x</Gender>"))
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<NewCaseMessage><Case>")
    done = _exchange("validate", str(good), str(bad), str(broken))
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["path"], r["valid"]) for r in lines] == [
        (str(good), True),
        (str(bad), False),
        (str(broken), False),
    ]
    assert lines[0]["format"] == "spi-new-case"
    assert lines[1]["errors"][0]["code"] == "SCHEMA_INVALID"
    assert lines[1]["errors"][0]["location"].endswith("/Gender")
    assert lines[2]["errors"][0]["code"] == "XML_MALFORMED"
    assert set(lines[2]["errors"][0]) >= {"code", "message", "location"}


def test_validate_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(DEMO_CASE)
    assert _exchange("validate", str(good)).returncode == 0
    assert _exchange("validate", str(tmp_path / "missing.xml")).returncode == 2
    assert _exchange("validate").returncode == 2


def test_transform_to_canonical(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(DEMO_CASE)
    done = _exchange("transform", "--to", "canonical", str(good))
    assert done.returncode == 0, done.stderr
    message = json.loads(done.stdout)
    assert message["envelope"]["message_type"] == "case-file"
    assert message["envelope"]["case_urn"] == "01ZD0312526"
    assert message["payload"]["defendants"][0]["offences"][0]["code"] == "TH68001"


def test_transform_invalid_input_reports_to_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<NewCaseMessage")
    done = _exchange("transform", "--to", "canonical", str(bad))
    assert done.returncode == 1
    assert done.stdout == ""
    assert json.loads(done.stderr.splitlines()[0])["code"] == "XML_MALFORMED"


def test_transform_to_destination_formats(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(DEMO_CASE)
    court = _exchange("transform", "--to", "dcs-case-json", str(good))
    assert court.returncode == 0, court.stderr
    record = json.loads(court.stdout)
    assert record["caseUrn"] == "01ZD0312526"
    assert "ethnicity" not in court.stdout.lower()  # minimised for the court
    cms = _exchange("transform", "--to", "cms-case-json", str(good))
    assert cms.returncode == 0
    assert json.loads(cms.stdout)["messageId"]
    wrong = _exchange("transform", "--to", "police-outcome-xml", str(good))
    assert wrong.returncode == 2
    assert "case-file goes to" in wrong.stderr
    unknown = _exchange("transform", "--to", "fax", str(good))
    assert unknown.returncode == 2
