"""CPS Principal Offence Category (POC) of an offence, derived from standing data.

The rule (docs/identifiers.md has the reasoning): the Home Office offence class when the offence
has one; else summary motoring (category CM); else words in the title; else what most classified
offences of the same act are; else "all other offences (excluding motoring)", with the reason.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from exchange.standingdata.models import Offence

__all__ = ["PRINCIPAL_OFFENCE_CATEGORIES", "PocDecision", "PocClassifier"]

HOMICIDE = "homicide"
PERSON = "offences against the person"
SEXUAL = "sexual offences"
BURGLARY = "burglary"
ROBBERY = "robbery"
THEFT = "theft and handling"
FRAUD = "fraud and forgery"
DAMAGE = "criminal damage"
DRUGS = "drugs offences"
PUBLIC_ORDER = "public order offences"
OTHER = "all other offences (excluding motoring)"
MOTORING = "motoring offences"

PRINCIPAL_OFFENCE_CATEGORIES: tuple[str, ...] = (
    HOMICIDE, PERSON, SEXUAL, BURGLARY, ROBBERY, THEFT,
    FRAUD, DAMAGE, DRUGS, PUBLIC_ORDER, OTHER, MOTORING,
)  # fmt: skip


def _classes(spec: str) -> list[str]:
    """'001-004 036' -> ['001', '002', '003', '004', '036']."""
    out: list[str] = []
    for part in spec.split():
        lo, _, hi = part.partition("-")
        out.extend(f"{n:03d}" for n in range(int(lo), int(hi or lo) + 1))
    return out


# Home Office offence classes (the Counting Rules' notifiable and summary classes) by POC.
# Classes not listed (e.g. 062 treason, 067 perjury, 080 escape, 099 other indictable, the
# summary regulatory classes 1xx) are "all other offences".
_HO_CLASS_TO_POC: dict[str, str] = {
    **dict.fromkeys(_classes("001-004"), HOMICIDE),
    **dict.fromkeys(_classes("005-015 036 076 104-105"), PERSON),
    **dict.fromkeys(_classes("016-027 070-074 086 088 107 165-167 175"), SEXUAL),
    **dict.fromkeys(_classes("028-031 033"), BURGLARY),
    **dict.fromkeys(_classes("034"), ROBBERY),
    **dict.fromkeys(_classes("035 037 039-049 054 126 130-131"), THEFT),
    **dict.fromkeys(_classes("038 051-053 055 060-061 082 172 814"), FRAUD),
    **dict.fromkeys(_classes("056-059 149"), DAMAGE),
    **dict.fromkeys(_classes("077 092-093"), DRUGS),
    **dict.fromkeys(_classes("064-066 125 140-141 145"), PUBLIC_ORDER),
    **dict.fromkeys([c for c in _classes("802-825") if c != "814"], MOTORING),
}

# Title words, tried in this order, for offences with no Home Office class.
_TITLE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (poc, re.compile(pattern, re.IGNORECASE))
    for poc, pattern in (
        (HOMICIDE, r"\bmurder|manslaughter|infanticide|\bcaus\w* (the )?death"),
        (SEXUAL, r"\brape\b|sexual|indecen|buggery|incest|prostitut|brothel|voyeur|groom"),
        (ROBBERY, r"\brobbery"),
        (BURGLARY, r"burglary|going equipped"),
        (THEFT, r"\btheft|\bsteal|stolen|without (the )?owner'?s consent|shoplift|make off"),
        (FRAUD, r"fraud|forg[ei]|counterfeit|false instrument|deception|dishonest"),
        (DAMAGE, r"criminal damage|arson|damag\w* (to )?property|destroy or damage"),
        (DRUGS, r"controlled drug|class [abc] drug|cannabis|psychoactive"),
        (PERSON, r"assault|wound|grievous|bodily harm|kidnap|false imprisonment|threat\w* to kill"
                 r"|cruelty to (a )?child|strangl|harass|stalk|battery|beating|offensive weapon"
                 r"|bladed article"),
        (PUBLIC_ORDER, r"affray|violent disorder|\briot\b|public order|threatening|abusive"
                       r"|drunk and disorderly|breach of the peace"),
    )
)  # fmt: skip

# An act's classified offences decide for its unclassified ones only when they mostly agree.
_ACT_MAJORITY_SHARE = 0.8
_ACT_MAJORITY_MIN = 5
# Catch-all classes ("not classified", "other indictable", 999, 555) tell nothing by themselves.
_UNCLASSIFIED = {"000", "099", "999", "555", ""}


@dataclass(frozen=True, slots=True)
class PocDecision:
    """A POC with the rule that chose it, for audit and for operators."""

    category: str
    reason: str


def _act(code: str) -> str | None:
    """The act part of a statute code (TH of TH68001); None for common law and local codes."""
    if re.fullmatch(r"[A-Z]{2}\d{2}[0-9A-Z]\d{2}[A-Z]?", code) and not code.startswith("COML"):
        return code[:2]
    return None


class PocClassifier:
    """Maps offences to POCs; built once from all offences (the act majorities need them all)."""

    def __init__(self, offences: Iterable[Offence]) -> None:
        votes: dict[str, Counter[str]] = defaultdict(Counter)
        for offence in offences:
            act = _act(offence.code)
            direct = self._direct(offence)
            if act and direct:
                votes[act][direct.category] += 1
        self._act_majority: dict[str, tuple[str, int, int]] = {}
        for act, counter in votes.items():
            (poc, n), total = counter.most_common(1)[0], sum(counter.values())
            if total >= _ACT_MAJORITY_MIN and n / total >= _ACT_MAJORITY_SHARE:
                self._act_majority[act] = (poc, n, total)

    @staticmethod
    def _direct(offence: Offence) -> PocDecision | None:
        """The decision from the offence's own classification, if it has one."""
        ho = offence.home_office_class
        if ho in _HO_CLASS_TO_POC:
            poc = _HO_CLASS_TO_POC[ho]
            return PocDecision(poc, f"Home Office class {offence.home_office_classification}")
        if offence.category == "CM":
            return PocDecision(MOTORING, "offence category CM (summary motoring)")
        if ho not in _UNCLASSIFIED:
            # A specific Home Office class outside the eleven named POCs (perjury, escape, bail,
            # regulatory summary classes): the classification itself says "other".
            return PocDecision(
                OTHER, f"Home Office class {offence.home_office_classification} has no named POC"
            )
        return None

    def classify(self, offence: Offence) -> PocDecision:
        """The POC of one offence, with the reason."""
        if decision := self._direct(offence):
            return decision
        for poc, pattern in _TITLE_RULES:
            if offence.title and (m := pattern.search(offence.title)):
                return PocDecision(poc, f"offence title contains {m.group(0)!r}")
        act = _act(offence.code)
        if act and act in self._act_majority:
            poc, n, total = self._act_majority[act]
            return PocDecision(poc, f"{n} of {total} classified offences of act {act} are {poc}")
        ho = offence.home_office_classification
        why = (
            "no Home Office class"
            if offence.home_office_class in _UNCLASSIFIED
            else f"Home Office class {ho}"
        )
        return PocDecision(
            OTHER, f"fallback: {why}, category {offence.category}, no title or act rule matched"
        )
