"""Tenancy: which cases, deliveries and documents a client may see, and what it may submit.

A client's token carries its roles (scopes) and, for most agency systems, an ``org``:

* police: the two-digit force code (``01``). It sees the cases whose PTIURN starts with its
  force code, and only its own force's outcomes and decisions.
* court: its OU code (``B01EF01``). It sees what was delivered to it (cases listed at it).
* CPS: its unit's OU code (``A01AH00``). It sees what was delivered to its unit.
* an agency client without ``org`` is national: it sees everything for its role.
* ``ops`` sees everything; ``manager`` sees aggregate figures only, never case data.

Another tenant's case is *invisible*: the caller gets the same 404 as for a message that does
not exist, so ids cannot be probed. A caller with the wrong role gets 403.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from sqlalchemy import ColumnElement, and_, cast, exists, false, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH

from exchange.auth import Forbidden, Principal
from exchange.db.tables import deliveries, messages
from exchange.domain.envelope import Agency

__all__ = [
    "AGENCY_ROLES",
    "CASE_ROLES",
    "CrossTenantSubmission",
    "check_submission",
    "delivery_filter",
    "document_filter",
    "force_of",
    "message_filter",
    "require_case_access",
]

AGENCY_ROLES: Final = ("police", "cps", "court")
CASE_ROLES: Final = frozenset({"police", "cps", "court", "ops"})
# A document is referenced wherever a delivery or canonical message names its SHA-256.
_REFERENCES_DOCUMENT: Final = "$.** ? (@.sha256 == $sha256)"


class CrossTenantSubmission(Forbidden):
    """A client submitted a case that belongs to another tenant (a force posting another
    force's PTIURN)."""

    code = "TENANCY_FORBIDDEN"


class Tenant(Protocol):
    """Anything that names the submitting organisation: a Principal, or ingest's Submission."""

    @property
    def organisation(self) -> str | None: ...


def force_of(case_urn: str | None) -> str | None:
    """The police force code of a PTIURN: its first two digits."""
    if not case_urn or len(case_urn) < 2 or not case_urn[:2].isdigit():
        return None
    return case_urn[:2]


def require_case_access(principal: Principal) -> None:
    """403 for clients that may not read case data at all (``manager``: figures only)."""
    if not principal.roles & CASE_ROLES:
        raise Forbidden(
            f"client {principal.client_id!r} may not read case data; it needs one of the "
            f"scopes {', '.join(sorted(CASE_ROLES))}",
            code="CASE_DATA_FORBIDDEN",
        )


def check_submission(principal: Tenant, agency: Agency | str, case_urn: str, payload: Any) -> None:
    """Refuse a submission for another tenant's case: a police client may only send case
    files and charge requests for its own force (PTIURN force code = its ``org``).

    ``payload`` is the canonical payload, for rules that need more than the PTIURN."""
    del payload  # the PTIURN is enough for the rules so far
    org = principal.organisation
    if Agency(agency) is not Agency.POLICE or not org:
        return
    force = force_of(case_urn)
    if force != org:
        raise CrossTenantSubmission(
            f"case {case_urn!r} belongs to police force {force or '(unknown)'!r}; a client of "
            f"force {org!r} may only submit its own force's cases"
        )


def _startswith(column: Any, prefix: str) -> ColumnElement[bool]:
    # left() instead of LIKE: the prefix comes from a token and needs no escaping.
    return func.left(column, len(prefix)) == prefix


def message_filter(principal: Principal) -> ColumnElement[bool] | None:
    """The messages a caller may see, as a condition on ``messages``; ``None`` means all."""
    if "ops" in principal.roles:
        return None
    org = principal.organisation
    seen: list[ColumnElement[bool]] = [messages.c.client_id == principal.client_id]
    for role in AGENCY_ROLES:
        if role not in principal.roles:
            continue
        delivered = deliveries.c.message_id == messages.c.message_id
        to_role = and_(delivered, deliveries.c.destination == role)
        if role == "police" and org:
            seen.append(_startswith(messages.c.case_urn, org))
            seen.append(and_(messages.c.source_agency == role, messages.c.source_org == org))
        elif org:
            seen.append(and_(messages.c.source_agency == role, messages.c.source_org == org))
            seen.append(exists().where(to_role, deliveries.c.destination_org == org))
        else:
            seen.append(messages.c.source_agency == role)
            seen.append(exists().where(to_role))
    return or_(*seen)


def delivery_filter(principal: Principal, destination: str) -> ColumnElement[bool] | None:
    """The deliveries to ``destination`` a caller may take; ``None`` means all of them."""
    org = principal.organisation
    if org is None:
        return None
    if destination == "police":
        # A force's own cases, and only deliveries addressed to it (or to no force).
        return and_(
            _startswith(deliveries.c.case_urn, org),
            func.coalesce(deliveries.c.destination_org, org) == org,
        )
    return deliveries.c.destination_org == org


def document_filter(principal: Principal, sha256: str) -> ColumnElement[bool] | None:
    """Whether a caller may fetch a document, as a condition; ``None`` means any document.

    A court (or CPS unit) may fetch a document only when a delivery to it references it; a
    CPS unit also the documents it served itself. National clients and ops read any."""
    if "ops" in principal.roles:
        return None
    org = principal.organisation
    readers = [r for r in ("cps", "court") if r in principal.roles]
    if not readers:
        return false()
    if org is None:
        return None
    variables = literal({"sha256": sha256}, JSONB)
    path = cast(literal(_REFERENCES_DOCUMENT), JSONPATH)
    delivered = exists().where(
        deliveries.c.destination.in_(readers),
        deliveries.c.destination_org == org,
        func.jsonb_path_exists(deliveries.c.payload, path, variables).is_(True),
    )
    served = exists().where(
        messages.c.source_agency.in_(readers),
        messages.c.source_org == org,
        messages.c.status != "rejected",
        func.jsonb_path_exists(messages.c.canonical, path, variables).is_(True),
    )
    return or_(delivered, served)


def visible(condition: ColumnElement[bool] | None) -> Any:
    """``SELECT <condition>`` for an existence check; true when unrestricted."""
    return select(literal(True) if condition is None else condition)
