"""Test documents: the project's own demo case, and variations of it."""

from __future__ import annotations

from exchange.settings import REPO_ROOT

DEMO_CASE = (REPO_ROOT / "deploy" / "demo" / "new-case.xml").read_bytes()
DEMO_PTIURN = "01ZD0312526"


def new_case(ptiurn: str = DEMO_PTIURN, *, wording: str | None = None) -> bytes:
    """The demo case under another PTIURN (and optionally other offence wording)."""
    doc = DEMO_CASE.replace(DEMO_PTIURN.encode(), ptiurn.encode())
    if wording is not None:
        doc = doc.replace(
            b"Stole a bicycle to the value of 350 pounds belonging to a neighbour.",
            wording.encode(),
        )
    return doc


def ptiurn(serial: int, force: str = "01", year: str = "26") -> str:
    return f"{force}ZD{serial:05d}{year}"
