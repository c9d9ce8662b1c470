"""Authentication as a chain of Starlette backends, each declining with ``None``.

The chain ends in the guest: a request with no credentials is a guest
principal, never ``None``. A request that sends credentials which fail gets a
401 and is never downgraded to guest; one whose credentials could not be
checked (the provider's introspection endpoint is down) gets a 503, neither
guest nor a verdict on the token.

A JWT that passed verification is remembered by its SHA-256 (the token itself is never a
key) until its ``exp`` or for ``VERIFIED_FOR`` seconds, whichever comes first: the same
token on a client's next request skips the signature check and the claim checks, which
cost more than a cached answer does. Offboarding's revocation is checked on every request,
remembered or not; a token is judged afresh once its entry ends (so a key withdrawn from a
provider's key set stops its tokens within ``VERIFIED_FOR`` seconds).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError
from starlette.responses import JSONResponse

from gateway.domain.errors import ErrorCode
from gateway.domain.principal import Principal
from gateway.identity.cache import AnswerCache, token_key
from gateway.identity.session import stored_principal
from gateway.identity.tokens import (
    TokenRejected,
    VerificationUnavailable,
    is_jwt,
    peek_expiry,
    peek_issuer,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from starlette.requests import HTTPConnection

    from gateway.config import OidcProvider
    from gateway.identity.revocation import RevocationCheck


class TokenVerifier(Protocol):
    @property
    def generation(self) -> int:
        """Moves whenever the keys the verifier checks with change (never, for fixed keys)."""

    async def verify(self, token: str) -> Principal | None:
        """The principal for a token of this verifier's issuer, None for other issuers.

        Raises :class:`TokenRejected` for a token of its issuer that fails a check.
        Awaited, because checking may need the issuer's keys over the network.
        """


class OpaqueTokenVerifier(Protocol):
    async def verify(self, token: str) -> Principal:
        """The principal for a token that is not a JWT (so names no issuer).

        Raises :class:`TokenRejected` when no provider vouches for it, and
        :class:`VerificationUnavailable` when it could not be checked.
        """


class LocalTokenVerifier(Protocol):
    def verify(self, token: str) -> Principal | None:
        """As :meth:`TokenVerifier.verify`, for a verifier that holds its key (no I/O)."""


class LocalVerifier:
    """A verifier with no I/O (the development issuer), in the awaited protocol."""

    generation = 0  # its key never changes while the process runs

    def __init__(self, verifier: LocalTokenVerifier) -> None:
        self.verifier = verifier

    async def verify(self, token: str) -> Principal | None:
        return self.verifier.verify(token)


# How long a verified JWT is taken on trust without checking it again (at most until exp).
VERIFIED_FOR = 60.0


class _UnknownIssuer(Exception):
    def __init__(self, issuer: str | None) -> None:
        self.issuer = issuer


class AuthenticationUnavailable(AuthenticationError):
    """Credentials that could not be checked right now; answered 503, never as guest."""


class BearerBackend(AuthenticationBackend):
    """Bearer JWTs, checked by the first verifier that recognises the issuer; other tokens
    by ``opaque`` (introspection at the providers), when the gateway accepts them."""

    def __init__(
        self,
        verifiers: Sequence[TokenVerifier],
        opaque: OpaqueTokenVerifier | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.verifiers = list(verifiers)
        self.opaque = opaque
        self.now = now
        # Verified JWTs by digest (see the module's docstring); concurrent first requests
        # with one token share one verification.
        self.verified: AnswerCache[tuple[Principal, tuple[int, ...]]] = AnswerCache(clock)
        # Offboarding's "not before" per principal (set by the app once records exist).
        self.revocations: RevocationCheck | None = None

    async def _accepted(
        self, principal: Principal, token: str
    ) -> tuple[AuthCredentials, Principal]:
        if self.revocations is not None and not principal.is_guest:
            await self.revocations.check(principal, token)
        return AuthCredentials(["authenticated"]), principal

    # Principal is the request's user (starlette types ``request.user`` as Any) but not a
    # starlette BaseUser: the domain does not depend on the web framework. Hence the ignore.
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Principal] | None:  # type: ignore[override]
        header = conn.headers.get("authorization")
        if header is None:
            return None  # no credentials: the next backend (ultimately guest) answers
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
        try:
            if self.opaque is not None and not is_jwt(token):
                # No issuer to choose a verifier by: only the providers can say whose it is.
                return await self._accepted(await self.opaque.verify(token), token)
            key = token_key(token)
            principal, keys = await self.verified.get(key, lambda: self._verify(token))
            if keys != self._generations():  # a key set was fetched since: judge it afresh
                self.verified.forget(key)
                principal, _ = await self.verified.get(key, lambda: self._verify(token))
            return await self._accepted(principal, token)
        except TokenRejected as exc:
            raise AuthenticationError(str(exc)) from None
        except VerificationUnavailable as exc:
            raise AuthenticationUnavailable(str(exc)) from None
        except _UnknownIssuer as exc:
            raise AuthenticationError(
                f"tokens from issuer {exc.issuer!r} are not accepted here"
            ) from None

    def _generations(self) -> tuple[int, ...]:
        return tuple(verifier.generation for verifier in self.verifiers)

    async def _verify(self, token: str) -> tuple[tuple[Principal, tuple[int, ...]], float]:
        """The principal of a JWT the first verifier that knows its issuer accepts, with the
        key sets it was judged under, and how long to remember it."""
        # Read before verifying: a key set fetched while it is checked (by this check or
        # another) makes the next request judge the token again.
        keys = self._generations()
        for verifier in self.verifiers:
            principal = await verifier.verify(token)
            if principal is not None:
                lifetime = min(VERIFIED_FOR, peek_expiry(token) - self.now())
                return (principal, keys), lifetime
        raise _UnknownIssuer(peek_issuer(token))


class SessionBackend(AuthenticationBackend):
    """The principal a browser login stored in the session (a records row the cookie names)."""

    def __init__(self, providers: Sequence[OidcProvider]) -> None:
        self.providers = tuple(providers)

    # The user is a Principal, not a starlette BaseUser: see BearerBackend.authenticate.
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Principal] | None:  # type: ignore[override]
        if "session" not in conn.scope:
            return None  # no session middleware in front (an app built without logins)
        principal = stored_principal(conn.session, self.providers)
        if principal is None:
            # Nobody logged in, or the provider that logged them in is gone: a guest, not
            # an error, since a browser cannot do anything about it but log in again.
            return None
        return AuthCredentials(["authenticated"]), principal


class ChainBackend(AuthenticationBackend):
    """Ask each backend in turn; when all decline, the caller is a guest."""

    def __init__(self, backends: Sequence[AuthenticationBackend]) -> None:
        self.backends = list(backends)

    # The user is a Principal, not a starlette BaseUser: see BearerBackend.authenticate.
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Principal]:  # type: ignore[override]
        for backend in self.backends:
            result = await backend.authenticate(conn)
            if result is not None:
                return result  # type: ignore[return-value]  # each backend's user is a Principal
        return AuthCredentials([]), Principal.guest()


# Reasons may quote what the token says (an issuer, a key id): bounded, so a huge
# token is not echoed back whole.
MAX_REASON = 300
# Seconds a client is asked to wait before retrying a token that could not be checked.
RETRY_AFTER = 5


def on_auth_error(conn: HTTPConnection, exc: Exception) -> JSONResponse:
    """401 with an RFC 6750 challenge naming what is wrong with the token; 503 when the
    token could not be checked at all (see :class:`AuthenticationUnavailable`)."""
    reason = str(exc)
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    if isinstance(exc, AuthenticationUnavailable):
        # No challenge: the token may well be good, and a client told "invalid_token"
        # discards it and sends its user back through the login.
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": f"cannot check the token: {reason}",
                        "extensions": {"code": ErrorCode.IDENTITY_UNAVAILABLE.value},
                    }
                ]
            },
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER)},
        )
    # RFC 6750, 3: error_description is printable ASCII without '"' or '\'. Anything else
    # (a line break in a forged issuer, non-Latin-1 text) would break or inject headers.
    description = "".join(
        "'" if c == '"' else c if " " <= c <= "~" and c != "\\" else "?" for c in reason
    )
    return JSONResponse(
        {
            "errors": [
                {
                    "message": f"invalid token: {reason}",
                    "extensions": {"code": ErrorCode.UNAUTHENTICATED.value},
                }
            ]
        },
        status_code=401,
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
    )
