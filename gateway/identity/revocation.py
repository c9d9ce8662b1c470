"""The "not before" check on bearer tokens: offboarding's answer to tokens nobody can recall.

A provider's access token stays valid until it expires. When an admin revokes a
person's access (``gateway access revoke``), the gateway records a time; tokens of that
person issued (``iat``) before it are refused with 401 on every replica.

The standing revocations are few (people offboarded and not restored), so each replica
holds all of them and reloads them at most once a :data:`REFRESH` second: one small
query a second per replica rather than one per request, and a revoke reaches every
replica within that second. If the records database cannot be read, the last set read
stays in force. A replica that has never read it (the database down since start-up)
lets tokens through with a warning in the log: reads are served without the records
database, as everywhere else in the gateway, and that replica has no session to serve
either. (Raising :class:`VerificationUnavailable` there instead would answer 503.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from joserfc import jws
from joserfc.errors import JoseError

from gateway.identity.tokens import TokenRejected, is_jwt
from gateway.stores.guard import STORE_FAILURES

if TYPE_CHECKING:
    from collections.abc import Callable

    from gateway.domain.principal import Principal
    from gateway.identity.session_store import SessionStore

log = logging.getLogger("gateway.identity")

REFRESH = 1.0  # seconds a replica may answer from the revocations it read last
_TIMEOUT = 3.0


class RevocationCheck:
    def __init__(self, store: SessionStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self._known: dict[str, datetime] | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def _revocations(self) -> dict[str, datetime]:
        if self._known is not None and self.clock() - self._read_at < REFRESH:
            return self._known
        async with self._lock:  # concurrent requests share one read
            if self._known is not None and self.clock() - self._read_at < REFRESH:
                return self._known
            try:
                async with asyncio.timeout(_TIMEOUT):
                    self._known = await self.store.revocations()
            except STORE_FAILURES as exc:
                log.warning(
                    "access revocations not %s, the records database is unreachable: %s",
                    "read" if self._known is None else "refreshed",
                    exc.__class__.__name__,
                )
                if self._known is None:
                    self._known = {}  # none known yet: asked again in a second
            self._read_at = self.clock()
            return self._known

    async def check(self, principal: Principal, token: str) -> None:
        """Raise :class:`TokenRejected` when ``principal``'s access was revoked after the
        token was issued (or the token says not when it was issued)."""
        revocations = await self._revocations()
        not_before = revocations.get(principal.id)
        if not_before is None:
            return
        issued = issued_at(token)
        if issued is None or issued < not_before:
            raise TokenRejected(
                f"access was revoked for {principal.id} at "
                f"{not_before:%Y-%m-%d %H:%M:%S} UTC; log in again for a new token"
            )


def issued_at(token: str) -> datetime | None:
    """The ``iat`` of a token already verified; None for an opaque token or none given
    (the introspection answer's ``iat`` is not kept, so an opaque token of a revoked
    person is refused until access is restored)."""
    if not is_jwt(token):
        return None
    try:
        claims = json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    iat = claims.get("iat") if isinstance(claims, dict) else None
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        return None
    try:
        return datetime.fromtimestamp(iat, UTC)
    except (OverflowError, OSError, ValueError):
        return None
