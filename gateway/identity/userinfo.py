"""Claims an access token lacks, read from the provider's userinfo endpoint (OIDC Core 5.3).

Many providers put ``email`` and ``groups`` in the ID token and at the userinfo
endpoint, not in access tokens: without them a bearer token's holder would be
a guest where the same person logging in with a browser is an employee. With
``userinfo = true`` an *accepted* access token (a JWT that passed every check,
or an active introspection answer that is the gateway's) is completed from the
userinfo endpoint, asked with the token itself as Bearer, before the
provider's rules map it. The token's own claims win: userinfo only adds the
claims the token lacks, and never those about the token (``iss``, ``aud``,
``exp``...). The answer must be about the token's subject (``sub``), or the
token is refused.

The answer is cached by the token's SHA-256, never past the token's ``exp``
and at most :data:`USERINFO_CACHE_TTL`; concurrent requests with one token
share one call (:class:`~gateway.identity.cache.AnswerCache`, as for
introspection). A provider that cannot answer is a 503 with Retry-After (the
token was not judged); one that refuses the token (401, 403) is a 401.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import httpx

from gateway.identity.cache import CACHE_SIZE, AnswerCache, token_key
from gateway.identity.discovery import DiscoveryFailed, discover_endpoint
from gateway.identity.tokens import TokenRejected, VerificationUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gateway.config import OidcProvider

    # The userinfo claims, or the reason the token is refused.
    Answer = dict[str, Any] | str

log = logging.getLogger("gateway.identity")

# A userinfo answer is reused at most this long (seconds), and never past the token's exp:
# a change at the provider (a group removed) counts here within that time.
USERINFO_CACHE_TTL = 300.0
# Refusals are reused this long: a flood of one token costs the provider one call.
REFUSAL_TTL = 5.0
# Claims about the token, not the person: only the token itself may say them.
TOKEN_CLAIMS = frozenset(
    {
        *("iss", "sub", "aud", "exp", "nbf", "iat", "jti", "azp", "auth_time", "nonce"),
        *("client_id", "scope", "token_type", "typ", "active", "cnf", "acr", "amr", "sid"),
    }
)
_CHALLENGE_ERROR = re.compile(r'error="([A-Za-z0-9_.-]{1,64})"')


class Userinfo:
    """One provider's userinfo endpoint, asked over an injected HTTP client, with its cache."""

    def __init__(
        self,
        provider: OidcProvider,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        cache_size: int = CACHE_SIZE,
        timeout: float | None = None,
    ) -> None:
        self.provider = provider
        self.client = client
        self.now = now
        # None: the shared client's timeout.
        self.timeout = timeout
        self._url = provider.userinfo_endpoint
        self._cache: AnswerCache[Answer] = AnswerCache(clock, cache_size)
        # One discovery at a time: concurrent first requests share it.
        self._lock = asyncio.Lock()

    async def complete(self, token: str, claims: Mapping[str, Any]) -> dict[str, Any]:
        """``claims`` (of an accepted ``token``) with the userinfo claims they lack.

        Raises :class:`TokenRejected` when the endpoint refuses the token or answers for
        someone else, :class:`VerificationUnavailable` when it gives no usable answer.
        """
        answer = await self._cache.get(token_key(token), lambda: self._fetch(token, claims))
        if isinstance(answer, str):
            raise TokenRejected(answer)
        completed = dict(claims)
        for name, value in answer.items():
            if name not in TOKEN_CLAIMS and name not in completed:
                completed[name] = value
        return completed

    async def _fetch(self, token: str, claims: Mapping[str, Any]) -> tuple[Answer, float]:
        url = await self._endpoint()
        options: dict[str, Any] = {} if self.timeout is None else {"timeout": self.timeout}
        try:
            response = await self.client.get(
                url,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                **options,
            )
        except httpx.TimeoutException:
            raise self._unavailable("no answer in time") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._unavailable("cannot connect", str(exc)) from None
        if response.status_code in (401, 403):
            # RFC 6750, 3.1: the provider's verdict on this token (revoked, or without the
            # openid scope), said in its WWW-Authenticate challenge.
            match = _CHALLENGE_ERROR.search(response.headers.get("www-authenticate", ""))
            detail = f": {match.group(1)}" if match else ""
            reason = (
                f"the userinfo endpoint of {self.provider.name!r} refused the token "
                f"(HTTP {response.status_code}{detail})"
            )
            log.warning("%s", reason)
            return reason, REFUSAL_TTL
        if response.status_code != 200:
            raise self._unavailable(f"it answered HTTP {response.status_code}")
        if response.headers.get("content-type", "").split(";")[0].strip() == "application/jwt":
            raise self._unavailable("it answered a signed JWT; the gateway reads JSON userinfo")
        try:
            answer = response.json()
        except (ValueError, RecursionError):
            raise self._unavailable("it did not answer JSON") from None
        if not isinstance(answer, dict):
            raise self._unavailable("it did not answer a JSON object")
        # OIDC Core 5.3.2: the sub must be verified to match, or the claims are someone
        # else's (a token substitution at the provider, or a misrouted endpoint).
        if answer.get("sub") != claims.get("sub"):
            return (
                f"the userinfo endpoint of {self.provider.name!r} answered for another "
                "subject (sub) than the token's"
            ), REFUSAL_TTL
        return answer, self._lifetime(claims)

    def _lifetime(self, claims: Mapping[str, Any]) -> float:
        lifetime = USERINFO_CACHE_TTL
        exp = claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            lifetime = min(lifetime, exp - self.now())
        return lifetime

    async def _endpoint(self) -> str:
        if self._url is not None:
            return self._url
        async with self._lock:
            if self._url is None:  # another request may have discovered it meanwhile
                try:
                    self._url = await discover_endpoint(
                        self.client, self.provider, "userinfo_endpoint"
                    )
                except DiscoveryFailed as exc:
                    raise self._unavailable(str(exc), exc.detail) from None
        return self._url

    def _unavailable(self, reason: str, detail: str | None = None) -> VerificationUnavailable:
        log.warning(
            "cannot read the userinfo of a token at %r: %s%s",
            self.provider.name,
            reason,
            f" ({detail})" if detail else "",
        )
        return VerificationUnavailable(
            f"the userinfo endpoint of {self.provider.name!r} is unavailable ({reason})"
        )
