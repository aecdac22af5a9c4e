"""Is a new JSON Schema backward compatible with the old one? That is: does every document the
old schema accepted still validate? Checked structurally, keyword by keyword; where the answer
cannot be proved (a changed pattern, say) the change is reported as breaking."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_TIGHTER_IF_LOWER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_TIGHTER_IF_HIGHER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Each way ``new`` rejects something ``old`` accepted, as ``"<path>: <what>"``."""
    return _Walker(old, new).compare(old, new, "#")


class _Walker:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._roots = (old_root, new_root)
        self._seen: set[tuple[int, int]] = set()
        self._held: list[tuple[Any, Any]] = []  # keeps ids in _seen from being reused

    def _resolve(self, schema: Any, root: Schema) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                return schema  # external references are out of scope
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest} if rest else target
        return schema

    def compare(self, old: Any, new: Any, path: str) -> list[str]:
        old = self._resolve(old, self._roots[0])
        new = self._resolve(new, self._roots[1])
        key = (id(old), id(new))
        if key in self._seen or old is False or new is True or new == {}:
            return []
        self._seen.add(key)
        self._held.append((old, new))
        if old is True or old == {}:
            return [f"{path}: now constrained where anything was accepted"]
        if not isinstance(old, dict) or not isinstance(new, dict):
            return [] if old == new else [f"{path}: schema changed shape"]
        if "anyOf" in new or "oneOf" in new or "anyOf" in old or "oneOf" in old:
            return self._alternatives(old, new, path)
        found: list[str] = []
        found += self._types(old, new, path)
        found += self._values(old, new, path)
        found += self._objects(old, new, path)
        if "items" in new:
            found += self.compare(old.get("items", {}), new["items"], f"{path}/items")
        return found

    def _alternatives(self, old: Schema, new: Schema, path: str) -> list[str]:
        olds = old.get("anyOf") or old.get("oneOf") or [old]
        news = new.get("anyOf") or new.get("oneOf") or [new]
        found = []
        for n, alt in enumerate(olds):
            if not any(not self._fresh().compare(alt, cand, path) for cand in news):
                found.append(f"{path}: alternative {n + 1} of the old schema is no longer accepted")
        return found

    def _fresh(self) -> _Walker:
        return _Walker(*self._roots)

    def _types(self, old: Schema, new: Schema, path: str) -> list[str]:
        if "type" not in new:
            return []
        if "type" not in old:
            return [f"{path}: type {new['type']!r} now required"]
        olds = set(old["type"] if isinstance(old["type"], list) else [old["type"]])
        news = set(new["type"] if isinstance(new["type"], list) else [new["type"]])
        if "number" in news:
            news.add("integer")
        lost = olds - news
        return [f"{path}: no longer accepts type {sorted(lost)}"] if lost else []

    def _values(self, old: Schema, new: Schema, path: str) -> list[str]:
        found = []
        if "enum" in new:
            lost = [v for v in old.get("enum", [None, "<any>"]) if v not in new["enum"]]
            if "enum" not in old or lost:
                found.append(f"{path}: enum no longer allows {lost or 'values it allowed'}")
        if "const" in new and new["const"] != old.get("const", object()):
            found.append(f"{path}: const {new['const']!r} added or changed")
        for word in ("pattern", "format"):
            if word in new and new[word] != old.get(word):
                found.append(f"{path}: {word} added or changed to {new[word]!r}")
        for word in _TIGHTER_IF_LOWER:
            if word in new and (word not in old or new[word] < old[word]):
                found.append(f"{path}: {word} tightened to {new[word]}")
        for word in _TIGHTER_IF_HIGHER:
            if word in new and (word not in old or new[word] > old[word]):
                found.append(f"{path}: {word} tightened to {new[word]}")
        return found

    def _objects(self, old: Schema, new: Schema, path: str) -> list[str]:
        found = []
        added = set(new.get("required", [])) - set(old.get("required", []))
        if added:
            found.append(f"{path}: newly required properties {sorted(added)}")
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        closed = new.get("additionalProperties") is False
        if closed and old.get("additionalProperties", True) is not False:
            found.append(f"{path}: additional properties no longer allowed")
        for name, old_prop in old_props.items():
            if name in new_props:
                found += self.compare(old_prop, new_props[name], f"{path}/properties/{name}")
            elif closed:
                found.append(f"{path}: property {name!r} removed")
        return found
