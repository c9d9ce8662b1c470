"""The gateway's domain: what every store adapter maps its native schema to.

These are plain frozen dataclasses, independent of GraphQL and of any store's
tables. Native ids are strings so that every store can use its own key type.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

T = TypeVar("T")


class StoreName(enum.StrEnum):
    INTERNAL = "internal"
    COMMUNITY = "community"


class SpaceKind(enum.StrEnum):
    GROUP = "GROUP"
    QA = "QA"
    PROTOTYPE_FEEDBACK = "PROTOTYPE_FEEDBACK"


class Visibility(enum.StrEnum):
    """Visibility classes: the middle segment of a space's policy key.

    Internal store: ``open`` (every employee), ``restricted`` (members only),
    ``shared`` (employees plus invited externals).
    Community store: ``public`` (anyone, even without login), ``members``
    (registered accounts), ``trusted`` (minimum trust level 3 or more),
    ``private`` (only the groups the category grants).
    """

    OPEN = "open"
    RESTRICTED = "restricted"
    SHARED = "shared"
    PUBLIC = "public"
    MEMBERS = "members"
    TRUSTED = "trusted"
    PRIVATE = "private"


class SpaceRole(enum.StrEnum):
    """A principal's role inside one space, as held by the store (membership)."""

    OWNER = "space_owner"
    MEMBER = "space_member"
    GUEST = "space_guest"  # an invited external


# Enum members by value, for rows read by the thousand: ``Visibility(value)`` goes
# through Enum's call machinery each time (the population's 400,000 memberships spent
# 2.4 s there), a dict lookup does not.
VISIBILITY_OF: Mapping[str, Visibility] = MappingProxyType({v.value: v for v in Visibility})


def space_key(store: StoreName, visibility: Visibility, slug: str) -> str:
    """The Casbin domain of a space: ``store/visibility/slug``."""
    return f"{store.value}/{visibility.value}/{slug}"


@dataclass(frozen=True, slots=True)
class Space:
    store: StoreName
    id: str
    slug: str
    kind: SpaceKind
    name: str
    description: str
    visibility: Visibility
    tags: tuple[str, ...] = ()
    archive_exempt: bool = False  # ``gateway content prune`` never archives its questions

    @property
    def key(self) -> str:
        return space_key(self.store, self.visibility, self.slug)


@dataclass(frozen=True, slots=True)
class Person:
    store: StoreName
    id: str
    display_name: str
    handle: str
    email: str | None  # the verified email, which links one person across stores
    organisation: str | None = None
    title: str | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class Question:
    store: StoreName
    id: str
    space_id: str
    title: str
    body: str
    author_id: str | None
    tags: tuple[str, ...]
    accepted_answer_id: str | None
    created_at: datetime
    hidden: bool = False  # by a moderator: shown only to the space's moderators
    featured: bool = False
    archived: bool = False  # as stale (``gateway content prune``): listed only to moderators
    # Its answers as the reader who found it sees them (hidden ones only where they
    # moderate the space), when the scoped read that found it counted them in the same
    # statement; None when not counted. Derived, so not part of equality.
    answer_count: int | None = field(default=None, compare=False)
    # Its author's profile in its own store, when the read that found it joined it in
    # (unlinked: a community account is not yet its internal profile); None when not.
    author: Person | None = field(default=None, compare=False)
    # Its space, when the read that found it (in the reader's scope) joined it in.
    space: Space | None = field(default=None, compare=False)

    @property
    def answered(self) -> bool:
        return self.accepted_answer_id is not None


@dataclass(frozen=True, slots=True)
class Answer:
    store: StoreName
    id: str
    question_id: str
    space_id: str
    body: str
    author_id: str | None
    accepted: bool
    created_at: datetime
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Prototype:
    store: StoreName
    id: str
    space_id: str
    name: str
    version: str
    description: str


@dataclass(frozen=True, slots=True)
class Feedback:
    store: StoreName
    id: str
    prototype_id: str
    space_id: str
    rating: int
    body: str
    author_id: str | None
    internal_note: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """One principal's role in one space, with an optional expiry.

    ``pending`` marks an invitation to the principal's verified email that has not been
    bound yet: it grants nothing until the gateway binds it (on the principal's next
    request), which turns it into a plain membership.
    """

    store: StoreName
    space_id: str
    space_key: str
    role: SpaceRole
    expires_at: datetime | None = None
    pending: bool = False
    # (space key, role, expiry): what it adds to a compiled grant (CompileKey). Made once
    # here: a member of hundreds of spaces has them all read and keyed on every request.
    grant: tuple[str, str, datetime | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "grant", (self.space_key, self.role.value, self.expires_at))

    def active(self, now: datetime) -> bool:
        return not self.pending and (self.expires_at is None or self.expires_at > now)


class InvitationStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invitation of one email to one space with a role; the sponsor is who invited."""

    store: StoreName
    id: str
    space_id: str
    email: str
    role: SpaceRole
    sponsor_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None
    accepted_at: datetime | None = None

    def status(self, now: datetime) -> InvitationStatus:
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return InvitationStatus.EXPIRED  # an accepted one too: its membership ends with it
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        return InvitationStatus.PENDING


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """Someone's standing in a space as its store holds it: a membership, or an invitation
    that has not been accepted yet (``invited``). For access reports."""

    space: Space
    email: str | None
    display_name: str
    role: SpaceRole
    expires_at: datetime | None
    sponsor_email: str | None
    invited: bool = False


@dataclass(frozen=True, slots=True)
class Author:
    """Who writes, as a store needs to know them to attribute (and, first time, create) a
    profile: the verified email is the key that links one person across stores."""

    email: str
    display_name: str
    organisation: str | None
    external: bool  # not on the organisation's staff (partner, customer, contractor...)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list; ``has_next`` says whether more follow (for a
    page read backward, from the end: whether more come before it)."""

    items: list[T] = field(default_factory=list)
    has_next: bool = False
