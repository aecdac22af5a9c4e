"""Unit tests (no I/O): rate limiting, log scrubbing, refused placeholder secrets, tenancy
rules and the audit digest."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from types import SimpleNamespace

import pytest
import structlog
from pydantic import ValidationError

from exchange import audit, logs
from exchange.auth import Principal
from exchange.domain.envelope import Agency
from exchange.ratelimit import RateLimited, RateLimiter
from exchange.settings import Settings
from exchange.tenancy import CrossTenantSubmission, check_submission, force_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.http_status == 429
    assert refused.value.code == "RATE_LIMITED"
    assert refused.value.headers == {"Retry-After": "1"}
    limiter.check("b")  # buckets are per client
    clock.now += 0.5
    limiter.check("a")  # one token back after 1/rate seconds
    with pytest.raises(RateLimited):
        limiter.check("a")


def test_rate_zero_disables_the_limit_and_buckets_stay_bounded() -> None:
    off = RateLimiter(rate=0, burst=1)
    for _ in range(1000):
        off.check("a")
    bounded = RateLimiter(rate=1, burst=1, max_clients=10)
    for n in range(100):
        bounded.check(f"c{n}")
    assert len(bounded._buckets) == 10


def test_scrub_redacts_secrets_and_masks_personal_data() -> None:
    event = {
        "event": "webhook.failed",
        "headers": {"Authorization": "Bearer abc.def.ghi", "X-Trace": "t"},
        "webhook_secret": "s3cr3t",
        "database_url": "postgresql+asyncpg://hub:hunter2@db:5432/exchange",
        "note": "retry with Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl please",
        "defendant": {
            "givenName": "Jane",
            "familyName": "Doe",
            "birthDate": "1990-01-01",
            "address": {"line1": "1 High St"},
            "ethnicity": "W1",
            "email": "j@example.org",
            "phoneNumber": "07700 900000",
            "asn": "2601ZD0100000012345Z",
        },
        "people": [{"surname": "Roe", "forenames": "Rick"}],
    }
    clean = logs.scrub(event)
    text = json.dumps(clean)
    for leaked in (
        "abc.def",
        "s3cr3t",
        "hunter2",
        "eyJhbGciOi",
        "Jane",
        "Doe",
        "1990-01-01",
        "High St",
        "W1",
        "j@example.org",
        "07700",
        "Roe",
        "Rick",
    ):
        assert leaked not in text, leaked
    assert clean["defendant"]["asn"] == "2601ZD0100000012345Z"  # an identifier, not masked
    assert clean["database_url"] == "postgresql+asyncpg://hub:[REDACTED]@db:5432/exchange"
    assert clean["headers"]["X-Trace"] == "t"


def test_configured_logs_carry_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(json=True)
    try:
        structlog.get_logger("t").warning(
            "request", authorization="Bearer tok", surname="Smith", case_urn="01ZD0312526"
        )
    finally:
        structlog.reset_defaults()
    line = capsys.readouterr().err
    assert "Bearer tok" not in line
    assert "Smith" not in line
    assert "01ZD0312526" in line


@pytest.mark.parametrize(
    "env",
    [
        {"database_url": "postgresql+asyncpg://hub:changeme@db/exchange"},
        {"database_url": "postgresql+asyncpg://hub:postgres@db/exchange"},
    ],
)
def test_placeholder_secrets_are_refused_in_production(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="refusing to start in 'production'"):
        Settings(environment="production", **env)
    Settings(environment="development", **env)  # fine on a laptop


def test_any_secret_field_with_a_placeholder_is_refused() -> None:
    class WithSecret(Settings):
        webhook_hmac_secret: str = "changeme"

    with pytest.raises(ValidationError, match="EXCHANGE_WEBHOOK_HMAC_SECRET is a placeholder"):
        WithSecret(environment="production")
    assert WithSecret(environment="production", webhook_hmac_secret="x" * 32)
    Settings(environment="production", database_url="postgresql+asyncpg://hub:Xk9-long@db/x")


def test_force_of_and_cross_force_submissions() -> None:
    assert force_of("01ZD0312526") == "01"
    assert force_of("ZZ123") is None
    assert force_of(None) is None
    own = Principal("nspis-01", frozenset({"police"}), "01")
    check_submission(own, Agency.POLICE, "01ZD0312526", None)
    check_submission(Principal("nspis", frozenset({"police"})), "police", "02ZD0312526", None)
    check_submission(Principal("cms", frozenset({"cps"}), "A01AH00"), "cps", "02ZD03", None)
    with pytest.raises(CrossTenantSubmission) as refused:
        check_submission(own, Agency.POLICE, "02ZD0312526", None)
    assert refused.value.http_status == 403
    assert refused.value.code == "TENANCY_FORBIDDEN"
    # ingest's Submission names the organisation too, so it can be passed as it is
    check_submission(SimpleNamespace(organisation="01"), "police", "01ZD0312526", None)


def test_audit_digest_covers_every_canonical_field() -> None:
    row = SimpleNamespace(
        id=7,
        message_id=uuid.UUID(int=1),
        case_urn="01ZD0312526",
        event="message.read",
        actor="ops",
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        detail={"b": 1, "a": [1, 2]},
    )
    base = audit.digest(audit.GENESIS, row)
    assert base == audit.digest(
        audit.GENESIS, SimpleNamespace(**{**vars(row), "detail": {"a": [1, 2], "b": 1}})
    )
    for change in (
        {"id": 8},
        {"actor": "x"},
        {"event": "y"},
        {"case_urn": None},
        {"message_id": None},
        {"detail": {}},
        {"at": dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC)},
    ):
        assert audit.digest(audit.GENESIS, SimpleNamespace(**{**vars(row), **change})) != base
    assert audit.digest("1" * 64, row) != base
