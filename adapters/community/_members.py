"""Statements on group memberships, through which the forum grants its categories.

A user belongs to groups; a group is granted categories. So a user's memberships, a
category's member count, its access entries and a member's removal all go through
``group_users`` and ``category_groups``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    Text,
    bindparam,
    case,
    distinct,
    exists,
    func,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from adapters.community._spaces import VISIBILITY
from adapters.community._tables import (
    UtcDateTime,
    categories,
    category_groups,
    group_users,
    users,
)

if TYPE_CHECKING:
    from sqlalchemy import BindParameter, Delete, Select
    from sqlalchemy.sql.compiler import SQLCompiler

__all__ = [
    "Reach",
    "access_entries",
    "holders",
    "links_of",
    "member_counts",
    "memberships_of",
    "reach_of_links",
    "remove_member",
]


@cache
def memberships_of() -> Select[Any]:
    """One row per (verified user with one of the emails bound as ``emails``, category
    their groups reach). Built once: it is on every signed-in request's path."""
    emails: BindParameter[str] = bindparam("emails", expanding=True)
    # One row per (user, category): the strongest role and the latest expiry
    # over every group that reaches the category (a NULL expiry means never).
    owner = func.max(case((group_users.c.owner, 1), else_=0))
    expires_at = type_coerce(
        case(
            (func.count() > func.count(group_users.c.expires_at), null()),
            else_=func.max(group_users.c.expires_at),
        ),
        UtcDateTime,
    )
    return (
        select(
            users.c.email,
            categories.c.id,
            categories.c.slug,
            VISIBILITY,
            owner.label("owner"),
            expires_at.label("expires_at"),
        )
        .select_from(
            users.join(group_users, group_users.c.user_id == users.c.id)
            .join(category_groups, category_groups.c.group_id == group_users.c.group_id)
            .join(categories, categories.c.id == category_groups.c.category_id)
        )
        .where(users.c.email.in_(emails), users.c.email_verified)
        .group_by(
            users.c.id,
            users.c.email,
            categories.c.id,
            categories.c.slug,
            categories.c.read_restricted,
            categories.c.min_trust_level,
            categories.c.login_required,
        )
        .order_by(categories.c.id, users.c.id)
    )


class rows_as_json(FunctionElement[Any]):
    """An aggregate: the rows' values of these columns as one JSON array of arrays, as
    text, in no particular order (``[]`` or NULL when there are none)."""

    type = Text()
    inherit_cache = True
    name = "rows_as_json"


@compiles(rows_as_json)
def _rows_as_json(element: rows_as_json, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(rows_as_json, "postgresql")
def _rows_as_json_pg(element: rows_as_json, compiler: SQLCompiler, **kw: Any) -> str:
    # As text: asyncpg would decode json into lists, where a string compares at once.
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


@compiles(rows_as_json, "mysql")
def _rows_as_json_mariadb(element: rows_as_json, compiler: SQLCompiler, **kw: Any) -> str:
    # Cut at group_concat_max_len (1 MiB by default): the reader then fails to parse it.
    return f"JSON_ARRAYAGG(JSON_ARRAY({compiler.process(element.clauses, **kw)}))"


@cache
def links_of() -> Select[Any]:
    """One row, one value: every (account, group, category) link of the verified account(s)
    with the email bound as ``email`` (lower-cased), as :class:`rows_as_json` text, in the
    order of :func:`reach_of_links`'s tuples. What :func:`memberships_of` groups, read as
    one value instead of a row per category: the value is compared whole with the last
    one read (an employee's is hundreds of links, and unchanged from one request to the
    next), and made into memberships only when it changed. Not grouped in SQL either:
    grouping took SQLite four times as long as the join itself."""
    return (
        select(
            rows_as_json(
                users.c.id,
                categories.c.id,
                categories.c.slug,
                VISIBILITY,
                group_users.c.owner,
                group_users.c.expires_at,
            )
        )
        .select_from(
            users.join(group_users, group_users.c.user_id == users.c.id)
            .join(category_groups, category_groups.c.group_id == group_users.c.group_id)
            .join(categories, categories.c.id == category_groups.c.category_id)
        )
        .where(users.c.email == bindparam("email"), users.c.email_verified)
    )


class Reach(NamedTuple):
    """A category an account's groups reach, as a row of :func:`memberships_of` reads."""

    id: int
    slug: str
    visibility: str
    owner: bool
    expires_at: datetime | None


def reach_of_links(value: str | None) -> list[Reach]:
    """The rows :func:`memberships_of` would give for one email, from the value of
    :func:`links_of`: one per (account, category), ordered by category then account; the
    strongest role and the latest expiry over every group that reaches it (no expiry in
    one group means never). Raises ValueError when the value is not whole JSON."""
    merged: dict[tuple[int, int], list[Any]] = {}
    for user_id, category_id, slug, visibility, owner, expires in json.loads(value or "[]"):
        expires_at = None if expires is None else _instant(expires)
        found = merged.get((category_id, user_id))
        if found is None:
            merged[(category_id, user_id)] = [slug, visibility, bool(owner), expires_at]
            continue
        found[2] = found[2] or bool(owner)
        if found[3] is not None:
            found[3] = None if expires_at is None else max(found[3], expires_at)
    return [
        Reach(category_id, slug, visibility, owner, expires_at)
        for (category_id, _user), (slug, visibility, owner, expires_at) in sorted(merged.items())
    ]


def _instant(text: str) -> datetime:
    """A stored time as JSON renders it (``2031-01-01 10:00:00.000007`` on SQLite and
    MariaDB, ISO with a ``T`` on PostgreSQL), naive UTC like the column: aware UTC."""
    found = datetime.fromisoformat(text)
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def holders(after: str | None, limit: int) -> Select[Any]:
    """One page (``limit + 1`` rows) of the verified emails whose accounts are in a group
    that grants a category (what :func:`memberships_of` finds), each once, by email."""
    in_a_granting_group = exists(
        select(group_users.c.user_id)
        .join(category_groups, category_groups.c.group_id == group_users.c.group_id)
        .where(group_users.c.user_id == users.c.id)
    )
    return (
        select(
            users.c.email,
            func.min(users.c.name).label("name"),
            func.max(users.c.trust_level).label("trust_level"),
            func.min(users.c.company).label("company"),
        )
        .where(
            users.c.email_verified,
            in_a_granting_group,
            true() if after is None else users.c.email > after,
        )
        .group_by(users.c.email)
        .order_by(users.c.email)
        .limit(max(limit, 0) + 1)
    )


def member_counts(category_ids: list[int], now: datetime) -> Select[Any]:
    """``(category id, count)``: distinct users with an unexpired group membership."""
    return (
        select(category_groups.c.category_id, func.count(distinct(group_users.c.user_id)))
        .join(group_users, group_users.c.group_id == category_groups.c.group_id)
        .where(
            category_groups.c.category_id.in_(category_ids),
            or_(group_users.c.expires_at.is_(None), group_users.c.expires_at > now),
        )
        .group_by(category_groups.c.category_id)
    )


def remove_member(category: int, user: int) -> Delete:
    """Take the user out of every group that grants this category."""
    granting = select(category_groups.c.group_id).where(category_groups.c.category_id == category)
    return group_users.delete().where(
        group_users.c.user_id == user, group_users.c.group_id.in_(granting)
    )


def access_entries(category_ids: list[int] | None) -> Select[Any]:
    """Group members of every category their groups grant (of ``category_ids``, or all)."""
    stmt = (
        select(
            categories.c.id,
            categories.c.slug,
            categories.c.name,
            categories.c.description,
            categories.c.style,
            VISIBILITY,
            users.c.email,
            users.c.email_verified,
            users.c.name.label("user_name"),
            group_users.c.owner,
            group_users.c.expires_at,
        )
        .select_from(
            group_users.join(users, users.c.id == group_users.c.user_id)
            .join(category_groups, category_groups.c.group_id == group_users.c.group_id)
            .join(categories, categories.c.id == category_groups.c.category_id)
        )
        .order_by(categories.c.name, categories.c.id, users.c.email)
    )
    if category_ids is not None:
        stmt = stmt.where(categories.c.id.in_(category_ids))
    return stmt
