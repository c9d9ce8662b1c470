"""The key cache on its own: which keys of a key set it keeps, and who waits for a refresh."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

from gateway.identity.jwks import JwksCache, _signing_keys
from tests.identity.idp import make_key

if TYPE_CHECKING:
    from gateway.config import Settings
    from tests.identity.conftest import FakeClock
    from tests.identity.idp import LocalIdP


def test_only_public_signature_keys_are_kept() -> None:
    rsa = make_key("corp")
    ec = make_key("partner", "ES256")
    encryption = {**make_key("other").as_dict(private=False), "kid": "enc", "use": "enc"}
    private = {**make_key("leaky").as_dict(private=True), "kid": "leaky"}
    secret = {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}
    broken = {"kty": "RSA", "kid": "broken", "n": "not base64url!"}
    keys = _signing_keys(
        {
            "keys": [
                rsa.as_dict(private=False),
                ec.as_dict(private=False),
                encryption,
                private,
                secret,
                broken,
                "not an object",
            ]
        }
    )
    assert set(keys) == {rsa.kid, ec.kid}


async def test_a_slow_refresh_holds_up_only_the_request_that_makes_it(
    idp: LocalIdP, settings: Settings, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    provider = settings.providers[0]
    async with httpx.AsyncClient() as client:
        cache = JwksCache(provider, client, clock=clock)
        kid = corp.signing_key.kid
        assert (await cache.key(kid)).kid == kid
        clock.advance(3600)  # the cached set is now old: the next lookup refreshes it
        corp.jwks_delay = 1.0
        corp.jwks_requested.clear()
        refreshing = asyncio.create_task(cache.key(kid))
        # Once the refresh has reached the provider:
        assert await asyncio.to_thread(corp.jwks_requested.wait, 10)
        assert (await cache.key(kid)).kid == kid  # answered from the cache meanwhile
        assert not refreshing.done()
        assert (await refreshing).kid == kid
        assert corp.jwks_requests == 2
