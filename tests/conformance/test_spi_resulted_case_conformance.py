"""Our ResultedCaseMessage adapter against the published Libra SPI result schema, over every
court results sample.

The published schema, validated with xmlschema (not the libxml2 our adapter uses), is the
oracle: we must accept exactly what it accepts, map what we accept (PTIURN, defendants,
offences and results as the XML has them) and reject the rest with located issues. Every
results sample is valid against it, so mutations of the samples (each element removed or
repeated, and value edits at the edges of each lexical rule) supply the rejections.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from adapters.courts.spi_results import parse_resulted_case
from exchange.domain.errors import InvalidMessage
from exchange.formats import detect

from .conftest import shared_dir

pytestmark = pytest.mark.conformance

LIBRA = "{http://www.dca.gov.uk/xmlschemas/libra}"
BS = "{http://www.govtalk.gov.uk/people/bs7666}"
DELIVER = "{http://schemas.cjse.gov.uk/messages/deliver/2006-05}"
PUBLISHED = Path("standards/spi/CPP-StdProsPoliceResult-v1-2.xsd")


def _result_samples() -> list[Path]:
    folder = shared_dir() / "samples" / "bichard-e2e" / "results"
    return sorted(folder.glob("*.xml")) if folder.is_dir() else []


SAMPLES = _result_samples()


@cache
def _published(shared: Path) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(shared / PUBLISHED))


def _payload(raw: bytes) -> etree._Element:
    """The ResultedCaseMessage element, unwrapped independently of exchange.formats."""
    root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    if root.tag == DELIVER + "DeliverRequest":
        return next(c for c in root.find(DELIVER + "Message") if isinstance(c.tag, str))
    return root


def _published_accepts(shared: Path, element: etree._Element) -> bool:
    return bool(_published(shared).is_valid(element))


def _our_verdict(raw: bytes) -> str:
    """``accepts``, ``rejects``, or ``rejects without saying where`` (never a match)."""
    try:
        parse_resulted_case(raw)
    except InvalidMessage as exc:
        located = bool(exc.issues) and all(i.location.startswith("/") for i in exc.issues)
        return "rejects" if located else "rejects without saying where"
    return "accepts"


def test_samples_were_found(shared: Path) -> None:
    assert len(SAMPLES) >= 60


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_verdict_matches_published_schema(shared: Path, sample: Path) -> None:
    raw = sample.read_bytes()
    element = _payload(raw)
    assert detect(raw).format == "spi-resulted-case"
    if not _published_accepts(shared, element):
        with pytest.raises(InvalidMessage) as info:
            parse_resulted_case(raw)
        assert info.value.issues
        assert all(i.location.startswith("/") and i.line for i in info.value.issues)
        return
    outcome = parse_resulted_case(raw)
    cases = element.findall(f"{LIBRA}Session/{LIBRA}Case")
    defendants = [c.find(f"{LIBRA}Defendant") for c in cases]
    assert outcome.ptiurn == cases[0].findtext(f"{LIBRA}PTIURN").strip()
    assert len(outcome.defendants) == len(defendants)
    assert [len(d.offences) for d in outcome.defendants] == [
        len(d.findall(f"{LIBRA}Offence")) for d in defendants
    ]
    assert [len(o.results) for d in outcome.defendants for o in d.offences] == [
        len(o.findall(f"{LIBRA}Result")) for d in defendants for o in d.findall(f"{LIBRA}Offence")
    ]
    assert outcome.asns == [d.findtext(f"{LIBRA}ProsecutorReference").strip() for d in defendants]


def _structural_mutants(element: etree._Element) -> Iterator[tuple[str, bytes]]:
    tree = element.getroottree()
    for index, node in enumerate(element.iter()):
        if node is element or not isinstance(node.tag, str):
            continue
        path = tree.getpath(node)
        for action in ("remove", "repeat"):
            mutant = copy.deepcopy(element)
            target = list(mutant.iter())[index]
            if action == "remove":
                target.getparent().remove(target)
            else:
                target.addnext(copy.deepcopy(target))
            yield f"{action} {path}", etree.tostring(mutant)


# Rich samples between them carry every optional part the results samples use.
MUTATED = [
    p
    for p in SAMPLES
    if p.name
    in {"212-electronic-tagging.xml", "434-next-hearing-date-nextui.xml", "293-drug-driving.xml"}
]


@pytest.mark.parametrize("sample", MUTATED, ids=[p.name for p in MUTATED])
def test_structural_mutations_get_the_published_verdict(shared: Path, sample: Path) -> None:
    element = _payload(sample.read_bytes())
    disagreements, count = [], 0
    for label, raw in _structural_mutants(element):
        count += 1
        expected = "accepts" if _published_accepts(shared, etree.fromstring(raw)) else "rejects"
        ours = _our_verdict(raw)
        if ours != expected:
            disagreements.append(f"{label}: published {expected}, ours {ours}")
    assert count > 100
    assert disagreements == []


def _set(name: str, value: str) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        target = root.find(f".//{LIBRA}{name}")
        if target is None:  # the sample has no such element: nothing to edit
            raise LookupError(name)
        target.text = value

    return edit


def _outcome(xml: str) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        result = root.find(f".//{LIBRA}Result")
        for old in result.findall(f"{LIBRA}Outcome"):
            result.remove(old)
        result.append(etree.fromstring(f'<Outcome xmlns="{LIBRA[1:-1]}">{xml}</Outcome>'))

    return edit


def _address(xml: str) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        address = root.find(f".//{LIBRA}CourtIndividualDefendant/{LIBRA}Address")
        for old in list(address):
            address.remove(old)
        address.append(
            etree.fromstring(
                f'<ComplexAddress xmlns="{LIBRA[1:-1]}" xmlns:b="{BS[1:-1]}">{xml}</ComplexAddress>'
            )
        )

    return edit


def _qualifiers(n: int) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        text = root.find(f".//{LIBRA}ResultText")
        for _ in range(n):
            text.addnext(
                etree.fromstring(
                    f'<ResultCodeQualifier xmlns="{LIBRA[1:-1]}">BA</ResultCodeQualifier>'
                )
            )

    return edit


def _attribute(name: str, value: str) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        root.set(name, value)

    return edit


VALUE_EDITS: dict[str, Callable[[etree._Element], None]] = {
    "PTIURN of 11": _set("PTIURN", "01ZD0300108"),
    "PTIURN of 12": _set("PTIURN", "01ZD03001088"),
    "result code padded": _set("ResultCode", " 1015 "),
    "result code 0": _set("ResultCode", "0"),
    "result code 10000": _set("ResultCode", "10000"),
    "result code letters": _set("ResultCode", "10A5"),
    "plea 88": _set("Plea", "88"),
    "plea 89": _set("Plea", "89"),
    "mode of trial 100": _set("ModeOfTrial", "100"),
    "PSA code 3 digits": _set("PSAcode", "257"),
    "PSA code 5 digits": _set("PSAcode", "02576"),
    "hearing 30 February": _set("DateOfHearing", "2011-02-30"),
    "hearing time with offset": _set("TimeOfHearing", "10:00:00+01:00"),
    "gender 3": _set("Gender", "3"),
    "gender 9": _set("Gender", "9"),
    "bail status 2 chars": _set("BailStatus", "UU"),
    "final disposal empty": _set("FinalDisposalIndicator", ""),
    "offence date code 7": _set("OffenceDateCode", "7"),
    "family name 36": _set("PersonFamilyName", "X" * 36),
    "family name with pipe": _set("PersonFamilyName", "A|B"),
    "amount 100.00": _outcome("<ResultAmountSterling>100.00</ResultAmountSterling>"),
    "amount 1.500": _outcome("<ResultAmountSterling>1.500</ResultAmountSterling>"),
    "amount 1.234": _outcome("<ResultAmountSterling>1.234</ResultAmountSterling>"),
    "amount negative": _outcome("<ResultAmountSterling>-1</ResultAmountSterling>"),
    "amount 15 digits": _outcome("<ResultAmountSterling>123456789012345</ResultAmountSterling>"),
    "penalty points 100": _outcome("<PenaltyPoints>100</PenaltyPoints>"),
    "duration periods": _outcome(
        "<Duration><DurationStartDate>2011-01-01</DurationStartDate>"
        "<DurationEndDate>2011-02-01</DurationEndDate><DurationEndDate>2011-03-01</DurationEndDate>"
        "</Duration>"
    ),
    "duration unit without value": _outcome("<Duration><DurationUnit>M</DurationUnit></Duration>"),
    "duration secondary first": _outcome(
        "<Duration><SecondaryDurationValue>1</SecondaryDurationValue>"
        "<SecondaryDurationUnit>M</SecondaryDurationUnit><DurationValue>2</DurationValue>"
        "<DurationUnit>M</DurationUnit></Duration>"
    ),
    "complex address": _address(
        "<b:PAON>0012A     High House</b:PAON>"
        "<b:StreetDescription>High Street</b:StreetDescription>"
        "<b:Town>Kingston</b:Town><b:PostCode>KT1 1AA</b:PostCode>"
    ),
    "complex address bad postcode": _address(
        "<b:PAON>0012A</b:PAON><b:StreetDescription>High Street</b:StreetDescription>"
        "<b:Town>Kingston</b:Town><b:PostCode>kt1 1aa</b:PostCode>"
    ),
    "4 qualifiers": _qualifiers(4),
    "5 qualifiers": _qualifiers(5),
    "wrong flow": _attribute("Flow", "NewCasesFromThePolice"),
    "unknown attribute": _attribute("Extra", "1"),
}


@pytest.mark.parametrize("edit", list(VALUE_EDITS), ids=list(VALUE_EDITS))
def test_value_edits_get_the_published_verdict(shared: Path, edit: str) -> None:
    disagreements = []
    verdicts = set()
    for sample in SAMPLES:
        element = copy.deepcopy(_payload(sample.read_bytes()))
        try:
            VALUE_EDITS[edit](element)
        except LookupError:
            continue
        raw = etree.tostring(element)
        expected = "accepts" if _published_accepts(shared, etree.fromstring(raw)) else "rejects"
        verdicts.add(expected)
        ours = _our_verdict(raw)
        if ours != expected:
            disagreements.append(f"{sample.name}: published {expected}, ours {ours}")
    assert disagreements == []
    assert verdicts  # every edit was judged at least once
