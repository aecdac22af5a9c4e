"""Canonical JSON Schemas are generated, committed and checked for compatibility."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import orjson
import pytest

from exchange.schemas.compat import breaking_changes
from exchange.schemas.corpus import corpus_breakages
from exchange.schemas.generate import CANONICAL_DIR, generated_files
from exchange.settings import REPO_ROOT
from tests.support.samples import DEMO_CASE


def test_committed_canonical_schemas_match_the_models() -> None:
    files = generated_files()
    assert len(files) == 5
    stale = [str(p) for p, content in files.items() if not p.exists() or p.read_bytes() != content]
    assert not stale, "run `exchange schemas generate` and commit: " + ", ".join(stale)
    assert sorted(p.name for p in CANONICAL_DIR.glob("*.json")) == sorted(p.name for p in files)


@pytest.mark.parametrize("path", sorted(CANONICAL_DIR.glob("*.json")), ids=lambda p: p.name)
def test_canonical_schemas_are_valid_json_schema(path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(orjson.loads(path.read_bytes()))


BASE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["urn"],
    "properties": {
        "urn": {"type": "string", "maxLength": 16},
        "kind": {"enum": ["a", "b"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
    },
    "$defs": {"Tag": {"type": "string", "minLength": 1}},
}


def _changed(edit) -> list[str]:  # type: ignore[no-untyped-def]
    new = copy.deepcopy(BASE)
    edit(new)
    return breaking_changes(BASE, new)


def test_same_schema_is_compatible() -> None:
    assert breaking_changes(BASE, copy.deepcopy(BASE)) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s["properties"].update(extra={"type": "string"}),
        lambda s: s["properties"]["kind"].update(enum=["a", "b", "c"]),
        lambda s: s["properties"]["urn"].update(maxLength=20),
        lambda s: s.update(required=[]),
        lambda s: s["properties"]["note"]["anyOf"].append({"type": "integer"}),
        lambda s: s["$defs"]["Tag"].pop("minLength"),
    ],
    ids=[
        "optional-added",
        "enum-widened",
        "longer",
        "unrequired",
        "more-alternatives",
        "looser-ref",
    ],
)
def test_loosening_is_compatible(edit) -> None:  # type: ignore[no-untyped-def]
    assert _changed(edit) == []


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda s: s["required"].append("kind"), "newly required"),
        (lambda s: s["properties"].pop("note"), "removed"),
        (lambda s: s["properties"]["kind"].update(enum=["a"]), "enum"),
        (lambda s: s["properties"]["urn"].update(maxLength=10), "maxLength"),
        (lambda s: s["properties"]["urn"].update(pattern="^[0-9]+$"), "pattern"),
        (lambda s: s["properties"]["urn"].update(type="integer"), "type"),
        (lambda s: s["properties"]["note"].update(anyOf=[{"type": "string"}]), "alternative"),
        (lambda s: s["$defs"]["Tag"].update(minLength=3), "minLength"),
    ],
)
def test_tightening_is_breaking(edit, words: str) -> None:  # type: ignore[no-untyped-def]
    problems = _changed(edit)
    assert problems
    assert any(words in p for p in problems), problems


def test_an_xsd_that_rejects_stored_messages_breaks(tmp_path: Path) -> None:
    for xsd in (REPO_ROOT / "schemas" / "xsd").rglob("*.xsd"):
        target = tmp_path / xsd.relative_to(REPO_ROOT / "schemas" / "xsd")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(xsd.read_bytes())
    same = tmp_path / "police" / "spi-new-case-v1.xsd"
    corpus = [("demo", DEMO_CASE)]
    assert corpus_breakages(same, corpus) == (1, [])
    tightened = same.read_text().replace(
        '<xs:element name="Informant"', '<xs:element name="Informer"'
    )
    assert tightened != same.read_text(), "the schema no longer names Informant"
    same.write_text(tightened)
    checked, broken = corpus_breakages(same, corpus)
    assert checked == 1
    assert [b.document for b in broken] == ["demo"]
    assert "Informant" in broken[0].issues[0].message
