"""Writes: the one path every mutation takes (:mod:`gateway.writes.path`) and the
@mentions a post sends (:mod:`gateway.writes.mentions`).

Both take a :class:`~gateway.runtime.caller.Caller`, never a GraphQL context: a write can
be made by any front door (the GraphQL mutations today, a command or a job tomorrow).
"""

from gateway.writes.path import (
    EMAIL,
    IDEMPOTENCY_WAIT,
    MAX_BODY,
    MAX_IDEMPOTENCY_KEY,
    MAX_NOTE,
    MAX_TAGS,
    MAX_TITLE,
    TAG,
    Checks,
    ErrorCode,
    Problem,
    Write,
    WriteRefused,
    audit_refusal,
    author_of,
    authorize,
    perform,
    refuse,
    target,
    target_space,
)

__all__ = [
    "EMAIL",
    "IDEMPOTENCY_WAIT",
    "MAX_BODY",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_NOTE",
    "MAX_TAGS",
    "MAX_TITLE",
    "TAG",
    "Checks",
    "ErrorCode",
    "Problem",
    "Write",
    "WriteRefused",
    "audit_refusal",
    "author_of",
    "authorize",
    "perform",
    "refuse",
    "target",
    "target_space",
]
