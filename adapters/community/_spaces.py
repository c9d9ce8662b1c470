"""Statements on categories, the forum's spaces: listing, lookup and creation."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from adapters._base import ScopeColumns
from adapters._joined import LISTINGS, grouped, joined, with_tags
from adapters._keyset import limited
from adapters._sql import inserted_id, name_bounds
from adapters.community import _demo, _rows, _tags
from adapters.community._rows import STYLE_OF_KIND
from adapters.community._tables import (
    PERMISSION_FULL,
    categories,
    category_groups,
    category_tags,
    group_users,
    groups,
    tags,
    visibility_of,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import BindParameter, ColumnElement, FromClause, Select, Subquery
    from sqlalchemy.ext.asyncio import AsyncConnection

    from adapters._sql import AnyRow
    from gateway.domain.model import Space, SpaceKind, Visibility
    from gateway.stores.interface import NameCursor
    from gateway.stores.scope import StoreScope

__all__ = [
    "SCOPE",
    "VISIBILITY",
    "by_ids_with_tags",
    "insert_space",
    "joined_space",
    "joined_space_columns",
    "joined_tags",
    "listed",
    "spaces_with_tags",
]

VISIBILITY = visibility_of(categories).label("visibility")
# What a principal's scope is compiled on: the category's visibility class and slug.
SCOPE = ScopeColumns(visibility_of(categories), categories.c.slug)

# A question's category, joined into the read that finds it (adapters.community._questions):
# its columns labelled ``asked_in_``, its tags as one JSON array of names.
ASKED_IN = "asked_in_"
asked_in = categories.alias("asked_in")


# The tags of the joined category, one JSON array (a correlated subquery per page row).
_ASKED_IN_TAGS = _tags.tag_array(category_tags, category_tags.c.category_id, asked_in.c.id)
# What a Space is made of (adapters.community._rows.space), and no more: every column of a
# page's row goes through SQLAlchemy's result processing.
_SPACE_COLUMNS = ("id", "name", "description", "style", "archive_exempt")


def joined_space_columns(visibility: ColumnElement[str], slug: ColumnElement[str]) -> list[Any]:
    """The joined category's columns; its ``visibility`` and ``slug`` are the page's own
    (the scoped read computed them already)."""
    return [
        *(asked_in.c[name].label(ASKED_IN + name) for name in _SPACE_COLUMNS),
        visibility.label(ASKED_IN + "visibility"),
        slug.label(ASKED_IN + "slug"),
        _ASKED_IN_TAGS.label(ASKED_IN + "tag_names"),
    ]


def joined_space(row: AnyRow, *, sort_tags: bool) -> Space | None:
    """The category of a row with :func:`joined_space_columns` (None without them);
    ``sort_tags`` when the database gave its tags in no order (SQLite)."""
    found = joined(row, ASKED_IN, "id")
    if found is None:
        return None
    return _rows.space(found, {found.id: _tags.names_of(found.tag_names, sort=sort_tags)})


def listed(
    scope: StoreScope,
    *,
    kind: SpaceKind | None,
    after: NameCursor | None,
    before: NameCursor | None = None,
    backward: bool = False,
    limit: int,
) -> Select[Any] | None:
    """Categories in scope between the cursors, ordered by name then id, ``limit + 1``
    (the last ones, ``backward``); None when none can match."""
    if scope.empty or (kind is not None and kind not in STYLE_OF_KIND):
        return None
    within = name_bounds(after, before, categories.c.name, categories.c.id)
    stmt = select(categories, VISIBILITY).where(SCOPE.in_scope(scope), within)
    if kind is not None:
        stmt = stmt.where(categories.c.style == STYLE_OF_KIND[kind])
    key = (categories.c.name, categories.c.id)
    return limited(stmt, key, descending=False, rows=max(limit, 0) + 1, backward=backward)


@lru_cache(maxsize=LISTINGS)
def by_ids_with_tags(scope: StoreScope) -> Select[Any]:
    """Categories in scope among the ids bound as ``ids``, with their tags (as
    :func:`spaces_with_tags` runs them), built once per scope: building and keying the
    statement took most of what running it does."""
    ids: BindParameter[int] = bindparam("ids", expanding=True)
    stmt = select(categories, VISIBILITY).where(categories.c.id.in_(ids), SCOPE.in_scope(scope))
    return joined_tags(stmt)


def _tags_of(page: Subquery) -> tuple[FromClause, ColumnElement[str]]:
    joined = page.outerjoin(category_tags, category_tags.c.category_id == page.c.id).outerjoin(
        tags, tags.c.id == category_tags.c.tag_id
    )
    return joined, tags.c.name


def _by_name(page: Subquery) -> tuple[ColumnElement[Any], ...]:
    return (page.c.name, page.c.id)


def joined_tags(stmt: Select[Any]) -> Select[Any]:
    """A select of categories with their tags joined in, by name then id."""
    return with_tags(stmt, _tags_of, _by_name)


async def spaces_with_tags(
    conn: AsyncConnection, stmt: Select[Any], params: dict[str, Any] | None = None
) -> list[Space]:
    """Run a select of categories with their tags joined in (:func:`joined_tags`,
    :func:`by_ids_with_tags`, with ``params`` bound): one statement for both."""
    rows = await conn.execute(stmt, params)
    return [_rows.space(row, {row.id: names}) for row, names in grouped(rows)]


async def insert_space(
    conn: AsyncConnection,
    *,
    slug: str,
    name: str,
    description: str,
    kind: SpaceKind,
    visibility: Visibility,
    owner: int,
    now: datetime,
) -> int:
    """A category with the settings of its visibility class, and a group of the same
    name that grants it, with ``owner`` as the group's owner; the category's id."""
    result = await conn.execute(
        categories.insert().values(
            slug=slug,
            name=name,
            description=description,
            style=_demo.STYLES[kind],
            created_at=now,
            **_demo.CATEGORY_SETTINGS[visibility],
        )
    )
    category: int = inserted_id(result)
    made = await conn.execute(groups.insert().values(name=slug))
    group = inserted_id(made)
    await conn.execute(group_users.insert().values(group_id=group, user_id=owner, owner=True))
    await conn.execute(
        category_groups.insert().values(
            category_id=category, group_id=group, permission_type=PERMISSION_FULL
        )
    )
    return category
