"""Statements on forum users: lookups by id, email and username, trust levels, new accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select

from adapters.community._tables import users

if TYPE_CHECKING:
    from sqlalchemy import Insert, Select

    from gateway.domain.model import Author

__all__ = [
    "by_emails",
    "by_handles",
    "by_ids",
    "by_ids_or_emails",
    "id_of",
    "new_user",
    "trust_level",
]


def by_ids(wanted: list[int]) -> Select[Any]:
    return select(users).where(users.c.id.in_(wanted))


def by_emails(emails: list[str]) -> Select[Any]:
    """Users by verified (lower-cased) email."""
    return select(users).where(users.c.email.in_(emails), users.c.email_verified)


def by_ids_or_emails(wanted_ids: list[int], emails: list[str]) -> Select[Any]:
    """Users among ``wanted_ids`` or with one of these verified (lower-cased) emails."""
    return select(users).where(
        or_(users.c.id.in_(wanted_ids), and_(users.c.email.in_(emails), users.c.email_verified))
    )


def by_handles(handles: list[str]) -> Select[Any]:
    """Users by lower-cased username: the forum's usernames are case-insensitive."""
    return select(users).where(func.lower(users.c.username).in_(handles))


def trust_level(email: str) -> Select[Any]:
    """The trust level of the verified account with this email."""
    return select(users.c.trust_level).where(
        users.c.email == email.strip().lower(), users.c.email_verified
    )


def id_of(email: str) -> Select[Any]:
    return select(users.c.id).where(users.c.email == email)


def new_user(author: Author, email: str, username: str) -> Insert:
    """The account of a first write: its email verified (the gateway only writes for
    verified emails) and at trust level 0."""
    return users.insert().values(
        username=username,
        name=author.display_name,
        email=email,
        email_verified=True,
        trust_level=0,
        company=author.organisation,
        created_at=datetime.now(UTC),
    )
