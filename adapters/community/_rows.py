"""From the forum's rows to the gateway's domain: categories are spaces, topics questions,
later posts answers, users people, group memberships memberships."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters._joined import joined
from adapters.community._tables import STYLE_DISCUSSION, STYLE_QA, users
from gateway.domain.model import (
    VISIBILITY_OF,
    AccessEntry,
    Answer,
    Membership,
    Person,
    Question,
    Space,
    SpaceKind,
    SpaceRole,
    StoreName,
    space_key,
)

if TYPE_CHECKING:
    from adapters._sql import AnyRow

__all__ = [
    "ANSWER_COUNT",
    "KIND_OF_STYLE",
    "STORE",
    "STYLE_OF_KIND",
    "access_entry",
    "answer",
    "membership",
    "person",
    "question",
    "space",
]

STORE = StoreName.COMMUNITY
ANSWER_COUNT = "answer_count"  # the column of a scoped topic read that counts its answers
KIND_OF_STYLE = {STYLE_QA: SpaceKind.QA, STYLE_DISCUSSION: SpaceKind.GROUP}
STYLE_OF_KIND = {kind: style for style, kind in KIND_OF_STYLE.items()}


# A question's author, joined into the read that finds it (adapters.community._questions).
AUTHOR = "author_"
AUTHOR_COLUMNS = tuple(
    users.c[name].label(AUTHOR + name)
    for name in ("id", "username", "name", "email", "email_verified", "company", "title")
)


def question(
    row: AnyRow, tag_names: dict[int, tuple[str, ...]], *, space: Space | None = None
) -> Question:
    """A topic; ``space``, its category when the read joined it in."""
    return Question(
        store=STORE,
        id=str(row.id),
        space_id=str(row.category_id),
        title=row.title,
        body=row.raw or "",
        author_id=None if row.user_id is None else str(row.user_id),
        tags=tag_names.get(row.id, ()),
        accepted_answer_id=(
            None if row.accepted_answer_post_id is None else str(row.accepted_answer_post_id)
        ),
        created_at=row.created_at,
        hidden=row.hidden_at is not None,
        featured=row.pinned_at is not None,
        archived=row._mapping.get("archived_at") is not None,
        answer_count=row._mapping.get(ANSWER_COUNT),
        author=_author(row),
        space=space,
    )


def answer(row: AnyRow) -> Answer:
    return Answer(
        store=STORE,
        id=str(row.id),
        question_id=str(row.topic_id),
        space_id=str(row.category_id),
        body=row.raw,
        author_id=None if row.user_id is None else str(row.user_id),
        accepted=row.id == row.accepted_answer_post_id,
        created_at=row.created_at,
        hidden=row.hidden_at is not None,
    )


def space(row: AnyRow, tag_names: dict[int, tuple[str, ...]]) -> Space:
    return Space(
        store=STORE,
        id=str(row.id),
        slug=row.slug,
        kind=KIND_OF_STYLE[row.style],
        name=row.name,
        description=row.description,
        visibility=VISIBILITY_OF[row.visibility],
        tags=tag_names.get(row.id, ()),
        archive_exempt=bool(row._mapping.get("archive_exempt")),
    )


def person(row: AnyRow) -> Person:
    return Person(
        store=STORE,
        id=str(row.id),
        display_name=row.name,
        handle=row.username,
        email=row.email if row.email_verified else None,
        organisation=row.company,
        title=row.title,
    )


def _author(row: AnyRow) -> Person | None:
    """The author of a row with :data:`AUTHOR_COLUMNS` (None without them, or when gone)."""
    found = joined(row, AUTHOR, "id")
    return None if found is None else person(found)


def membership(row: AnyRow) -> Membership:
    """A row of :func:`adapters.community._members.memberships_of`."""
    return Membership(
        store=STORE,
        space_id=str(row.id),
        space_key=space_key(STORE, VISIBILITY_OF[row.visibility], row.slug),
        role=SpaceRole.OWNER if row.owner else SpaceRole.MEMBER,
        expires_at=row.expires_at,
    )


def access_entry(row: AnyRow) -> AccessEntry:
    """A row of :func:`adapters.community._members.access_entries`."""
    return AccessEntry(
        space=space(row, {}),
        email=row.email if row.email_verified else None,
        display_name=row.user_name,
        role=SpaceRole.OWNER if row.owner else SpaceRole.MEMBER,
        expires_at=row.expires_at,
        sponsor_email=None,
    )
