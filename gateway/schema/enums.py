"""The schema's enums: the domain's own enums, registered in place with a description on
the type and on every value (what a client's code generator shows its developers).

``strawberry.enum`` registers a domain enum in place and returns the same class; naming that
class by plain assignment lets type checkers read the names as types in annotations.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import strawberry

from gateway.domain import model as domain
from gateway.writes import ErrorCode

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["InvitationState", "SpaceKind", "SpaceRole", "Store", "UserErrorCode", "Visibility"]


def _described(
    cls: type[enum.Enum], name: str, description: str, values: Mapping[enum.Enum, str]
) -> None:
    strawberry.enum(cls, name=name, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]  # set just above
    if set(values) != set(cls):
        raise ValueError(f"{name}: describe every value")  # caught by importing the schema
    for value in definition.values:
        value.description = values[cls[value.name]]


_described(
    domain.SpaceKind,
    "SpaceKind",
    "What a space is for.",
    {
        domain.SpaceKind.GROUP: "A group: members talk among themselves.",
        domain.SpaceKind.QA: "A Q&A forum: questions, their answers, an accepted answer.",
        domain.SpaceKind.PROTOTYPE_FEEDBACK: "Prototypes shown for rated feedback.",
    },
)
_described(
    domain.StoreName,
    "Store",
    "Which store holds it: ids name their store, and lists span both.",
    {
        domain.StoreName.INTERNAL: "The internal collaboration store (employees, invited "
        "partners).",
        domain.StoreName.COMMUNITY: "The public community forum.",
    },
)
_described(
    domain.SpaceRole,
    "SpaceRole",
    "A role in a space: the one you hold (viewerRole), or the one an invitation gives.",
    {
        domain.SpaceRole.OWNER: "Owns the space: manages its members and invitations.",
        domain.SpaceRole.MEMBER: "A member of the space.",
        domain.SpaceRole.GUEST: "An invited guest (an external) in the space.",
    },
)
_described(
    domain.Visibility,
    "Visibility",
    "Who may find a space, as its store classes it (the policy decides on it).",
    {
        domain.Visibility.OPEN: "Internal: every employee.",
        domain.Visibility.RESTRICTED: "Internal: its members only.",
        domain.Visibility.SHARED: "Internal: employees and the externals invited to it.",
        domain.Visibility.PUBLIC: "Community: anyone, even without logging in.",
        domain.Visibility.MEMBERS: "Community: registered accounts.",
        domain.Visibility.TRUSTED: "Community: accounts of trust level 3 or more.",
        domain.Visibility.PRIVATE: "Community: only the groups its category grants.",
    },
)
_described(
    domain.InvitationStatus,
    "InvitationState",
    "Where an invitation stands.",
    {
        domain.InvitationStatus.PENDING: "Sent, not yet accepted, not expired.",
        domain.InvitationStatus.ACCEPTED: "The invitee logged in and holds the role.",
        domain.InvitationStatus.REVOKED: "Withdrawn by someone who manages the space.",
        domain.InvitationStatus.EXPIRED: "Not accepted before it expired.",
    },
)
_described(
    ErrorCode,
    "UserErrorCode",
    "Why a write failed.",
    {
        ErrorCode.INVALID: "The input breaks a rule; `field` says which.",
        ErrorCode.NOT_FOUND: "No such target, or not one you may see.",
        ErrorCode.FORBIDDEN: "You see it, but the policy does not let you do this.",
        ErrorCode.UNAUTHENTICATED: "Log in (with a verified email address) first.",
        ErrorCode.CONFLICT: "The idempotency key was used for another write, or is busy.",
        ErrorCode.UNAVAILABLE: "A store or the audit log is down; nothing was written.",
        ErrorCode.RATE_LIMITED: "Too many of these lately; the message says when to retry.",
        ErrorCode.INVARIANT: "It would break a declared access invariant (policy-invariants"
        ".csv); the message names it, and a principal and space that would break it.",
    },
)
SpaceKind = domain.SpaceKind
Store = domain.StoreName
SpaceRole = domain.SpaceRole
Visibility = domain.Visibility
InvitationState = domain.InvitationStatus
UserErrorCode = ErrorCode
