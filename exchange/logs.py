"""Structured JSON logs (structlog): one object per line, with message and correlation ids
bound where they are known.

Two processors run before rendering, on every event: secrets are redacted (authorization
headers, tokens, webhook secrets, passwords in database URLs) and personal data is masked
(names, dates of birth, addresses, phone numbers, e-mail, ethnicity), at any depth of the
event. Logs leave the trust boundary (log shippers, support staff); case data must not.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Final

import structlog

__all__ = ["configure", "mask_personal_data", "redact_secrets", "scrub"]

REDACTED: Final = "[REDACTED]"
MASKED: Final = "[MASKED]"

# Keys compared after normalising: lower case, camelCase split, "-" and " " as "_".
_SECRET_KEYS: Final = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "bearer",
        "secret",
        "client_secret",
        "webhook_secret",
        "hmac_secret",
        "signing_key",
        "private_key",
        "api_key",
        "password",
        "passwd",
        "x_api_key",
        "x_hub_signature",
    }
)
_SECRET_PARTS: Final = ("secret", "password", "token", "authorization", "private_key")
_PERSONAL_KEYS: Final = frozenset(
    {
        "name",
        "names",
        "full_name",
        "given_name",
        "given_names",
        "given_name1",
        "given_name2",
        "given_name3",
        "forename",
        "forenames",
        "first_name",
        "middle_name",
        "family_name",
        "surname",
        "last_name",
        "person_name",
        "defendant_name",
        "title",
        "birth_date",
        "date_of_birth",
        "dob",
        "address",
        "address_lines",
        "address_line1",
        "address_line2",
        "postcode",
        "post_code",
        "phone",
        "phone_number",
        "telephone",
        "mobile",
        "email",
        "email_address",
        "ethnicity",
        "self_defined_ethnicity",
        "officer_defined_ethnicity",
        "gender",
        "nationality",
    }
)
_PERSONAL_PARTS: Final = ("birth", "address", "phone", "email", "ethnic", "surname", "forename")

_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# user:password@ in any URL; Bearer tokens and JWTs inside free text.
_URL_PASSWORD: Final = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]*@")
_BEARER: Final = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_JWT: Final = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_MAX_DEPTH: Final = 12


def _normal(key: str) -> str:
    return _CAMEL.sub("_", key).lower().replace("-", "_").replace(" ", "_")


def _is_secret(key: str) -> bool:
    return key in _SECRET_KEYS or any(p in key for p in _SECRET_PARTS)


def _is_personal(key: str) -> bool:
    return key in _PERSONAL_KEYS or any(p in key for p in _PERSONAL_PARTS)


def _scrub_text(text: str) -> str:
    text = _URL_PASSWORD.sub(r"\g<head>" + REDACTED + "@", text)
    text = _BEARER.sub(r"\1 " + REDACTED, text)
    return _JWT.sub(REDACTED, text)


def scrub(value: Any, *, depth: int = 0) -> Any:
    """A copy of ``value`` with secrets redacted and personal data masked, at any depth."""
    if depth > _MAX_DEPTH:
        return MASKED
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict | MutableMapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = _normal(str(key))
            if _is_secret(name):
                out[key] = REDACTED
            elif _is_personal(name) and item not in (None, "", [], {}):
                out[key] = MASKED
            else:
                out[key] = scrub(item, depth=depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [scrub(v, depth=depth + 1) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: secrets and personal data out of every event (see :func:`scrub`)."""
    return scrub(event_dict)  # type: ignore[no-any-return]


# One processor does both jobs; the second name documents the masking for readers of configure.
mask_personal_data = redact_secrets


def configure(level: str = "INFO", *, json: bool = True) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
