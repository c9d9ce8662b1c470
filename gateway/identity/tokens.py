"""Shared pieces of bearer-token checking."""

from __future__ import annotations

import json
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError


class TokenRejected(Exception):
    """A bearer token that failed validation; the message says why (sent to the client)."""


def peek_issuer(token: str) -> str | None:
    """The unverified ``iss`` claim, only to choose which verifier should check the token."""
    try:
        compact = jws.extract_compact(token.encode())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError is how json refuses deeply nested arrays: still just a bad token.
        raise TokenRejected("the token is not a well-formed JWT") from None
    if not isinstance(claims, dict):
        raise TokenRejected("the token payload is not a JSON object")
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def peek_header(token: str) -> dict[str, Any]:
    """The unverified protected header, only to choose the key and refuse algorithms early."""
    try:
        return dict(jws.extract_compact(token.encode()).protected)
    except (JoseError, ValueError, UnicodeDecodeError, RecursionError):
        raise TokenRejected("the token is not a well-formed JWT") from None
