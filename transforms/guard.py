"""Turning a mapping failure into located issues, for every XML → canonical transform."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lxml import etree
from pydantic import ValidationError

from exchange.domain.errors import InvalidMessage, Issue
from exchange.xmlsafe import element_path

T = TypeVar("T")


class Unmappable(Exception):
    """A value the schema allows but the canonical model cannot hold (e.g. year 10000)."""

    def __init__(self, element: etree._Element, message: str) -> None:
        super().__init__(message)
        self.element = element


def guarded(build: Callable[[], T], root: etree._Element, *, source: str, target: str) -> T:
    """Run ``build``; an ``Unmappable`` value or a model validation error becomes an
    ``InvalidMessage`` whose issues say where (XPath and line, or canonical part and field)."""
    try:
        return build()
    except Unmappable as exc:
        issue = Issue(
            code="VALUE_UNSUPPORTED",
            message=str(exc),
            location=element_path(exc.element, within=root.getparent()),
            line=exc.element.sourceline,
        )
        raise InvalidMessage(issues=[issue], summary=f"{source} has unsupported values") from None
    except ValidationError as exc:
        # Parts are built bottom-up, so the location names the canonical part and field.
        issues = [
            Issue(
                code="CANONICAL_INVALID",
                message=f"{exc.title}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
                location="/".join([exc.title, *(str(p) for p in err["loc"])]),
            )
            for err in exc.errors()
        ]
        raise InvalidMessage(
            issues=issues, summary=f"{source} does not map to a {target}"
        ) from None
