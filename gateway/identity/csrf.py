"""Cross-site request forgery tokens for the gateway's own HTML forms.

The session cookie is ``SameSite=Lax``, so browsers already keep it off cross-site
POSTs; the token is the second lock, for browsers or set-ups where that does not hold
(a sibling subdomain is "same site"). One random token per session, kept in the
server-side session (the synchronizer token pattern): rendered into every form as a
hidden field, sent by the page's scripts as a header, and compared in constant time.
Logging in or out clears the session (and ends its row), so a token never outlives the
login it was issued to.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import MutableMapping

SESSION_KEY = "csrf"
FIELD = "csrf_token"  # the hidden form field
HEADER = "x-csrf-token"  # what scripts send instead (fetch)
_BYTES = 32


def issue(session: MutableMapping[str, Any]) -> str:
    """This session's token, made on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(_BYTES)
    return token


def valid(session: MutableMapping[str, Any], presented: object) -> bool:
    """Whether ``presented`` is this session's token (a session without one accepts none)."""
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str) or not expected or not isinstance(presented, str):
        return False
    # Bytes: compare_digest refuses non-ASCII str, and a forged token may be anything.
    return secrets.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))
