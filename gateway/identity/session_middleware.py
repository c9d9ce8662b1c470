"""Server-side sessions: ``request.session`` is a dict loaded from, and saved to, the records
database by the id the cookie carries.

It replaces Starlette's ``SessionMiddleware`` (a signed cookie that holds the session
itself, which nothing can end before it expires): authlib's Starlette client and our
own code keep using ``request.session`` as before. ``starsessions`` has pluggable stores,
but hands them opaque bytes: revoking and listing a person's sessions needs the principal
in a column, and logout, idle time and records-down answers need the row's own fields,
so the store here is ours either way and the middleware around it is small.

* The cookie is the signed (itsdangerous) random id; HttpOnly, SameSite=Lax, Secure by
  setting.
* A session is written only when its content changed; otherwise its ``last_seen`` at most
  every :data:`TOUCH_EVERY` seconds, so most requests cost one indexed read.
* Logging in (a new principal in the session) gives a new id and ends the one before
  (no session fixation); an emptied session (logout) ends its row at once, on every
  replica.
* The records database down: a cookie is then read as no session (a guest, with a
  warning in the log), never a 500; a response that would have to save a session is
  answered 503 instead, so no login silently fails to stick.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING, Any

import itsdangerous
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from gateway.identity.session import principal_id_of, stored_provider
from gateway.identity.session_store import key_of
from gateway.stores.guard import STORE_FAILURES

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from gateway.identity.session_store import SessionStore, StoredSession

log = logging.getLogger("gateway.identity")

# Seconds between writes of an unchanged session's last_seen (capped by a quarter of the
# idle timeout, so a short timeout is still kept by an active browser).
TOUCH_EVERY = 60
# The login state of a visitor not logged in yet (authlib's state, nonce, PKCE verifier)
# lives this long: long enough to pass the provider's login page.
PRE_LOGIN_LIFETIME = 1800
# A records database that hangs is treated as down rather than holding the request.
STORE_TIMEOUT = 3.0
COOKIE_SALT = "gateway.session-id"  # itsdangerous salt of the cookie's signature


class ServerSessionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        store: SessionStore,
        secret_key: str,
        cookie_name: str,
        max_age: int,
        https_only: bool,
        now: Callable[[], datetime],
    ) -> None:
        self.app = app
        self.store = store
        self.signer = itsdangerous.Signer(secret_key, salt=COOKIE_SALT)
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.https_only = https_only
        self.now = now
        idle = int(store.idle.total_seconds())
        self.touch_every = max(1, min(TOUCH_EVERY, idle // 4))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        presented = self._session_id(HTTPConnection(scope))
        loaded: StoredSession | None = None
        unavailable = False
        if presented is not None:
            try:
                async with asyncio.timeout(STORE_TIMEOUT):
                    loaded = await self.store.load(key_of(presented), self.now())
            except STORE_FAILURES as exc:
                unavailable = True  # the cookie may well be good: kept, not cleared
                log.warning(
                    "session store unreachable, request answered as a guest: %s",
                    exc.__class__.__name__,
                )
        initial = dict(loaded.data) if loaded else {}
        scope["session"] = dict(initial)
        if scope["type"] == "websocket":
            # A handshake reads the session (who is subscribing); it never changes one.
            await self.app(scope, receive, send)
            return

        replaced = False

        async def send_wrapper(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the app's own answer, which we replaced with a 503
            if message["type"] == "http.response.start":
                cookie: str | None = None
                # No session before and none now: nothing to save or end (_commit would
                # ask no store), so no deadline to arm; only a stale cookie to forget.
                if loaded is not None or scope["session"]:
                    try:
                        async with asyncio.timeout(STORE_TIMEOUT):
                            cookie = await self._commit(scope["session"], initial, loaded)
                    except STORE_FAILURES as exc:
                        log.warning("session store unreachable, session not saved: %s", exc)
                        replaced = True
                        refusal = JSONResponse(
                            {"errors": [{"message": "sessions cannot be saved right now; retry"}]},
                            status_code=503,
                            headers={"Retry-After": "5"},
                        )
                        await refusal(scope, receive, send)
                        return
                if cookie is None and presented is not None and loaded is None and not unavailable:
                    cookie = ""  # a cookie for no session (ended, expired): forget it
                if cookie is not None:
                    MutableHeaders(scope=message).append("Set-Cookie", self._cookie(cookie))
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _session_id(self, conn: HTTPConnection) -> str | None:
        raw = conn.cookies.get(self.cookie_name)
        if not raw:
            return None
        try:
            return self.signer.unsign(raw.encode()).decode()
        except (itsdangerous.BadSignature, UnicodeDecodeError):
            return None  # forged, or signed with a former secret: no session

    async def _commit(
        self, session: dict[str, Any], initial: dict[str, Any], loaded: StoredSession | None
    ) -> str | None:
        """Save what changed; returns the cookie value to set ("" to delete), or None."""
        now = self.now()
        if not session:
            if loaded is not None:
                await self.store.end(loaded.key, now, "logout")
                return ""
            return None
        principal = principal_id_of(session)
        if loaded is None or principal != loaded.principal:
            session_id = secrets.token_urlsafe(32)
            await self.store.create(
                key_of(session_id),
                session,
                principal=principal,
                provider=stored_provider(session),
                now=now,
                lifetime=self.max_age if principal else min(self.max_age, PRE_LOGIN_LIFETIME),
                replaces=loaded.key if loaded else None,
            )
            return self.signer.sign(session_id.encode()).decode()
        if session != initial:
            await self.store.save(loaded.key, session, now)
        elif (now - loaded.last_seen).total_seconds() >= self.touch_every:
            await self.store.save(loaded.key, None, now)
        return None

    def _cookie(self, value: str) -> str:
        parts = [f"{self.cookie_name}={value}", "path=/", "httponly", "samesite=lax"]
        parts.append(f"Max-Age={self.max_age if value else 0}")
        if not value:
            parts.append("expires=Thu, 01 Jan 1970 00:00:00 GMT")
        if self.https_only:
            parts.append("secure")
        return "; ".join(parts)
