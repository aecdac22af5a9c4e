"""The hub's PostgreSQL tables (SQLAlchemy Core). Migrations in ``migrations/`` create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)

# Every message the hub was given, accepted or not: raw bytes, canonical form, state.
# Partitioned by month on ``received_at`` (exchange/db/partitions.py); ``message_keys`` holds
# the idempotency key and the message id uniquely across months.
messages = Table(
    "messages",
    metadata,
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("client_id", String(100), nullable=False),
    Column("message_type", String(40), nullable=True),
    Column("schema_version", String(10), nullable=True),
    Column("format", String(40), nullable=True),
    Column("case_urn", String(20), nullable=True),
    Column("asns", ARRAY(String(25)), nullable=False, server_default=text("'{}'")),
    Column("source_agency", String(20), nullable=False),
    Column("source_system", String(64), nullable=False),
    Column("source_org", String(16), nullable=True),
    Column("status", String(20), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column("canonical", JSONB, nullable=True),
    Column("errors", JSONB, nullable=True),
    Column("correlation_id", UUID(as_uuid=True), nullable=False),
    Column("causation_id", UUID(as_uuid=True), nullable=True),
    Column("replay_count", Integer, nullable=False, server_default=text("0")),
    Column("received_at", TS, nullable=False, server_default=func.now()),
    Column("updated_at", TS, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("message_id", "received_at"),
    Index(None, "case_urn"),
    Index("ix_messages_asns", "asns", postgresql_using="gin"),
    Index(None, "source_agency", "received_at"),
    Index(None, "message_type", "received_at"),
    Index(None, "status", "received_at"),
    Index(None, "received_at"),
    postgresql_partition_by="RANGE (received_at)",
)

# One row per accepted or rejected submission, unpartitioned: the ingest idempotency guard,
# written in the same transaction as the message.
message_keys = Table(
    "message_keys",
    metadata,
    Column("client_id", String(100), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("received_at", TS, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("client_id", "idempotency_key"),
    Index(None, "received_at"),
)

# Rows to publish to Kafka; written in the same transaction as the message.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("topic", String(120), nullable=False),
    Column("key", String(40), nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Column("published_at", TS, nullable=True),
    Index("ix_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
)

# What each consumer has already applied, in the same transaction as its effect.
inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(80), nullable=False),
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("processed_at", TS, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "message_id"),
)

# A message made ready for one destination, in that destination's format. Partitioned by
# month on ``created_at``; ``delivery_keys`` keeps one delivery per message and destination.
deliveries = Table(
    "deliveries",
    metadata,
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("destination", String(20), nullable=False),
    Column("destination_org", String(16), nullable=True),
    Column("case_urn", String(20), nullable=False),
    Column("message_type", String(40), nullable=False),
    Column("format", String(40), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Column("taken_at", TS, nullable=True),
    Column("acknowledged_at", TS, nullable=True),
    Column("next_attempt_at", TS, nullable=True),
    Column("last_error", String(1000), nullable=True),
    # The trace context of the consumer span that made it: a push continues that trace.
    Column("traceparent", String(100), nullable=True),
    PrimaryKeyConstraint("seq", "created_at"),
    Index(None, "destination", "seq"),
    Index("ix_deliveries_available", "seq", postgresql_where=text("status = 'available'")),
    Index(None, "case_urn"),
    postgresql_partition_by="RANGE (created_at)",
)

# The consumers' second guard against a double delivery, unpartitioned.
delivery_keys = Table(
    "delivery_keys",
    metadata,
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("destination", String(20), nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("message_id", "destination"),
    Index(None, "created_at"),
)

# Agency endpoints that want deliveries pushed to them (signed webhooks) instead of pulling.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("destination", String(20), nullable=False),
    Column("organisation", String(16), nullable=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    UniqueConstraint("destination", "organisation"),
)

# Every version of every schema the hub has used (JSON Schema and XSD).
schema_versions = Table(
    "schema_versions",
    metadata,
    Column("name", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("registered_at", TS, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("name", "version"),
)

# Append-only history of what happened to each message, and of every token use. A trigger
# refuses UPDATE/DELETE/TRUNCATE except sealing; the seal columns form a SHA-256 hash chain
# (exchange/audit.py).
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("message_id", UUID(as_uuid=True), nullable=True),
    Column("case_urn", String(20), nullable=True),
    Column("event", String(60), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("at", TS, nullable=False, server_default=func.now()),
    Column("seal_seq", BigInteger, nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Index(None, "message_id"),
    Index(None, "case_urn"),
    Index(None, "seal_seq"),
    Index("ix_audit_events_unsealed", "id", postgresql_where=text("seal_seq IS NULL")),
    Index(None, "actor", "at"),
)

# A message a consumer could not apply: parked for ops with everything needed to fix it.
failures = Table(
    "failures",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("message_id", UUID(as_uuid=True), nullable=True),
    Column("consumer", String(80), nullable=False),
    Column("case_urn", String(20), nullable=True),
    Column("topic", String(120), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("error_code", String(60), nullable=False),
    Column("error_class", String(120), nullable=False),
    Column("error_message", String(2000), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("1")),
    Column("status", String(20), nullable=False, server_default=text("'parked'")),
    Column("record_value", LargeBinary, nullable=False),
    Column("record_headers", JSONB, nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Column("resolved_at", TS, nullable=True),
    Index(None, "status", "created_at"),
    Index(None, "error_code"),
    Index(None, "message_id"),
    Index(None, "case_urn"),
)

# Claim-check store: each document's bytes once, by SHA-256.
documents = Table(
    "documents",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
)

__all__ = [
    "audit_events",
    "deliveries",
    "documents",
    "failures",
    "inbox",
    "messages",
    "metadata",
    "outbox",
    "schema_versions",
    "webhooks",
]
