"""Every error code the hub can report is in the one catalogue, docs/errors.md."""

from __future__ import annotations

import re

from exchange.settings import REPO_ROOT

CATALOGUE = (REPO_ROOT / "docs" / "errors.md").read_text()
SOURCES = [
    p
    for top in ("exchange", "adapters", "transforms")
    for p in (REPO_ROOT / top).rglob("*.py")
    if "bench" not in p.parts
]
# A code is an UPPER_SNAKE literal where an issue or error is made.
CONTEXT = re.compile(
    r"(Issue\(|code\s*=|_reject\(|_refuse\(|Problem\(|_invalid\(|problem\(|_issue\(|_check\()"
)
CODE = re.compile(r'"([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+)"')
NOT_CODES = {"EXCHANGE_ERROR"}


def _codes_in_source() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in SOURCES:
        lines = path.read_text().splitlines()
        for n, line in enumerate(lines):
            window = " ".join(lines[max(0, n - 2) : n + 1])
            if CONTEXT.search(window):
                for code in CODE.findall(line):
                    found.setdefault(code, f"{path.relative_to(REPO_ROOT)}:{n + 1}")
    return {c: where for c, where in found.items() if c not in NOT_CODES}


def test_every_code_is_catalogued() -> None:
    codes = _codes_in_source()
    assert len(codes) > 40, "the scan found too few codes: is the pattern still right?"
    missing = {c: where for c, where in codes.items() if f"`{c}`" not in CATALOGUE}
    assert not missing, f"add these codes to docs/errors.md: {missing}"
