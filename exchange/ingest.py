"""Accepting a message from an agency: validate, store raw + canonical + outbox row in one
transaction, answer with the message id. Nothing given to the hub is lost: a rejected message
is stored too, with its errors, for ops."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exchange import audit, documents, formats, metrics, tenancy
from exchange.db.engine import transaction
from exchange.db.tables import message_keys, messages, outbox
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

    @property
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

    @property
    def accepted(self) -> bool:
        return self.status != "rejected"

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
        async with transaction(self._engine) as conn:
            stored = await _insert_message(
                conn, sub, message_id, status="rejected", errors=errors, canonical=None
            )
            if stored is None:
                return await self._race_winner(conn, sub)
            await audit.record(
                conn,
                "rejected",
                actor=sub.client_id,
                message_id=message_id,
                detail={"errors": errors},
            )
        metrics.record_ingest(sub.agency.value, None, "rejected", [e["code"] for e in errors])
        return Receipt(message_id, "rejected", None, None, errors=errors)

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
        message = CanonicalMessage(envelope, payload)
        canonical = message.to_dict()
        warning_dicts = [w.to_dict() for w in warnings]
        async with transaction(self._engine) as conn:
            stored = await _insert_message(
                conn,
                sub,
                message_id,
                status="validated",
                errors=warning_dicts or None,
                canonical=canonical,
                envelope=envelope,
                fmt=inbound.format,
                asns=inbound.asns(payload),
            )
            if stored is None:
                return await self._race_winner(conn, sub)
            await documents.put_many(conn, parsed.documents)
            await conn.execute(
                outbox.insert().values(
                    message_id=message_id,
                    topic=self._topic_prefix + envelope.topic,
                    key=envelope.case_urn,
                    value=message.encode(),
                    headers=headers_for(envelope, sub.traceparent),
                )
            )
            await audit.record(
                conn,
                "validated",
                actor=sub.client_id,
                message_id=message_id,
                case_urn=envelope.case_urn,
                detail={"format": inbound.format, "warnings": warning_dicts},
            )
        metrics.record_ingest(sub.agency.value, inbound.format, "validated")
        return Receipt(
            message_id,
            "validated",
            envelope.case_urn,
            envelope.message_type.value,
            warnings=warning_dicts,
        )

    async def _correlation_of(
        self, causation_id: uuid.UUID | None, warnings: list[Issue]
    ) -> uuid.UUID | None:
        """The correlation id of the message that caused this one, if the hub holds it."""
        if causation_id is None:
            return None
        async with transaction(self._engine) as conn:
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


async def _insert_message(
    conn: AsyncConnection,
    sub: Submission,
    message_id: uuid.UUID,
    *,
    status: str,
    errors: list[dict[str, Any]] | None,
    canonical: dict[str, Any] | None,
    envelope: Envelope | None = None,
    fmt: str | None = None,
    asns: list[str] | None = None,
) -> uuid.UUID | None:
    claimed = (
        await conn.execute(
            insert(message_keys)
            .values(client_id=sub.client_id, idempotency_key=sub.key, message_id=message_id)
            .on_conflict_do_nothing(index_elements=["client_id", "idempotency_key"])
            .returning(message_keys.c.received_at)
        )
    ).scalar_one_or_none()
    if claimed is None:
        return None
    await conn.execute(
        insert(messages).values(
            message_id=message_id,
            idempotency_key=sub.key,
            client_id=sub.client_id,
            message_type=envelope.message_type.value if envelope else None,
            schema_version=envelope.schema_version if envelope else None,
            format=fmt,
            case_urn=envelope.case_urn if envelope else None,
            asns=asns or [],
            source_agency=sub.agency.value,
            source_system=sub.system,
            source_org=sub.organisation,
            status=status,
            content_type=sub.content_type[:100],
            raw=sub.raw,
            raw_sha256=sub.sha256,
            canonical=canonical,
            errors=errors,
            correlation_id=envelope.correlation_id if envelope else message_id,
            received_at=claimed,
        )
    )
    return message_id


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
