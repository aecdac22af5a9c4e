"""Every file in ../shared/samples gets a clear verdict from `exchange validate`'s code path:
the XML ones are recognised as the format they are (their per-format conformance tests decide
valid or not against the published schemas); a document no agency sends the hub (HMCTS's
internal JSON rendering of an SPI case) is refused as unsupported, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.registry import Registry
from exchange.standingdata import StandingData
from exchange.validation import validate_document

from .conftest import shared_dir

pytestmark = pytest.mark.conformance

SAMPLES = (
    sorted(p for p in (shared_dir() / "samples").rglob("*") if p.is_file())
    if (shared_dir() / "samples").is_dir()
    else []
)
REGISTRY = Registry.discover()
STANDING = StandingData.load()
EXPECTED_FORMAT = {
    "new-case": "spi-new-case",
    "results": "spi-resulted-case",
    "hmcts-cps": "cp20",
}


def test_samples_were_found(shared: Path) -> None:
    assert len(SAMPLES) >= 125


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_gets_a_verdict(shared: Path, sample: Path) -> None:
    result = validate_document(sample.read_bytes(), REGISTRY, STANDING)
    if sample.suffix == ".json":
        assert not result.valid
        assert result.issues[0].code == "FORMAT_UNSUPPORTED"
        assert "documentType" in result.issues[0].message
        return
    expected = EXPECTED_FORMAT.get(sample.parent.name, "spi-new-case")
    assert result.format == expected
    if not result.valid:
        errors = [i for i in result.issues if i.severity == "error"]
        assert errors
        assert all(i.code and i.message and i.location for i in errors)
