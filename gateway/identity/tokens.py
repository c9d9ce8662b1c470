"""Shared pieces of bearer-token checking."""

from __future__ import annotations

import json

from joserfc import jws
from joserfc.errors import JoseError


class TokenRejected(Exception):
    """A bearer token that failed validation; the message says why (sent to the client)."""


def peek_issuer(token: str) -> str | None:
    """The unverified ``iss`` claim, only to choose which verifier should check the token."""
    try:
        compact = jws.extract_compact(token.encode())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeDecodeError):
        raise TokenRejected("the token is not a well-formed JWT") from None
    if not isinstance(claims, dict):
        raise TokenRejected("the token payload is not a JSON object")
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None
