"""OAuth2 client-credentials bearer tokens (JWT): verification, and a local issuer for
development and tests.

Every caller is an agency system or an ops user. A token carries ``sub`` (the client id),
``scope`` (space-separated roles: police, cps, court, ops, manager) and ``org`` (the tenant:
a police force code, a CPS area or unit, a court OU code; absent for national clients).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from exchange.domain.errors import ExchangeError

ROLES = frozenset({"police", "cps", "court", "ops", "manager"})
ALGORITHMS = ["RS256", "ES256"]
LEEWAY_SECONDS: Final = 30
# Verified tokens remembered per process (a client reuses its token for its lifetime).
REMEMBERED_TOKENS: Final = 1024


class Unauthenticated(ExchangeError):
    """No token, or a token that failed verification. The answer carries the RFC 6750
    challenge, so a client knows to fetch a bearer token."""

    code = "UNAUTHENTICATED"
    http_status = 401

    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        super().__init__(message)
        challenge = 'Bearer realm="cjs-exchange"'
        if invalid_token:
            challenge += ', error="invalid_token"'
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(ExchangeError):
    code = "FORBIDDEN"
    http_status = 403


@dataclass(frozen=True)
class Principal:
    client_id: str
    roles: frozenset[str]
    organisation: str | None = None
    # The token's ``jti``, recorded with each use; not part of who the caller is.
    token_id: str | None = field(default=None, compare=False)

    def require(self, role: str) -> None:
        if role not in self.roles:
            raise Forbidden(f"client {self.client_id!r} lacks the {role!r} scope")


class TokenVerifier:
    """Checks signature, issuer, audience and expiry against configured public keys.

    A client sends the same token with every request until it expires, so a token that
    passed is remembered (by its exact text, signature included, so no other token can match
    it) with its expiry: until then it gives the same principal without the RSA check and
    claim parsing again; after it, it is refused as expired, as a fresh check would. Refused
    tokens are never remembered. ``remember`` bounds how many are kept (least recently used
    go first)."""

    def __init__(
        self,
        public_keys: list[bytes],
        *,
        issuer: str,
        audience: str,
        remember: int = REMEMBERED_TOKENS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not public_keys:
            raise ValueError("at least one public key is needed to verify tokens")
        self._keys = [serialization.load_pem_public_key(k) for k in public_keys]
        self._issuer = issuer
        self._audience = audience
        self._remember = remember
        self._clock = clock
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def remembered(self) -> int:
        return len(self._verified)

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            principal, good_until = known
            if self._clock() <= good_until:
                self._verified.move_to_end(token)
                return principal
            self._verified.pop(token, None)
            raise Unauthenticated(
                "bearer token rejected: Signature has expired", invalid_token=True
            )
        principal, expires = self._check(token)
        if self._remember > 0:
            self._verified[token] = (principal, expires + LEEWAY_SECONDS)
            while len(self._verified) > self._remember:
                self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        last: Exception | None = None
        for key in self._keys:
            try:
                claims = jwt.decode(
                    token,
                    key=key,  # type: ignore[arg-type]
                    algorithms=ALGORITHMS,
                    issuer=self._issuer,
                    audience=self._audience,
                    options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                    leeway=LEEWAY_SECONDS,
                )
                break
            except jwt.InvalidSignatureError as exc:
                last = exc
                continue
            except jwt.PyJWTError as exc:
                raise Unauthenticated(f"bearer token rejected: {exc}", invalid_token=True) from exc
        else:
            raise Unauthenticated(f"bearer token rejected: {last}", invalid_token=True)
        roles = frozenset(str(claims.get("scope", "")).split()) & ROLES
        if not roles:
            raise Unauthenticated(
                "bearer token carries none of the hub's scopes", invalid_token=True
            )
        org = claims.get("org")
        jti = claims.get("jti")
        principal = Principal(
            str(claims["sub"]), roles, str(org) if org else None, str(jti) if jti else None
        )
        return principal, float(claims["exp"])


class LocalIssuer:
    """A development token issuer: an RSA key pair kept under the run directory."""

    def __init__(self, directory: Path, *, issuer: str, audience: str) -> None:
        self.directory = directory
        self.issuer = issuer
        self.audience = audience
        self._private = self._load_or_create()

    @property
    def private_path(self) -> Path:
        return self.directory / "dev-issuer-key.pem"

    @property
    def public_path(self) -> Path:
        return self.directory / "dev-issuer-pub.pem"

    def _load_or_create(self) -> rsa.RSAPrivateKey:
        """Load the key pair, or create it once even when several processes start together.

        The new key is written to a private temporary file and hard-linked into place, which
        fails if another process got there first; the loser then loads the winner's key, so an
        API process and a token minted beside it never hold different keys."""
        if not self.private_path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".key-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, self.private_path)
            finally:
                os.unlink(tmp)
        loaded = serialization.load_pem_private_key(self.private_path.read_bytes(), None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        public = loaded.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if not self.public_path.exists() or self.public_path.read_bytes() != public:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".pub-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(public)
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.public_path)
        return loaded

    def public_pem(self) -> bytes:
        return self._private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(
        self, client_id: str, roles: list[str], organisation: str | None = None, ttl: int = 3600
    ) -> str:
        unknown = set(roles) - ROLES
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; known: {sorted(ROLES)}")
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client_id,
            "scope": " ".join(roles),
            "iat": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
        }
        if organisation:
            claims["org"] = organisation
        return jwt.encode(claims, self._private, algorithm="RS256")
