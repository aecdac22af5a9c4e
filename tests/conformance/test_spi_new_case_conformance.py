"""Our NewCaseMessage adapter against the published Libra SPI schema, over every real sample.

The verdict of the published schema (validated with xmlschema, a different implementation
from the libxml2 our adapter uses) is the oracle: we must accept exactly what it accepts,
map what we accept, and reject the rest with located issues. Mutations of valid samples
(each element removed, each element repeated) widen the comparison beyond the samples.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from adapters.police.spi import parse_new_case
from exchange.domain.errors import InvalidMessage
from exchange.formats import detect
from exchange.registry import Registry
from exchange.standingdata import StandingData
from exchange.validation import validate_document

from .conftest import shared_dir

pytestmark = pytest.mark.conformance

LIBRA = "{http://www.dca.gov.uk/xmlschemas/libra}"
DELIVER = "{http://schemas.cjse.gov.uk/messages/deliver/2006-05}"
ENTITY = "{http://schemas.cjse.gov.uk/common/businessentities}"
PUBLISHED = Path("standards/spi/CPP-StdProsPoliceCase-v1-2.xsd")


def _new_case_samples() -> list[Path]:
    samples = shared_dir() / "samples"
    if not samples.is_dir():
        return []
    # Selected by content, not by our detector, so the detector is tested too.
    return sorted(p for p in samples.rglob("*.xml") if b"NewCaseMessage" in p.read_bytes())


SAMPLES = _new_case_samples()
REGISTRY = Registry.discover()
STANDING = StandingData.load()


@cache
def _published(shared: Path) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(shared / PUBLISHED))


def _payload(raw: bytes) -> etree._Element:
    """The NewCaseMessage element, unwrapped independently of exchange.formats."""
    root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    if root.tag == DELIVER + "DeliverRequest":
        return next(c for c in root.find(DELIVER + "Message") if isinstance(c.tag, str))
    content = root.find(f".//{ENTITY}DataStreamContent")
    if content is not None:
        return etree.fromstring(content.text.strip().encode())
    return root


def _published_accepts(shared: Path, element: etree._Element) -> bool:
    return bool(_published(shared).is_valid(element))


def _our_verdict(raw: bytes) -> str:
    """``accepts``, ``rejects``, or ``rejects without saying where`` (never a match).

    The hub's whole inbound path decides: format detection, our XSD, mapping and the
    data-quality rules (whose errors would also reject)."""
    result = validate_document(raw, REGISTRY, STANDING)
    if result.valid:
        parse_new_case(raw)  # and it maps
        return "accepts"
    errors = [i for i in result.issues if i.severity == "error"]
    located = bool(errors) and all(i.location for i in errors)
    return "rejects" if located else "rejects without saying where"


def test_samples_were_found(shared: Path) -> None:
    assert len(SAMPLES) >= 60


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_verdict_matches_published_schema(shared: Path, sample: Path) -> None:
    raw = sample.read_bytes()
    element = _payload(raw)
    assert detect(raw).format == "spi-new-case"
    if not _published_accepts(shared, element):
        with pytest.raises(InvalidMessage) as info:
            parse_new_case(raw)
        assert info.value.issues
        assert all(i.location.startswith("/") for i in info.value.issues)
        return
    case = parse_new_case(raw)
    defendants = element.findall(f"{LIBRA}Case/{LIBRA}Defendant")
    assert case.case.ptiurn == element.findtext(f"{LIBRA}Case/{LIBRA}PTIURN").strip()
    assert len(case.defendants) == len(defendants)
    assert [len(d.offences) for d in case.defendants] == [
        len(d.findall(f"{LIBRA}Offence")) for d in defendants
    ]


def test_published_schema_rejects_some_samples(shared: Path) -> None:
    verdicts = [_published_accepts(shared, _payload(p.read_bytes())) for p in SAMPLES]
    assert any(verdicts)
    assert not all(verdicts)


def _mutants(element: etree._Element) -> Iterator[tuple[str, bytes]]:
    tree = element.getroottree()
    for index, node in enumerate(element.iter()):
        if node is element or not isinstance(node.tag, str):
            continue
        path = tree.getpath(node)
        removed = copy.deepcopy(element)
        target = list(removed.iter())[index]
        target.getparent().remove(target)
        yield f"remove {path}", etree.tostring(removed)
        repeated = copy.deepcopy(element)
        target = list(repeated.iter())[index]
        target.addnext(copy.deepcopy(target))
        yield f"repeat {path}", etree.tostring(repeated)


MUTATED = [p for p in SAMPLES if p.name in {"PoliceCase.xml", "013-extra-offence-on-pnc.xml"}]


@pytest.mark.parametrize("sample", MUTATED, ids=[p.name for p in MUTATED])
def test_mutations_get_the_published_verdict(shared: Path, sample: Path) -> None:
    element = _payload(sample.read_bytes())
    disagreements = []
    count = 0
    for label, raw in _mutants(element):
        count += 1
        expected = "accepts" if _published_accepts(shared, etree.fromstring(raw)) else "rejects"
        ours = _our_verdict(raw)
        if ours != expected:
            disagreements.append(f"{label}: published {expected}, ours {ours}")
    assert count > 50
    assert disagreements == []
