"""Errors whose message is meant for the client, and the codes every GraphQL error carries.

A client matches ``extensions.code``, never a message. :class:`ErrorCode` is the one
list (the README's "Error codes" section documents it); each :class:`ClientError`
names its own, and :class:`gateway.schema.extensions.NameErrorCodes` puts a code on
every error of every result, graphql-core's own parse and validation errors included.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class ErrorCode(enum.StrEnum):
    """``extensions.code`` of a GraphQL error (not a mutation payload's ``errors``)."""

    BAD_REQUEST = "BAD_REQUEST"  # HTTP 400 before GraphQL runs: the body is not JSON / UTF-8
    BAD_USER_INPUT = "BAD_USER_INPUT"  # a bad id, cursor, argument or variable value
    FORBIDDEN = "FORBIDDEN"  # known caller, not allowed (the admin API to a non-admin)
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"  # not GraphQL
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"  # GraphQL, not for this schema
    IDENTITY_UNAVAILABLE = "IDENTITY_UNAVAILABLE"  # the token could not be checked: retry
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"  # our fault; the message is masked
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"  # HTTP 405 (a mutation over GET, say)
    NOT_FOUND = "NOT_FOUND"  # reserved: absent and hidden objects answer null, not an error
    # Persisted documents (gateway/http/persisted.py): a hash the gateway does not know (send
    # the query with it), a document this caller may not run, persisted queries turned off.
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"  # over a depth, alias, token, fan-out or cost limit
    RATE_LIMITED = "RATE_LIMITED"  # HTTP 429: over the caller's rate limit; see Retry-After
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"  # HTTP 413/414: over graphql.max_body_bytes
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"  # one store failed; extensions.store names it
    UNAUTHENTICATED = "UNAUTHENTICATED"  # the credentials are missing or not valid
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"  # HTTP 415: a body that is not JSON


class ClientError(Exception):
    """An error the caller can act on; its message reaches the client unmasked."""

    code: ClassVar[ErrorCode] = ErrorCode.BAD_USER_INPUT

    def extensions(self) -> dict[str, str]:
        """What the GraphQL error's ``extensions`` say besides the message."""
        return {"code": self.code.value}


class InvalidId(ClientError):
    def __init__(self, value: str, expected: str | None = None) -> None:
        what = f"a {expected} id" if expected else "a valid id"
        super().__init__(f"invalid id {value[:80]!r}: not {what}")


class InvalidCursor(ClientError):
    def __init__(self, value: str) -> None:
        super().__init__(f"invalid cursor {value[:80]!r}")


class InvalidArgument(ClientError):
    pass


class StoreDown(ClientError):
    """One store could not answer; the other store's data is still served."""

    code = ErrorCode.STORE_UNAVAILABLE

    def __init__(self, store: str) -> None:
        self.store = store
        super().__init__(f"the {store} store is unavailable")

    def extensions(self) -> dict[str, str]:
        return {**super().extensions(), "store": str(self.store)}
