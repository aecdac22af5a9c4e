"""An XSD change is accepted only if the stored corpus of past accepted messages still
validates against it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from exchange.domain.errors import InvalidMessage, Issue, UnsupportedFormat
from exchange.formats import detect


@dataclass(frozen=True)
class Breakage:
    document: str
    issues: list[Issue]


def load_xsd(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def corpus_breakages(xsd: Path, corpus: Iterable[tuple[str, bytes]]) -> tuple[int, list[Breakage]]:
    """Validate every document (envelopes unwrapped) against ``xsd``; returns how many were
    checked and those that no longer validate."""
    schema = load_xsd(xsd)
    checked = 0
    broken: list[Breakage] = []
    for name, raw in corpus:
        checked += 1
        try:
            element = detect(raw, huge_tree=True).element
        except (InvalidMessage, UnsupportedFormat) as exc:
            issues = (
                exc.issues if isinstance(exc, InvalidMessage) else [Issue(exc.code, exc.message)]
            )
            broken.append(Breakage(name, issues))
            continue
        if not schema.validate(element):
            broken.append(
                Breakage(
                    name,
                    [
                        Issue("SCHEMA_INVALID", e.message, e.path or "", e.line or None)
                        for e in schema.error_log
                    ],
                )
            )
    return checked, broken


def files_corpus(directory: Path) -> Iterable[tuple[str, bytes]]:
    for path in sorted(directory.rglob("*.xml")):
        yield str(path), path.read_bytes()
