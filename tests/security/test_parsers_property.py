"""Property tests: random bytes and mutated samples into format detection and every
adapter's parse path raise nothing but InvalidMessage or UnsupportedFormat."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.domain.errors import InvalidMessage, UnsupportedFormat
from exchange.formats import detect
from exchange.registry import Registry
from exchange.settings import REPO_ROOT
from exchange.validation import validate_document
from tests.support.samples import DEMO_CASE

REGISTRY = Registry.discover()
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SAMPLES = [DEMO_CASE] + [
    p.read_bytes()
    for p in sorted(FIXTURES.rglob("*"))
    if p.suffix in (".xml", ".json") and p.stat().st_size < 200_000
]
EXPECTED = (InvalidMessage, UnsupportedFormat)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    doc = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(doc) - 1)))
        if kind == "flip" and doc:
            doc[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del doc[at:]
        elif kind == "insert":
            doc[at:at] = draw(st.sampled_from([b"<", b"&", b"]]>", b"{", b'"', b"\xff", b"<x>"]))
        elif doc:
            del doc[at : at + draw(st.integers(1, 50))]
    return bytes(doc)


def _parse(raw: bytes) -> None:
    try:
        detected = detect(raw)
    except EXPECTED:
        return
    for adapter in REGISTRY.adapters:
        for inbound in adapter.inbound:
            if inbound.format != detected.format:
                continue
            try:
                inbound.parse(detected)
            except EXPECTED:
                pass


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    _parse(raw)
    _parse(b"<" + raw)
    _parse(b"{" + raw)


@FAST
@given(mutated())
def test_mutated_samples(raw: bytes) -> None:
    _parse(raw)


@settings(max_examples=25, deadline=None)
@given(mutated())
def test_validate_document_never_raises(raw: bytes) -> None:
    result = validate_document(raw, REGISTRY)
    assert result.valid or result.issues


def test_samples_are_there() -> None:
    assert len(SAMPLES) > 5
    assert all(isinstance(Path(p), Path) for p in [FIXTURES])
