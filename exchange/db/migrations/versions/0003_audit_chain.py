"""audit chain: seal columns, append-only trigger

Revision ID: 0003
Revises: 0002

``audit_events`` gains ``seal_seq``, ``prev_hash`` and ``hash``: writers insert rows without
them and ``exchange.audit.seal`` chains them later, so no writer waits on a lock. A trigger
refuses UPDATE and DELETE, except the one update that seals a row (hash columns set once, no
other column changed); another refuses TRUNCATE. No index here is unique: revision 0004
partitions the table by month, and a unique index would have to include ``at``.

There is no sanitisation path: audit details hold ids, codes and client ids, never personal
data. Retention drops whole monthly partitions (0004); ``exchange audit verify`` then anchors
the chain at the first remaining event.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seal_seq IS NULL AND NEW.seal_seq IS NOT NULL
           AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
           AND NEW.id = OLD.id
           AND NEW.message_id IS NOT DISTINCT FROM OLD.message_id
           AND NEW.case_urn IS NOT DISTINCT FROM OLD.case_urn
           AND NEW.event = OLD.event AND NEW.actor = OLD.actor
           AND NEW.detail = OLD.detail AND NEW.at = OLD.at THEN
            RETURN NEW;  -- sealing: the chain columns are set once, nothing else changes
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

NO_TRUNCATE = """
CREATE FUNCTION audit_events_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("seal_seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_events", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_audit_events_seal_seq"), "audit_events", ["seal_seq"])
    op.create_index(
        "ix_audit_events_unsealed",
        "audit_events",
        ["id"],
        postgresql_where=sa.text("seal_seq IS NULL"),
    )
    op.create_index(op.f("ix_audit_events_actor_at"), "audit_events", ["actor", "at"])
    op.execute(APPEND_ONLY)
    op.execute(NO_TRUNCATE)
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
    op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION audit_events_no_truncate()")
    op.execute("DROP FUNCTION audit_events_append_only()")
    op.execute("DROP INDEX IF EXISTS ix_audit_events_actor_at")
    op.execute("DROP INDEX IF EXISTS ix_audit_events_unsealed")
    op.execute("DROP INDEX IF EXISTS ix_audit_events_seal_seq")
    op.drop_column("audit_events", "hash")
    op.drop_column("audit_events", "prev_hash")
    op.drop_column("audit_events", "seal_seq")
