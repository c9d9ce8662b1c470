"""Shared pieces of bearer-token checking."""

from __future__ import annotations

import json
from typing import Any

from joserfc import jws
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)


class TokenRejected(Exception):
    """A bearer token that failed validation; the message says why (sent to the client)."""


class VerificationUnavailable(Exception):
    """A token that could not be checked: a service the check needs did not answer usefully.

    Never a verdict on the token, so it is not answered like :class:`TokenRejected`
    (a client told its token is invalid throws it away). The message says what failed,
    in words fit for the client.
    """


def is_jwt(token: str) -> bool:
    """Whether ``token`` has a JWT's shape, whose issuer chooses the verifier.

    Anything else (an opaque access token) can only be checked by asking the provider.
    """
    try:
        peek_issuer(token)
    except TokenRejected:
        return False
    return True


def peek_issuer(token: str) -> str | None:
    """The unverified ``iss`` claim, only to choose which verifier should check the token."""
    issuer = _payload(token).get("iss")
    return issuer if isinstance(issuer, str) else None


def peek_expiry(token: str) -> float:
    """The ``exp`` claim of a token already verified (0 when it has no usable one)."""
    exp = _payload(token).get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else 0.0


def _payload(token: str) -> dict[str, Any]:
    try:
        compact = jws.extract_compact(token.encode())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError is how json refuses deeply nested arrays: still just a bad token.
        raise TokenRejected("the token is not a well-formed JWT") from None
    if not isinstance(claims, dict):
        raise TokenRejected("the token payload is not a JSON object")
    return claims


def peek_header(token: str) -> dict[str, Any]:
    """The unverified protected header, only to choose the key and refuse algorithms early."""
    try:
        return dict(jws.extract_compact(token.encode()).protected)
    except (JoseError, ValueError, UnicodeDecodeError, RecursionError):
        raise TokenRejected("the token is not a well-formed JWT") from None


def describe_claims_error(exc: Exception) -> str:
    """What is wrong with a token (signature or claims), in words a client developer can use."""
    if isinstance(exc, BadSignatureError):
        return "the signature does not verify"
    if isinstance(exc, ExpiredTokenError):
        return "the token has expired"
    if isinstance(exc, MissingClaimError):
        return f"the token lacks a required claim ({exc.claim})"
    if isinstance(exc, ClaimError):
        if exc.claim == "nbf":
            return "the token is not valid yet (nbf)"
        if exc.claim == "aud":
            return "the token is not meant for this gateway (aud)"
        if exc.claim == "iat":
            return "the token was issued in the future (iat)"
        if exc.claim == "iss":
            return "the token is from another issuer (iss)"
        return f"the {exc.claim} claim is invalid"
    text = getattr(exc, "description", None) or str(exc) or exc.__class__.__name__
    return text.rstrip(".")
