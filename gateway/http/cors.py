"""Cross-origin browser pages: CORS over HTTP and the origins the GraphQL websocket admits,
both from one setting, ``http.cors_origins`` (``GATEWAY_CORS_ORIGINS``).

* Listed origins get CORS with credentials: their pages may send the session cookie
  (``credentials: "include"``) or an ``Authorization`` header and read the answers; the
  same origins may open the GraphQL websocket.
* ``*`` (which the settings allow only alone) lets any page call the API over HTTP, but
  without credentials: the answer carries ``Access-Control-Allow-Origin: *`` and no
  ``Access-Control-Allow-Credentials``, so browsers neither send the cookie nor show the
  answer to a page that asked with it. The websocket admits no other origin for ``*``:
  browsers attach cookies to a websocket handshake whatever CORS says, so admitting any
  origin there would let any page subscribe as the logged-in user.
* Nothing configured: no CORS at all (a preflight is not answered) and the websocket admits
  same-origin pages only, as before. Clients that are not browsers send no ``Origin`` and
  are never affected.

An unlisted origin gets no ``Access-Control-Allow-Origin``, its preflight a 400, its
websocket handshake a 403 (strawberry's origin check, given the same list).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["ALLOWED_HEADERS", "EXPOSED_HEADERS", "cors_middleware", "websocket_origins"]

# Request headers a cross-origin page may send (beyond the CORS-safelisted ones): a bearer
# token, a request id, and what Apollo Client and its kin add.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Request-ID",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
)
# Response headers such a page may read: why to wait, how to authenticate, which request.
EXPOSED_HEADERS = ("Retry-After", "WWW-Authenticate", "X-Request-ID")
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight's answer


def cors_middleware(settings: Settings) -> list[Middleware]:
    """The CORS layer for ``settings.cors_origins``; none when it is empty."""
    origins = settings.cors_origins
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=("GET", "POST"),
            allow_headers=ALLOWED_HEADERS,
            # Never with "*": the settings refuse "*" beside listed origins.
            allow_credentials=origins != ("*",),
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE,
        )
    ]


def websocket_origins(settings: Settings) -> tuple[str, ...]:
    """Other origins the GraphQL websocket admits (strawberry's ``allowed_origins``):
    the listed ones; none for ``*`` (see the module's notes). Same-origin pages and
    clients without ``Origin`` are always admitted."""
    return () if settings.cors_origins == ("*",) else settings.cors_origins
