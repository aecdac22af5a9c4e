"""Errors of the hub: each has a stable code, an HTTP status and a ``retriable`` flag.

One handler in the API maps them to responses; retry code reads ``retriable`` instead of
listing exception types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a message: a stable code, a sentence an operator can act on,
    and where it is (XPath for XML, JSON pointer for JSON, plus the line when known)."""

    code: str
    message: str
    location: str = ""
    line: int | None = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ExchangeError(Exception):
    """Base of every error the hub raises on purpose."""

    code: str = "EXCHANGE_ERROR"
    http_status: int = 500
    retriable: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


@dataclass(eq=False)
class InvalidMessage(ExchangeError):
    """The message cannot be accepted as it stands: malformed, schema-invalid or failing a
    data-quality rule. Carries every issue found, not just the first."""

    issues: list[Issue] = field(default_factory=list)
    summary: str = "message rejected"

    code = "MESSAGE_INVALID"
    http_status = 422
    retriable = False

    def __post_init__(self) -> None:
        ExchangeError.__init__(self, self.summary)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "errors": [i.to_dict() for i in self.issues],
        }


class UnsupportedFormat(ExchangeError):
    """The document's root element or namespace is not a format this endpoint takes."""

    code = "FORMAT_UNSUPPORTED"
    http_status = 415


class NotFound(ExchangeError):
    code = "NOT_FOUND"
    http_status = 404


class Conflict(ExchangeError):
    code = "CONFLICT"
    http_status = 409


class ServiceUnavailable(ExchangeError):
    """A dependency (database, broker) is down; the caller should retry later."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    retriable = True
