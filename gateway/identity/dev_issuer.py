"""The development issuer: signs bearer tokens for demo users, so every persona can be tried.

Its key is generated on first use and kept in the data directory (never in the
repository). ``gateway serve`` trusts it only while ``identity.dev_issuer`` is on.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from gateway.domain.principal import Principal
from gateway.identity.tokens import TokenRejected, peek_issuer

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

ISSUER = "urn:collaboration-gateway:dev-issuer"
AUDIENCE = "collaboration-gateway"
ALGORITHMS = ["RS256"]
LEEWAY = 30
KEY_FILE = "dev-issuer-key.json"


class DevIssuer:
    """Issues and verifies development tokens with one RSA key."""

    def __init__(self, key: RSAKey) -> None:
        self.key = key

    @classmethod
    def open(cls, data_dir: Path) -> DevIssuer:
        """Load the key from ``data_dir``, generating it on first use."""
        path = data_dir / KEY_FILE
        if path.exists():
            return cls(RSAKey.import_key(json.loads(path.read_text())))
        data_dir.mkdir(parents=True, exist_ok=True)
        key = RSAKey.generate_key(2048, parameters={"kid": f"dev-{int(time.time())}"})
        # Write with owner-only permissions: this key can mint any persona.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(key.as_dict(private=True), fh)
        return cls(key)

    def issue(
        self,
        *,
        email: str,
        name: str,
        roles: Sequence[str],
        organisation: str | None = None,
        lifetime: int = 12 * 3600,
        now: float | None = None,
    ) -> str:
        now = time.time() if now is None else now
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": email.lower(),
            "email": email.lower(),
            "email_verified": True,
            "name": name,
            "roles": list(roles),
            "org": organisation,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + lifetime),
        }
        header = {"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key, algorithms=ALGORITHMS)

    def verify(self, token: str) -> Principal | None:
        """The principal for a development token; None when the token is another issuer's."""
        if peek_issuer(token) != ISSUER:
            return None  # not ours: another verifier (or none) will answer
        try:
            decoded = jwt.decode(token, self.key, algorithms=ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY,
                iss={"essential": True, "value": ISSUER},
                aud={"essential": True, "value": AUDIENCE},
                sub={"essential": True},
                exp={"essential": True},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise TokenRejected(_describe(exc)) from None
        claims = decoded.claims
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise TokenRejected("the roles claim must be a list of strings")
        return Principal(
            issuer=ISSUER,
            subject=str(claims["sub"]),
            email=claims.get("email"),
            email_verified=claims.get("email_verified") is True,
            display_name=str(claims.get("name") or claims["sub"]),
            roles=frozenset(roles),
            organisation=claims.get("org"),
        )


def dev_principal(
    email: str,
    *,
    name: str,
    roles: Sequence[str],
    organisation: str | None = None,
) -> Principal:
    """The principal a development token for ``email`` stands for (verified: it is the demo)."""
    email = email.strip().lower()
    return Principal(
        issuer=ISSUER,
        subject=email,
        email=email,
        email_verified=True,
        display_name=name,
        roles=frozenset(roles),
        organisation=organisation,
    )


def _describe(exc: Exception) -> str:
    text = getattr(exc, "description", None) or str(exc) or exc.__class__.__name__
    return text.rstrip(".")
