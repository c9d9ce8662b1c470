"""Opaque access tokens, checked at the providers' introspection endpoints (RFC 7662).

A bearer token that is not a JWT names no issuer, so it is offered to each
provider configured with ``introspection = true``, in configuration order,
until one answers ``active: true``. That answer is checked like a JWT's claims
(``iss`` when present, ``exp``, ``nbf`` and ``iat`` with the provider's
leeway, ``sub`` required), then it must be the gateway's: its ``aud`` names one
of the provider's ``audiences`` or, for a provider whose tokens name no
audience, its ``client_id`` is one of the provider's ``accepted_clients``. RFC
7662 makes ``aud`` optional, and "checked when present" let any application
registered at the same provider replay its users' tokens here. A refresh token
is no access token, whatever the answer's ``token_type`` says (see
:func:`_not_an_access_token`). The claims, completed from the userinfo
endpoint when the provider has ``userinfo = true``, are then mapped through the
provider's rules by the same :func:`principal_from_claims` as a JWT's, so
persona allow-lists hold alike. An
active answer that fails a check ends the search: the token is that
provider's, and it is refused.

A provider that cannot answer (down, too slow, a 5xx, garbage, or refusing the
gateway's client credentials) may be the one that issued the token. Unless
another provider vouches for it, the request fails with
:class:`VerificationUnavailable`, which the app answers 503 with Retry-After:
not guest, which would quietly show a logged-in user less than they may see,
and not 401, a verdict on a token nobody judged, on which clients discard the
token (RFC 6750 ``invalid_token``) and send every user back to a login that
is itself down.

Answers are cached by the token's SHA-256 (the token itself is never a key, and
never logged): an active one for the provider's ``introspection_cache_ttl``
but never past its ``exp``, so a token revoked at the provider keeps working
here at most that long; a refusal for a few seconds only, so that a flood of
one bad token costs the provider one call while a token just issued is not
kept out for long. Concurrent requests with the same uncached token share one
call. The cache (:class:`~gateway.identity.cache.AnswerCache`) is bounded
(least recently used first out) and per process.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import httpx
from authlib.oauth2.auth import ClientAuth
from joserfc import jwt
from joserfc.errors import JoseError

from gateway.identity.cache import CACHE_SIZE, AnswerCache, token_key
from gateway.identity.claims import principal_from_claims
from gateway.identity.discovery import DiscoveryFailed, discover_endpoint
from gateway.identity.tokens import TokenRejected, VerificationUnavailable, describe_claims_error
from gateway.identity.userinfo import Userinfo

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from gateway.config import OidcProvider
    from gateway.domain.principal import Principal

    # A principal, or the reason the token is refused.
    Outcome = Principal | str

log = logging.getLogger("gateway.identity")

# RFC 6750, 2.1: what a bearer token may consist of. Anything else is refused here,
# without troubling a provider; so is a token longer than any opaque token in use.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*\Z")
MAX_TOKEN_LENGTH = 4096
# Refusals (inactive, or active but failing a check) are reused this long at most.
REFUSAL_TTL = 5.0
NOT_ACTIVE = "the token is not active"


class IntrospectionEndpoint:
    """One provider's introspection endpoint, asked over an injected HTTP client.

    A plain POST on the gateway's shared client rather than authlib's
    ``AsyncOAuth2Client.introspect_token``: that client is an HTTP client of its
    own (its own connection pool, outside the app's lifespan). The client
    authentication is authlib's, the very encoding its login flow uses at this
    provider's token endpoint, so a secret that logs browsers in also introspects.
    """

    def __init__(
        self,
        provider: OidcProvider,
        client: httpx.AsyncClient,
        *,
        timeout: float | None = None,
    ) -> None:
        self.provider = provider
        self.client = client
        # None: the shared client's timeout.
        self.timeout = timeout
        self._auth = ClientAuth(
            provider.client_id, provider.client_secret, auth_method="client_secret_basic"
        )
        self._url = provider.introspection_endpoint
        # One discovery at a time: concurrent first requests share it.
        self._lock = asyncio.Lock()

    async def introspect(self, token: str) -> dict[str, Any] | None:
        """The provider's answer about an active token; None when it says inactive.

        Raises :class:`VerificationUnavailable` when the provider gives no usable answer.
        """
        url = await self._endpoint()
        _, headers, _ = self._auth.prepare("POST", url, {"Accept": "application/json"}, "")
        options: dict[str, Any] = {} if self.timeout is None else {"timeout": self.timeout}
        try:
            response = await self.client.post(
                url,
                # The hint saves the provider a lookup among its refresh tokens.
                data={"token": token, "token_type_hint": "access_token"},
                headers=headers,
                **options,
            )
        except httpx.TimeoutException:
            raise self._unavailable("no answer in time") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._unavailable("cannot connect", str(exc)) from None
        if response.status_code == 401 or _oauth_error(response) == "invalid_client":
            # Our configuration, not the caller's token: said loudly to the operator.
            log.error(
                "the introspection endpoint of %r refused the gateway's client credentials: "
                "check client_id and the secret in %s",
                self.provider.name,
                self.provider.client_secret_env,
            )
            raise VerificationUnavailable(
                f"introspection at {self.provider.name!r} is unavailable "
                "(it refused the gateway's client credentials)"
            )
        if response.status_code != 200:
            raise self._unavailable(f"it answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except (ValueError, RecursionError):
            raise self._unavailable("it did not answer JSON") from None
        if not isinstance(answer, dict):
            raise self._unavailable("it did not answer a JSON object")
        active = answer.get("active")
        if active is True:
            return answer
        if active is False:
            return None
        # RFC 7662, 2.2: "active" is a required boolean. Anything else is a broken answer,
        # not a verdict: "true" or 1 never make a token active.
        raise self._unavailable("its answer has no boolean 'active'")

    async def _endpoint(self) -> str:
        if self._url is not None:
            return self._url
        async with self._lock:
            if self._url is None:  # another request may have discovered it meanwhile
                self._url = await self._discover()
        return self._url

    async def _discover(self) -> str:
        try:
            return await discover_endpoint(self.client, self.provider, "introspection_endpoint")
        except DiscoveryFailed as exc:
            raise self._unavailable(str(exc), exc.detail) from None

    def _unavailable(self, reason: str, detail: str | None = None) -> VerificationUnavailable:
        log.warning(
            "cannot introspect a token at %r: %s%s",
            self.provider.name,
            reason,
            f" ({detail})" if detail else "",
        )
        return VerificationUnavailable(
            f"introspection at {self.provider.name!r} is unavailable ({reason})"
        )


def _oauth_error(response: httpx.Response) -> str | None:
    """The RFC 6749 ``error`` code of an error answer, if it has one."""
    if response.status_code != 400:
        return None
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


class IntrospectionVerifier:
    """Opaque tokens: asks the introspecting providers in turn, caches what they say."""

    def __init__(
        self,
        endpoints: Sequence[IntrospectionEndpoint],
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.endpoints = list(endpoints)
        # ``clock`` ages the cache; ``now`` is the wall clock that exp and nbf are read by.
        self.clock = clock
        self.now = now
        self._cache: AnswerCache[Outcome] = AnswerCache(clock, cache_size)
        # Providers with userinfo = true: the claims their answers lack are read there.
        self._userinfo = {
            e.provider.name: Userinfo(e.provider, e.client, clock=clock, now=now)
            for e in self.endpoints
            if e.provider.userinfo
        }

    async def verify(self, token: str) -> Principal:
        """The principal for an opaque token; :class:`TokenRejected` when no provider
        vouches for it, :class:`VerificationUnavailable` when that cannot be known."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenRejected("the token is too long to be an access token")
        if not _B64TOKEN.match(token):
            raise TokenRejected("the token has characters a bearer token cannot have")
        outcome = await self._cache.get(token_key(token), lambda: self._introspect(token))
        if isinstance(outcome, str):
            raise TokenRejected(outcome)
        return outcome

    async def _introspect(self, token: str) -> tuple[Outcome, float]:
        """What the providers say about ``token``, and how long that may be reused."""
        failures: list[str] = []
        for endpoint in self.endpoints:
            try:
                answer = await endpoint.introspect(token)
            except VerificationUnavailable as exc:
                failures.append(str(exc))
                continue  # another provider may still vouch for the token
            if answer is None:
                continue  # not active there: perhaps another provider's token
            # Active here: the token is this provider's, whatever follows. A userinfo
            # endpoint that cannot answer is this provider's outage (503), not a reason to
            # ask the next provider.
            provider = endpoint.provider
            try:
                principal = await self._principal(provider, token, answer)
            except TokenRejected as exc:
                return str(exc), REFUSAL_TTL
            return principal, self._lifetime(provider, answer)
        if failures:
            # Inactive wherever asked, but a provider that did not answer may have issued it.
            raise VerificationUnavailable("; ".join(failures))
        return NOT_ACTIVE, REFUSAL_TTL

    async def _principal(
        self, provider: OidcProvider, token: str, answer: Mapping[str, Any]
    ) -> Principal:
        """The checks a JWT's claims get, on the claims the provider answered (all optional
        in RFC 7662 but ``sub``, without which there is nobody to be), then whether the
        token is an access token meant for the gateway."""
        try:
            jwt.JWTClaimsRegistry(
                now=lambda: int(self.now()),
                leeway=provider.leeway,
                iss={"value": provider.issuer},
                sub={"essential": True},
            ).validate(dict(answer))
        except (JoseError, ValueError) as exc:
            raise TokenRejected(describe_claims_error(exc)) from None
        refused = _not_an_access_token(answer) or _not_the_gateways(provider, answer)
        if refused:
            raise TokenRejected(refused)
        claims: Mapping[str, Any] = answer
        userinfo = self._userinfo.get(provider.name)
        if userinfo is not None:
            claims = await userinfo.complete(token, answer)
        return principal_from_claims(provider, claims)

    def _lifetime(self, provider: OidcProvider, answer: Mapping[str, Any]) -> float:
        """How long an active answer may be reused: the provider's TTL, never past exp."""
        lifetime = float(provider.introspection_cache_ttl)
        exp = answer.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            lifetime = min(lifetime, exp - self.now())
        return lifetime


# How providers say "refresh token" in an answer: RFC 7662's token_type (free text), and
# Keycloak's typ claim ("Refresh", or "Offline" for an offline refresh token).
_REFRESH_TYPES = frozenset({"refresh_token", "refresh", "refreshtoken"})
_REFRESH_TYP = frozenset({"refresh", "offline"})


def _not_an_access_token(answer: Mapping[str, Any]) -> str | None:
    """Why the answer is about a refresh token, if it says so.

    Not all do: node oidc-provider omits ``token_type`` for refresh tokens (RFC 7662
    makes it optional), and names no ``aud`` for them either. Such an answer cannot pass
    :func:`_not_the_gateways`: without an audience, it is accepted only from an accepted
    client *and* with a ``token_type`` saying what it is.
    """
    token_type = answer.get("token_type")
    if isinstance(token_type, str) and token_type.strip().lower() in _REFRESH_TYPES:
        return "a refresh token is not an access token (token_type)"
    typ = answer.get("typ")
    if isinstance(typ, str) and typ.strip().lower() in _REFRESH_TYP:
        return "a refresh token is not an access token (typ)"
    return None


def _not_the_gateways(provider: OidcProvider, answer: Mapping[str, Any]) -> str | None:
    """Why the token is not the gateway's: its audience, or (naming none) its client.

    An ``aud`` that names someone else refuses the token even from an accepted client:
    the token was addressed to another service.
    """
    aud = answer.get("aud")
    if aud is not None:
        values = aud if isinstance(aud, list) else [aud]
        if any(isinstance(v, str) and v in provider.audiences for v in values):
            return None
        return "the token is not meant for this gateway (aud)"
    if not provider.accepted_clients:
        return (
            "the token names no audience (aud): it is not meant for this gateway "
            f"({provider.name!r} lists no accepted_clients)"
        )
    client = answer.get("client_id")
    if not isinstance(client, str) or client not in provider.accepted_clients:
        shown = repr(client)[:80] if client is not None else "no client (client_id)"
        return (
            f"the token was issued to {shown}, which is not one of this gateway's "
            "clients (accepted_clients)"
        )
    token_type = answer.get("token_type")
    if not isinstance(token_type, str) or not token_type.strip():
        # Exactly how oidc-provider describes a refresh token: no aud, no token_type.
        return (
            "the answer names no audience (aud) and no token_type, as it would for a "
            "refresh token: nothing says it is an access token"
        )
    return None
