"""Opaque access tokens, checked at the providers' introspection endpoints (RFC 7662).

A bearer token that is not a JWT names no issuer, so it is offered to each
provider configured with ``introspection = true``, in configuration order,
until one answers ``active: true``. That answer is checked like a JWT's claims
(``iss`` and ``aud`` when present, ``exp``, ``nbf`` and ``iat`` with the
provider's leeway, ``sub`` required, and a refresh token is no access token),
then mapped through the provider's rules by the same
:func:`principal_from_claims` as a JWT, so persona allow-lists hold alike. An
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
call. The cache is bounded (least recently used first out) and per process.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from authlib.oauth2.auth import ClientAuth
from joserfc import jwt
from joserfc.errors import JoseError

from gateway.identity.claims import principal_from_claims
from gateway.identity.tokens import TokenRejected, VerificationUnavailable, describe_claims_error

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from gateway.config import OidcProvider
    from gateway.principal import Principal

    # A principal, or the reason the token is refused.
    Outcome = Principal | str

log = logging.getLogger("gateway.identity")

# RFC 6750, 2.1: what a bearer token may consist of. Anything else is refused here,
# without troubling a provider; so is a token longer than any opaque token in use.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*\Z")
MAX_TOKEN_LENGTH = 4096
# Refusals (inactive, or active but failing a check) are reused this long at most.
REFUSAL_TTL = 5.0
CACHE_SIZE = 10_000
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
        except httpx.HTTPError as exc:
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
        provider = self.provider
        try:
            response = await self.client.get(
                provider.discovery_url, headers={"Accept": "application/json"}
            )
            document = response.json() if response.status_code == 200 else None
        except httpx.HTTPError as exc:
            raise self._unavailable("its discovery document cannot be fetched", str(exc)) from None
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise self._unavailable("its discovery document cannot be read")
        # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was
        # fetched for, or its endpoint could be another issuer's.
        if document.get("issuer") != provider.issuer:
            raise self._unavailable("its discovery document names another issuer")
        url = document.get("introspection_endpoint")
        if not isinstance(url, str) or not url:
            raise self._unavailable(
                "its discovery document names no introspection_endpoint; configure one"
            )
        # The endpoint receives the tokens: no weaker than the issuer's own URL.
        if urlsplit(provider.issuer).scheme == "https" and urlsplit(url).scheme != "https":
            raise self._unavailable("its discovered introspection_endpoint is not https")
        return url

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
        self._cache = _AnswerCache(cache_size, clock)
        self._pending: dict[bytes, asyncio.Task[Outcome]] = {}

    async def verify(self, token: str) -> Principal:
        """The principal for an opaque token; :class:`TokenRejected` when no provider
        vouches for it, :class:`VerificationUnavailable` when that cannot be known."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenRejected("the token is too long to be an access token")
        if not _B64TOKEN.match(token):
            raise TokenRejected("the token has characters a bearer token cannot have")
        key = hashlib.sha256(token.encode()).digest()
        outcome = self._cache.get(key)
        if outcome is None:
            task = self._pending.get(key)
            if task is None:
                task = asyncio.ensure_future(self._introspect(token, key))
                self._pending[key] = task
                task.add_done_callback(lambda _: self._pending.pop(key, None))
            # Shielded: a caller that goes away does not cancel the call the others await.
            outcome = await asyncio.shield(task)
        if isinstance(outcome, str):
            raise TokenRejected(outcome)
        return outcome

    async def _introspect(self, token: str, key: bytes) -> Outcome:
        failures: list[str] = []
        for endpoint in self.endpoints:
            try:
                answer = await endpoint.introspect(token)
            except VerificationUnavailable as exc:
                failures.append(str(exc))
                continue  # another provider may still vouch for the token
            if answer is None:
                continue  # not active there: perhaps another provider's token
            provider = endpoint.provider
            try:
                principal = self._principal(provider, answer)
            except TokenRejected as exc:
                self._cache.put(key, str(exc), REFUSAL_TTL)
                return str(exc)
            self._cache.put(key, principal, self._lifetime(provider, answer))
            return principal
        if failures:
            # Inactive wherever asked, but a provider that did not answer may have issued it.
            raise VerificationUnavailable("; ".join(failures))
        self._cache.put(key, NOT_ACTIVE, REFUSAL_TTL)
        return NOT_ACTIVE

    def _principal(self, provider: OidcProvider, answer: Mapping[str, Any]) -> Principal:
        """The checks a JWT's claims get, on the claims the provider answered (all optional
        in RFC 7662 but ``sub``, without which there is nobody to be)."""
        try:
            jwt.JWTClaimsRegistry(
                now=lambda: int(self.now()),
                leeway=provider.leeway,
                iss={"value": provider.issuer},
                aud={"values": list(provider.audiences)},
                sub={"essential": True},
            ).validate(dict(answer))
        except (JoseError, ValueError) as exc:
            raise TokenRejected(describe_claims_error(exc)) from None
        token_type = answer.get("token_type")
        if isinstance(token_type, str) and token_type.lower() in {"refresh_token", "refresh"}:
            raise TokenRejected("a refresh token is not an access token (token_type)")
        return principal_from_claims(provider, answer)

    def _lifetime(self, provider: OidcProvider, answer: Mapping[str, Any]) -> float:
        """How long an active answer may be reused: the provider's TTL, never past exp."""
        lifetime = float(provider.introspection_cache_ttl)
        exp = answer.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            lifetime = min(lifetime, exp - self.now())
        return lifetime


class _AnswerCache:
    """Outcomes by token digest, each until its deadline, at most ``size`` of them."""

    def __init__(self, size: int, clock: Callable[[], float]) -> None:
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[bytes, tuple[float, Outcome]] = OrderedDict()

    def get(self, key: bytes) -> Outcome | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, outcome = entry
        if self.clock() >= deadline:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return outcome

    def put(self, key: bytes, outcome: Outcome, lifetime: float) -> None:
        if lifetime <= 0:
            return  # e.g. introspection_cache_ttl = 0, or exp already (within leeway) past
        self._entries[key] = (self.clock() + lifetime, outcome)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
