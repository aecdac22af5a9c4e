"""Cases seeded straight into the database for the security tests: one force-01 case, with
deliveries to its CPS unit, its court and its force, and a served document."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from exchange.db.tables import deliveries, documents, messages

CASE = "01ZD0312526"
FORCE, OTHER_FORCE = "01", "02"
CPS_UNIT, OTHER_CPS_UNIT = "A01AH00", "A02BC00"
COURT, OTHER_COURT = "B01EF01", "B02XX01"
PDF = b"%PDF-1.7\nserved papers for " + CASE.encode()
PDF_SHA = hashlib.sha256(PDF).hexdigest()


@dataclass(frozen=True)
class Seeded:
    case_file: uuid.UUID  # police -> CPS unit and court
    outcome: uuid.UUID  # court -> police force
    bundle: uuid.UUID  # CPS unit -> court, references the document
    document: str


async def _message(conn, *, kind: str, agency: str, org: str, client: str, canonical) -> uuid.UUID:  # type: ignore[no-untyped-def]
    message_id = uuid.uuid4()
    await conn.execute(
        messages.insert().values(
            message_id=message_id,
            idempotency_key=f"seed:{message_id}",
            client_id=client,
            message_type=kind,
            schema_version="1.0",
            format="seed",
            case_urn=CASE,
            source_agency=agency,
            source_system="SEED",
            source_org=org,
            status="delivered",
            content_type="application/json",
            raw=b"{}",
            raw_sha256=hashlib.sha256(b"{}").hexdigest(),
            canonical=canonical,
            correlation_id=message_id,
        )
    )
    return message_id


async def _deliver(conn, message_id: uuid.UUID, kind: str, dest: str, org: str, payload) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(
        deliveries.insert().values(
            message_id=message_id,
            destination=dest,
            destination_org=org,
            case_urn=CASE,
            message_type=kind,
            format=f"{dest}-seed",
            payload=payload,
            status="available",
        )
    )


async def seed(engine: AsyncEngine) -> Seeded:
    reference = {"sha256": PDF_SHA, "href": f"/documents/{PDF_SHA}"}
    async with engine.begin() as conn:
        case_file = await _message(
            conn, kind="case-file", agency="police", org=FORCE, client="nspis-01", canonical={}
        )
        await _deliver(conn, case_file, "case-file", "cps", CPS_UNIT, {"caseUrn": CASE})
        await _deliver(conn, case_file, "case-file", "court", COURT, {"caseUrn": CASE})
        outcome = await _message(
            conn, kind="hearing-outcome", agency="court", org=COURT, client="dcs-b01", canonical={}
        )
        await _deliver(conn, outcome, "hearing-outcome", "police", FORCE, {"caseUrn": CASE})
        bundle = await _message(
            conn,
            kind="court-bundle",
            agency="cps",
            org=CPS_UNIT,
            client="cms-a01",
            canonical={"payload": {"sections": [{"documents": [{"document": reference}]}]}},
        )
        await _deliver(
            conn,
            bundle,
            "court-bundle",
            "court",
            COURT,
            {"sections": [{"documents": [reference]}]},
        )
        await conn.execute(
            documents.insert().values(
                sha256=PDF_SHA, size=len(PDF), media_type="application/pdf", content=PDF
            )
        )
    return Seeded(case_file, outcome, bundle, PDF_SHA)
