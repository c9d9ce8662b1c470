"""Profiles as people: their columns and mapping, the lookups, and a new author's profile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, or_, select

from adapters._joined import joined
from adapters._sql import native_ids
from adapters.internal._shared import STORE
from adapters.internal._tables import profiles
from gateway.domain.model import Person

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Insert, Select

    from adapters._sql import AnyRow
    from gateway.domain.model import Author

_PERSON_COLUMNS = (
    profiles.c.id,
    profiles.c.full_name,
    profiles.c.handle,
    profiles.c.email,
    profiles.c.company,
    profiles.c.job_title,
    profiles.c.department,
)


def person(row: AnyRow) -> Person:
    """A person from a row with the person columns."""
    return Person(
        store=STORE,
        id=str(row.id),
        display_name=row.full_name,
        handle=row.handle,
        email=row.email,
        organisation=row.company,
        title=row.job_title,
        department=row.department,
    )


# A question's author, joined into the read that finds it (adapters.internal._questions).
AUTHOR = "author_"
AUTHOR_COLUMNS = tuple(c.label(AUTHOR + c.name) for c in _PERSON_COLUMNS)


def joined_author(row: AnyRow) -> Person | None:
    """The author of a row with :data:`AUTHOR_COLUMNS` (None without them, or when gone)."""
    found = joined(row, AUTHOR, "id")
    return None if found is None else person(found)


def by_ids(ids: Sequence[str]) -> Select[Any] | None:
    """Profiles among ``ids``; None when no id is valid."""
    native = native_ids(ids)
    if not native:
        return None
    return select(*_PERSON_COLUMNS).where(profiles.c.id.in_(native))


def by_emails(wanted: Sequence[str]) -> Select[Any]:
    """Profiles with these (lower-cased) emails."""
    return select(*_PERSON_COLUMNS).where(profiles.c.email.in_(wanted))


# Built once: every page links its community authors to profiles with it.
_BY_IDS_OR_EMAILS = select(*_PERSON_COLUMNS).where(
    or_(
        profiles.c.id.in_(bindparam("ids", expanding=True)),
        profiles.c.email.in_(bindparam("emails", expanding=True)),
    )
)


def by_ids_or_emails(
    ids: Sequence[str], wanted: Sequence[str]
) -> tuple[Select[Any], dict[str, list[Any]]] | None:
    """Profiles among ``ids`` or with these (lower-cased) emails, and the values to bind;
    None when neither can name a profile."""
    native = native_ids(ids)
    if not native and not wanted:
        return None
    return _BY_IDS_OR_EMAILS, {"ids": native, "emails": list(wanted)}


def by_handles(wanted: Sequence[str]) -> Select[Any]:
    """Profiles with these (lower-cased) handles, case-insensitively."""
    return select(*_PERSON_COLUMNS).where(func.lower(profiles.c.handle).in_(wanted))


def profile_id(email: str) -> Select[Any]:
    """The id of the profile with this (lower-cased) email."""
    return select(profiles.c.id).where(profiles.c.email == email)


def new_profile(author: Author, email: str, handle: str) -> Insert:
    """The profile of a first-time author (a taken email or handle raises IntegrityError)."""
    return profiles.insert().values(
        email=email,
        full_name=author.display_name,
        handle=handle,
        company=author.organisation,
        is_external=author.external,
    )
