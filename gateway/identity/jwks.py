"""One provider's signing keys: discovered, fetched, cached, and refetched sparingly.

The key set is fetched on first use (discovering ``jwks_uri`` from the issuer's
``/.well-known/openid-configuration`` unless it is configured). It is fetched
again only when a token names a key id the cache does not hold, or when the
cached set is older than ``max_age``, and never more than once per
``min_refetch_interval``, whether the fetch succeeds or not: a flood of tokens
with made-up key ids costs the provider one request per interval. A failed
fetch keeps the keys already cached, so tokens signed with them keep working
while the provider is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

if TYPE_CHECKING:
    from collections.abc import Callable

    from joserfc.jwk import Key

    from gateway.config import OidcProvider

log = logging.getLogger("gateway.identity")

MIN_REFETCH_INTERVAL = 30.0
MAX_AGE = 3600.0


class KeyUnavailable(Exception):
    """No key to check a token with; the message says why (sent to the client).

    ``unreachable``: the provider's keys were never fetched (it is down, or its discovery
    cannot be used), so the token was not judged at all; otherwise the keys are known and
    none fits the token."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class JwksCache:
    """The signing keys of one provider, fetched through an injected HTTP client."""

    def __init__(
        self,
        provider: OidcProvider,
        client: httpx.AsyncClient,
        *,
        min_refetch_interval: float = MIN_REFETCH_INTERVAL,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.client = client
        self.min_refetch_interval = min_refetch_interval
        self.max_age = max_age
        self.clock = clock
        self._jwks_uri = provider.jwks_uri
        self._keys: dict[str | None, Key] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        # One fetch at a time: concurrent requests for an unknown kid share it.
        self._lock = asyncio.Lock()
        # Moved by every key set fetched: what was verified under the old set is checked again.
        self.generation = 0

    async def key(self, kid: str | None) -> Key:
        """The key with id ``kid`` (None: the only key of a provider that omits ids)."""
        key = self._find(kid)
        # A known key is used at once, even from an old set while a refresh is under way:
        # only the request that refreshes waits for the provider.
        if key is not None and (not self._stale() or self._lock.locked()):
            return key
        async with self._lock:
            # Another request may have refreshed the set while this one waited.
            key = self._find(kid)
            if (key is None or self._stale()) and self._may_fetch():
                await self._refresh()
                key = self._find(kid)
        if key is not None:
            return key  # possibly from a stale set: better than refusing while the IdP is down
        raise KeyUnavailable(self._why_missing(kid), unreachable=self._fetched_at is None)

    def _find(self, kid: str | None) -> Key | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is not None and self.clock() - self._fetched_at >= self.max_age

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None
            or self.clock() - self._attempted_at >= self.min_refetch_interval
        )

    def _why_missing(self, kid: str | None) -> str:
        if self._fetched_at is None:
            return f"the signing keys of {self.provider.name!r} cannot be fetched right now"
        if kid is None:
            return "the token names no key id (kid) and the provider has several keys"
        return f"no signing key with id {kid!r} at {self.provider.name!r}"

    async def _refresh(self) -> None:
        self._attempted_at = self.clock()
        try:
            if self._jwks_uri is None:
                self._jwks_uri = await self._discover()
            keys = _signing_keys(await self._get_json(self._jwks_uri))
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, RecursionError) as exc:
            # Whatever the provider answers (or fails to), the outcome is "no new keys".
            reason = str(exc) or exc.__class__.__name__
            log.warning("cannot fetch the keys of provider %r: %s", self.provider.name, reason)
            return
        self._keys = keys
        self._fetched_at = self._attempted_at
        self.generation += 1

    async def _discover(self) -> str:
        document = await self._get_json(self.provider.discovery_url)
        # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was
        # fetched for, or its keys could be another issuer's.
        if document.get("issuer") != self.provider.issuer:
            raise ValueError(
                f"the discovery document names issuer {document.get('issuer')!r}, "
                f"not {self.provider.issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise ValueError("the discovery document has no jwks_uri")
        # Keys over plain http could be swapped in transit: no weaker than the issuer's URL.
        if (
            urlsplit(self.provider.issuer).scheme == "https"
            and urlsplit(jwks_uri).scheme != "https"
        ):
            raise ValueError(f"the discovery document's jwks_uri {jwks_uri!r} is not https")
        return jwks_uri

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self.client.get(url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise ValueError(f"GET {url} answered {response.status_code}")
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError(f"GET {url} did not answer a JSON object")
        return document


def _signing_keys(jwks: dict[str, Any]) -> dict[str | None, Key]:
    """The signature keys of a JWKS document by key id; keys it cannot use are skipped."""
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise ValueError("the key set has no 'keys' list")
    keys: dict[str | None, Key] = {}
    for entry in entries:
        # Encryption keys and symmetric keys never verify a provider's signature.
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") == "oct":
            continue
        try:
            key = JWKRegistry.import_key(entry)
        except (JoseError, ValueError, TypeError) as exc:
            log.info("skipping a key the gateway cannot use (%s): %s", entry.get("kid"), exc)
            continue
        if key.is_private:
            continue  # a provider that publishes a private key is broken; do not rely on it
        kid = entry.get("kid")
        keys[kid if isinstance(kid, str) else None] = key
    return keys
