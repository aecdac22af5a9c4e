"""Accepting a message from an agency: validate, store raw + canonical + outbox row in one
transaction, answer with the message id. Nothing given to the hub is lost: a rejected message
is stored too, with its errors, for ops."""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import structlog
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import audit, documents, formats, metrics, tenancy
from exchange.db.engine import transaction
from exchange.db.tables import message_keys, messages
from exchange.domain.documents import Parsed
from exchange.domain.envelope import Agency, Envelope, Party
from exchange.domain.errors import Conflict, ExchangeError, InvalidMessage, Issue, UnsupportedFormat
from exchange.domain.payloads import SCHEMA_VERSION
from exchange.messaging.codec import CanonicalMessage
from exchange.messaging.headers import headers_for
from exchange.registry import Inbound, Registry
from exchange.standingdata import StandingData

# Above this size, XML may carry text nodes (base64 documents) over libxml2's 10 MB default.
HUGE_DOCUMENT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class TokenUse:
    """The HTTP request a submission came in: ingest records its ``token.used`` audit event
    in the transaction that stores the message, with the status the caller is answered."""

    token_id: str | None
    method: str
    path: str


@dataclass(frozen=True)
class Submission:
    """One HTTP (or CLI) submission of a document by an agency system."""

    raw: bytes
    content_type: str
    client_id: str
    agency: Agency
    system: str
    organisation: str | None = None
    idempotency_key: str | None = None
    traceparent: str | None = None
    token_use: TokenUse | None = None

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def key(self) -> str:
        # Without a key from the sender, the same bytes from the same client are the same
        # message: a blind retry must not create a second case.
        return self.idempotency_key or f"sha256:{self.sha256}"


@dataclass(frozen=True)
class Receipt:
    message_id: uuid.UUID
    status: str
    case_urn: str | None
    message_type: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False
    # True when the request's ``token.used`` event was committed with the message.
    token_use_recorded: bool = field(default=False, compare=False)

    @property
    def accepted(self) -> bool:
        return self.status != "rejected"

    @property
    def http_status(self) -> int:
        """The status the caller is answered: 202 accepted, else by the errors' codes."""
        if self.accepted:
            return 202
        codes = {e.get("code") for e in self.errors}
        if codes == {tenancy.CrossTenantSubmission.code}:
            return tenancy.CrossTenantSubmission.http_status
        return 415 if codes <= {"FORMAT_UNSUPPORTED"} else 422

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": str(self.message_id),
            "status": self.status,
            "case_urn": self.case_urn,
            "message_type": self.message_type,
        }
        if self.errors:
            body["code"] = self.errors[0]["code"] if len(self.errors) == 1 else "MESSAGE_INVALID"
            body["errors"] = self.errors
        if self.warnings:
            body["warnings"] = self.warnings
        return body


class Ingest:
    """The use case behind every agency's POST endpoint."""

    def __init__(
        self,
        engine: AsyncEngine,
        registry: Registry,
        standing: StandingData,
        *,
        topic_prefix: str = "",
        max_bytes: int = 5 * 1024 * 1024,
    ) -> None:
        self._max_bytes = max_bytes
        self._standing = standing
        self._engine = engine
        # One statement is its own transaction: no BEGIN and COMMIT round trips around it.
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._registry = registry
        self._topic_prefix = topic_prefix

    async def submit(self, sub: Submission) -> Receipt:
        # No look-up first: the insert itself detects a repeated key (ON CONFLICT), and only
        # then is the earlier message read, which saves a transaction on every new message.
        try:
            inbound, parsed, warnings = self._parse(sub)
        except ExchangeError as exc:
            return await self._store_rejected(sub, exc)
        return await self._store_accepted(sub, inbound, parsed, warnings)

    def _parse(self, sub: Submission) -> tuple[Inbound, Parsed, list[Issue]]:
        detected = formats.detect(
            sub.raw, max_bytes=self._max_bytes, huge_tree=len(sub.raw) > HUGE_DOCUMENT_BYTES
        )
        try:
            inbound = self._registry.inbound(sub.agency, detected.format)
        except LookupError:
            accepted = [i.format for i in self._registry.adapter(sub.agency).inbound]
            raise UnsupportedFormat(
                f"{sub.agency.value} systems may not send {detected.format!r} documents "
                f"here; this endpoint accepts {', '.join(accepted) or 'nothing yet'}"
            ) from None
        parsed = inbound.parse(detected)
        tenancy.check_submission(sub, sub.agency, inbound.case_urn(parsed.payload), parsed.payload)
        issues = inbound.quality(parsed.payload, self._standing)
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            raise InvalidMessage(issues=errors, summary=f"{len(errors)} data-quality error(s)")
        return inbound, parsed, issues

    async def _store_rejected(self, sub: Submission, exc: ExchangeError) -> Receipt:
        if isinstance(exc, InvalidMessage):
            errors = [i.to_dict() for i in exc.issues]
        else:
            errors = [Issue(code=exc.code, message=exc.message).to_dict()]
        message_id = uuid.uuid4()
        receipt = Receipt(
            message_id,
            "rejected",
            None,
            None,
            errors=errors,
            token_use_recorded=sub.token_use is not None,
        )
        params = _store_params(
            sub,
            message_id,
            status="rejected",
            errors=errors,
            canonical=None,
            correlation_id=message_id,
            event="rejected",
            detail={"errors": errors},
            token_use=_token_use(sub, receipt),
        )
        if not await self._store(params):
            return await self._replayed(sub)
        metrics.record_ingest(sub.agency.value, None, "rejected", [e["code"] for e in errors])
        return receipt

    async def _store_accepted(
        self, sub: Submission, inbound: Inbound, parsed: Parsed, warnings: list[Issue]
    ) -> Receipt:
        payload = parsed.payload
        correlation_id = await self._correlation_of(inbound.causation_id(payload), warnings)
        envelope = new_envelope(
            self._registry,
            inbound,
            payload,
            Party(agency=sub.agency, system=sub.system, organisation=sub.organisation),
            correlation_id,
        )
        message_id = envelope.message_id
        structlog.contextvars.bind_contextvars(
            message_id=str(message_id),
            correlation_id=str(envelope.correlation_id),
            case_urn=envelope.case_urn,
        )
        # Encoded once: the outbox row's value, and (the same JSON) the message's canonical.
        value = CanonicalMessage(envelope, payload).encode()
        warning_dicts = [w.to_dict() for w in warnings]
        receipt = Receipt(
            message_id,
            "validated",
            envelope.case_urn,
            envelope.message_type.value,
            warnings=warning_dicts,
            token_use_recorded=sub.token_use is not None,
        )
        params = _store_params(
            sub,
            message_id,
            status="validated",
            errors=warning_dicts or None,
            canonical=value,
            correlation_id=envelope.correlation_id,
            event="validated",
            detail={"format": inbound.format, "warnings": warning_dicts},
            token_use=_token_use(sub, receipt),
            envelope=envelope,
            fmt=inbound.format,
            asns=inbound.asns(payload),
            outbox={
                "topic": self._topic_prefix + envelope.topic,
                "value": value,
                "headers": _json(headers_for(envelope, sub.traceparent)),
            },
        )
        if not await self._store(params, parsed.documents):
            return await self._replayed(sub)
        metrics.record_ingest(sub.agency.value, inbound.format, "validated")
        return receipt

    async def _store(self, params: dict[str, Any], docs: list[Any] | None = None) -> bool:
        """Run :data:`STORE`; False when the idempotency key was claimed before (nothing
        stored). Documents are kept in the same transaction, once the key is claimed."""
        if not docs:
            async with transaction(self._single) as conn:
                return (await conn.execute(STORE, params)).first() is not None
        async with transaction(self._engine) as conn:
            if (await conn.execute(STORE, params)).first() is None:
                return False
            await documents.put_many(conn, docs)
            return True

    async def _replayed(self, sub: Submission) -> Receipt:
        async with transaction(self._single) as conn:
            return await self._race_winner(conn, sub)

    async def _correlation_of(
        self, causation_id: uuid.UUID | None, warnings: list[Issue]
    ) -> uuid.UUID | None:
        """The correlation id of the message that caused this one, if the hub holds it."""
        if causation_id is None:
            return None
        async with transaction(self._single) as conn:
            found = (
                await conn.execute(
                    select(messages.c.correlation_id).where(messages.c.message_id == causation_id)
                )
            ).scalar_one_or_none()
        if found is None:
            warnings.append(
                Issue(
                    "CAUSATION_UNKNOWN",
                    f"this message answers message {causation_id}, which the hub does not hold",
                    "/causation_id",
                    severity="warning",
                )
            )
        return found

    async def _race_winner(self, conn: AsyncConnection, sub: Submission) -> Receipt:
        """The key was used before (a retry, or two identical submissions racing): the same
        answer as the first time, or a conflict if the document is not the same."""
        key = (
            await conn.execute(
                select(message_keys.c.message_id, message_keys.c.received_at).where(
                    message_keys.c.client_id == sub.client_id,
                    message_keys.c.idempotency_key == sub.key,
                )
            )
        ).one()
        row = (
            await conn.execute(
                select(messages).where(
                    messages.c.message_id == key.message_id,
                    messages.c.received_at == key.received_at,
                )
            )
        ).one()
        if row.raw_sha256 != sub.sha256:
            raise Conflict(
                f"Idempotency-Key {sub.key!r} was already used for a different document "
                f"(message {row.message_id}); use a new key for a new message",
                code="IDEMPOTENCY_KEY_REUSED",
            )
        return _receipt_from_row(row, replayed=True)


def new_envelope(
    registry: Registry,
    inbound: Inbound,
    payload: BaseModel,
    source: Party,
    correlation_id: uuid.UUID | None = None,
) -> Envelope:
    """The envelope of a message entering the hub: a new id; it joins the correlation of the
    message that caused it, or starts its own."""
    message_id = uuid.uuid4()
    now = datetime.now(UTC)
    return Envelope(
        message_id=message_id,
        message_type=inbound.message_type,
        schema_version=SCHEMA_VERSION,
        case_urn=inbound.case_urn(payload),
        source=source,
        destinations=[
            Party(agency=o.destination, system=o.format)
            for o in registry.outbound_for(inbound.message_type)
        ],
        correlation_id=correlation_id or message_id,
        causation_id=inbound.causation_id(payload),
        occurred_at=now,
        received_at=now,
    )


# Everything an ingest stores, in one statement and so in one transaction. The idempotency
# key is claimed first (``message_keys``); the message, its outbox row and its audit events
# (the ``validated`` or ``rejected`` event, then the request's ``token.used``) are inserted
# only from the claimed row, so a key used before stores nothing and the statement returns
# no row. An accepted message has an outbox row (``topic`` set), a rejected one none.
STORE: Final = text(
    """
WITH claimed AS (
    INSERT INTO message_keys (client_id, idempotency_key, message_id)
    VALUES (CAST(:client_id AS varchar), CAST(:idempotency_key AS varchar),
            CAST(:message_id AS uuid))
    ON CONFLICT (client_id, idempotency_key) DO NOTHING
    RETURNING message_id, received_at
), stored AS (
    INSERT INTO messages (
        message_id, idempotency_key, client_id, message_type, schema_version, format,
        case_urn, asns, source_agency, source_system, source_org, status, content_type, raw,
        raw_sha256, canonical, errors, correlation_id, received_at
    )
    SELECT message_id, CAST(:idempotency_key AS varchar), CAST(:client_id AS varchar),
        CAST(:message_type AS varchar), CAST(:schema_version AS varchar),
        CAST(:format AS varchar), CAST(:case_urn AS varchar), CAST(:asns AS varchar[]),
        CAST(:source_agency AS varchar), CAST(:source_system AS varchar),
        CAST(:source_org AS varchar), CAST(:status AS varchar),
        CAST(:content_type AS varchar), CAST(:raw AS bytea), CAST(:raw_sha256 AS varchar),
        CAST(CAST(:canonical AS text) AS jsonb), CAST(CAST(:errors AS text) AS jsonb),
        CAST(:correlation_id AS uuid), received_at
    FROM claimed
    RETURNING message_id
), queued AS (
    INSERT INTO outbox (message_id, topic, key, value, headers)
    SELECT message_id, CAST(:topic AS varchar), CAST(:case_urn AS varchar),
        CAST(:value AS bytea), CAST(CAST(:headers AS text) AS jsonb)
    FROM stored
    WHERE CAST(:topic AS varchar) IS NOT NULL
), events AS (
    INSERT INTO audit_events (message_id, case_urn, event, actor, detail)
    SELECT e.message_id, e.case_urn, e.event, CAST(:client_id AS varchar), e.detail
    FROM stored CROSS JOIN LATERAL (
        VALUES (1, stored.message_id, CAST(:case_urn AS varchar), CAST(:event AS varchar),
                CAST(CAST(:detail AS text) AS jsonb)),
               (2, NULL, NULL, CAST(:token_event AS varchar),
                CAST(CAST(:token_use AS text) AS jsonb))
    ) AS e (n, message_id, case_urn, event, detail)
    WHERE e.detail IS NOT NULL
    ORDER BY e.n
)
SELECT received_at FROM claimed
"""
)


def _json(value: Any) -> str:
    """JSON text for a jsonb parameter (``None`` is the JSON ``null``, as SQLAlchemy's JSON
    type stores it)."""
    return orjson.dumps(value).decode()


def _store_params(
    sub: Submission,
    message_id: uuid.UUID,
    *,
    status: str,
    errors: list[dict[str, Any]] | None,
    canonical: bytes | None,
    correlation_id: uuid.UUID,
    event: str,
    detail: dict[str, Any],
    token_use: dict[str, Any] | None,
    envelope: Envelope | None = None,
    fmt: str | None = None,
    asns: list[str] | None = None,
    outbox: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The parameters of :data:`STORE`."""
    outbox = outbox or {"topic": None, "value": None, "headers": None}
    return {
        "client_id": sub.client_id,
        "idempotency_key": sub.key,
        "message_id": message_id,
        "message_type": envelope.message_type.value if envelope else None,
        "schema_version": envelope.schema_version if envelope else None,
        "format": fmt,
        "case_urn": envelope.case_urn if envelope else None,
        "asns": asns or [],
        "source_agency": sub.agency.value,
        "source_system": sub.system,
        "source_org": sub.organisation,
        "status": status,
        "content_type": sub.content_type[:100],
        "raw": sub.raw,
        "raw_sha256": sub.sha256,
        "canonical": canonical.decode() if canonical is not None else _json(None),
        "errors": _json(errors),
        "correlation_id": correlation_id,
        **outbox,
        "event": event,
        "detail": _json(detail),
        "token_event": audit.TOKEN_USED,
        "token_use": _json(token_use) if token_use is not None else None,
    }


def _token_use(sub: Submission, receipt: Receipt) -> dict[str, Any] | None:
    """The detail of the request's ``token.used`` event, written with the message."""
    use = sub.token_use
    if use is None:
        return None
    return audit.token_use(use.token_id, use.method, use.path, receipt.http_status)


def _receipt_from_row(row: Any, *, replayed: bool) -> Receipt:
    issues = row.errors or []
    rejected = row.status == "rejected"
    return Receipt(
        message_id=row.message_id,
        status=row.status,
        case_urn=row.case_urn,
        message_type=row.message_type,
        errors=issues if rejected else [],
        warnings=[] if rejected else issues,
        replayed=replayed,
    )
