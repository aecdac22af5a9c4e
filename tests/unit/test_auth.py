"""Bearer tokens: what is accepted and, above all, what is refused."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from exchange.auth import Forbidden, LocalIssuer, Principal, TokenVerifier, Unauthenticated

ISS, AUD = "urn:test-issuer", "cjs-exchange"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    return LocalIssuer(tmp_path_factory.mktemp("iss"), issuer=ISS, audience=AUD)


@pytest.fixture(scope="module")
def verifier(issuer: LocalIssuer) -> TokenVerifier:
    return TokenVerifier([issuer.public_pem()], issuer=ISS, audience=AUD)


def test_valid_token_gives_principal_with_roles_and_tenant(issuer, verifier) -> None:
    p = verifier.verify(issuer.token("force-01", ["police"], "01"))
    assert p == Principal("force-01", frozenset({"police"}), "01")


def test_issuer_key_is_kept_between_runs(issuer: LocalIssuer) -> None:
    again = LocalIssuer(issuer.directory, issuer=ISS, audience=AUD)
    assert again.public_pem() == issuer.public_pem()
    assert oct(issuer.private_path.stat().st_mode & 0o777) == "0o600"


def test_issuers_created_together_share_one_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API process and a test minting tokens may both find no key and both create one; the
    first to finish must win, and the other must use its key, or every token is refused."""
    from exchange import auth

    real_generate = auth.rsa.generate_private_key
    rival: list[LocalIssuer] = []
    calls = 0

    def generate_while_a_rival_finishes_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        key = real_generate(*args, **kwargs)
        if calls == 1:
            rival.append(LocalIssuer(tmp_path, issuer=ISS, audience=AUD))
        return key

    monkeypatch.setattr(auth.rsa, "generate_private_key", generate_while_a_rival_finishes_first)
    late = LocalIssuer(tmp_path, issuer=ISS, audience=AUD)
    assert late.public_pem() == rival[0].public_pem()
    assert (tmp_path / "dev-issuer-pub.pem").read_bytes() == late.public_pem()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["dev-issuer-key.pem", "dev-issuer-pub.pem"]
    verifier = TokenVerifier([rival[0].public_pem()], issuer=ISS, audience=AUD)
    assert verifier.verify(late.token("c", ["ops"])).client_id == "c"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iss": "urn:someone-else"}, "issuer"),
        ({"aud": "another-api"}, "audience"),
    ],
)
def test_expired_or_foreign_tokens_are_refused(issuer, verifier, change, needle) -> None:
    claims = jwt.decode(issuer.token("c", ["cps"]), options={"verify_signature": False}) | change
    forged = jwt.encode(claims, issuer._private, algorithm="RS256")
    with pytest.raises(Unauthenticated, match=f"(?i){needle}"):
        verifier.verify(forged)


def test_token_signed_by_another_key_is_refused(tmp_path: Path, verifier) -> None:
    stranger = LocalIssuer(tmp_path, issuer=ISS, audience=AUD)
    with pytest.raises(Unauthenticated, match="Signature"):
        verifier.verify(stranger.token("c", ["ops"]))


def test_unsigned_token_is_refused(issuer, verifier) -> None:
    claims = jwt.decode(issuer.token("c", ["ops"]), options={"verify_signature": False})
    none_alg = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(Unauthenticated):
        verifier.verify(none_alg)


def test_token_without_hub_scopes_is_refused(issuer, verifier) -> None:
    claims = jwt.decode(issuer.token("c", ["ops"]), options={"verify_signature": False})
    claims["scope"] = "openid profile"
    with pytest.raises(Unauthenticated, match="scopes"):
        verifier.verify(jwt.encode(claims, issuer._private, algorithm="RS256"))


def test_missing_role_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="'court'"):
        Principal("cms", frozenset({"cps"})).require("court")


def test_unknown_role_cannot_be_minted(issuer) -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        issuer.token("c", ["superuser"])


def _counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every full verification (signature and claims) the verifier makes."""
    from exchange import auth

    real = auth.jwt.decode
    calls: list[str] = []

    def decode(token, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", decode)
    return calls


def test_a_token_verified_once_is_not_verified_again_until_it_expires(
    issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [time.time()]
    verifier = TokenVerifier([issuer.public_pem()], issuer=ISS, audience=AUD, clock=lambda: now[0])
    calls = _counting_decode(monkeypatch)
    token = issuer.token("force-01", ["police"], "01", ttl=60)
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert verifier.verify(token).token_id == first.token_id
    assert len(calls) == 1  # the signature was checked once
    now[0] += 60 + 31  # past exp and the 30 s leeway a fresh check allows
    with pytest.raises(Unauthenticated, match="(?i)expired"):
        verifier.verify(token)


def test_a_refused_token_is_checked_again_every_time(
    issuer, verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = jwt.decode(issuer.token("c", ["cps"]), options={"verify_signature": False})
    forged = jwt.encode(claims | {"iss": "urn:someone-else"}, issuer._private, algorithm="RS256")
    calls = _counting_decode(monkeypatch)
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="(?i)issuer"):
            verifier.verify(forged)
    assert len(calls) == 2


def test_the_verified_tokens_kept_are_bounded(issuer) -> None:
    verifier = TokenVerifier([issuer.public_pem()], issuer=ISS, audience=AUD, remember=2)
    tokens = [issuer.token(f"c{i}", ["ops"]) for i in range(5)]
    for token in tokens:
        verifier.verify(token)
    assert verifier.remembered() <= 2
    assert verifier.verify(tokens[0]).client_id == "c0"  # forgotten, verified afresh
