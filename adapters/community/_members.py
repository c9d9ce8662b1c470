"""Statements on group memberships, through which the forum grants its categories.

A user belongs to groups; a group is granted categories. So a user's memberships, a
category's member count, its access entries and a member's removal all go through
``group_users`` and ``category_groups``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
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

from adapters.community._spaces import VISIBILITY
from adapters.community._tables import (
    UtcDateTime,
    categories,
    category_groups,
    group_users,
    users,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import BindParameter, Delete, Select

__all__ = [
    "access_entries",
    "holders",
    "member_counts",
    "memberships_of",
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
