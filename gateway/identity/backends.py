"""Authentication as a chain of Starlette backends, each declining with ``None``.

The chain ends in the guest: a request with no credentials is a guest
principal, never ``None``. A request that sends credentials which fail gets a
401 and is never downgraded to guest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError
from starlette.responses import JSONResponse

from gateway.identity.tokens import TokenRejected, peek_issuer
from gateway.principal import Principal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import HTTPConnection


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Principal | None:
        """The principal for a token of this verifier's issuer, None for other issuers."""


class BearerBackend(AuthenticationBackend):
    """Bearer JWTs, checked by the first verifier that recognises the issuer."""

    def __init__(self, verifiers: Sequence[TokenVerifier]) -> None:
        self.verifiers = list(verifiers)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Principal] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None  # no credentials: the next backend (ultimately guest) answers
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
        try:
            for verifier in self.verifiers:
                principal = verifier.verify(token)
                if principal is not None:
                    return AuthCredentials(["authenticated"]), principal
            issuer = peek_issuer(token)
        except TokenRejected as exc:
            raise AuthenticationError(str(exc)) from None
        raise AuthenticationError(f"tokens from issuer {issuer!r} are not accepted here")


class ChainBackend(AuthenticationBackend):
    """Ask each backend in turn; when all decline, the caller is a guest."""

    def __init__(self, backends: Sequence[AuthenticationBackend]) -> None:
        self.backends = list(backends)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Principal]:
        for backend in self.backends:
            result = await backend.authenticate(conn)
            if result is not None:
                return result  # type: ignore[return-value]
        return AuthCredentials([]), Principal.guest()


def on_auth_error(conn: HTTPConnection, exc: Exception) -> JSONResponse:
    """401 with an RFC 6750 challenge naming what is wrong with the token."""
    description = str(exc).replace('"', "'")
    return JSONResponse(
        {"errors": [{"message": f"invalid token: {exc}"}]},
        status_code=401,
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
    )
