"""Bearer JWTs from a configured OpenID Connect provider, checked against its keys.

With ``userinfo = true`` the claims of a token that passed every check are
completed from the provider's userinfo endpoint (:mod:`gateway.identity.userinfo`)
before the provider's rules map them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from joserfc import jwt
from joserfc.errors import JoseError

from gateway.identity.claims import principal_from_claims
from gateway.identity.jwks import KeyUnavailable
from gateway.identity.tokens import (
    TokenRejected,
    VerificationUnavailable,
    describe_claims_error,
    peek_header,
    peek_issuer,
)
from gateway.identity.userinfo import Userinfo

if TYPE_CHECKING:
    from collections.abc import Callable

    from gateway.config import OidcProvider
    from gateway.domain.principal import Principal
    from gateway.identity.jwks import JwksCache


class OidcVerifier:
    """Checks one provider's tokens: signature, issuer, audience and lifetime, then its rules."""

    def __init__(
        self,
        provider: OidcProvider,
        cache: JwksCache,
        *,
        now: Callable[[], float] = time.time,
        userinfo: Userinfo | None = None,
    ) -> None:
        self.provider = provider
        self.cache = cache
        self.now = now
        # By default on the key cache's client and clock: one pool, one clock per provider.
        if userinfo is None and provider.userinfo:
            userinfo = Userinfo(provider, cache.client, clock=cache.clock, now=now)
        self.userinfo = userinfo

    @property
    def generation(self) -> int:
        """Moves when the provider's key set is fetched again."""
        return self.cache.generation

    async def verify(self, token: str) -> Principal | None:
        """The principal for a token of this provider; None when another issuer's."""
        provider = self.provider
        if peek_issuer(token) != provider.issuer:
            return None  # not this provider's: the next verifier, or the unknown-issuer 401
        header = peek_header(token)
        alg = header.get("alg")
        # Refused before any key is looked up: "none" and HS256 never reach the key set,
        # so they cannot trigger a refetch either.
        if not isinstance(alg, str) or alg not in provider.algorithms:
            raise TokenRejected(
                f"algorithm {alg!r} is not accepted from {provider.name!r} "
                f"(allowed: {', '.join(provider.algorithms)})"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("the key id (kid) must be a string")
        try:
            key = await self.cache.key(kid)
        except KeyUnavailable as exc:
            if exc.unreachable:  # nobody judged the token: 503, retry later (not "invalid")
                raise VerificationUnavailable(str(exc)) from None
            raise TokenRejected(str(exc)) from None
        try:
            # The explicit allow-list again: the key set never chooses the algorithm.
            decoded = jwt.decode(token, key, algorithms=list(provider.algorithms))
            jwt.JWTClaimsRegistry(
                now=lambda: int(self.now()),
                leeway=provider.leeway,
                iss={"essential": True, "value": provider.issuer},
                aud={"essential": True, "values": list(provider.audiences)},
                sub={"essential": True},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise TokenRejected(describe_claims_error(exc)) from None
        claims = decoded.claims
        if self.userinfo is not None:
            claims = await self.userinfo.complete(token, claims)
        return principal_from_claims(provider, claims)
