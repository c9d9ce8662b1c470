"""Statements on topics, the forum's questions: listing, lookup, search, asking, accepting
an answer and featuring.

A topic's first post is the question's body; its later posts are its answers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, true

from adapters._base import ScopeColumns
from adapters._joined import LISTINGS, read_rows
from adapters._keyset import limited, newest_first
from adapters._ranked import top_per_parent
from adapters._sql import inserted_id, time_bounds
from adapters.community import _rows, _tags
from adapters.community._rows import ANSWER_COUNT, STORE
from adapters.community._spaces import (
    SCOPE,
    asked_in,
    joined_space,
    joined_space_columns,
)
from adapters.community._tables import categories, posts, tags, topic_tags, topics, users
from gateway.domain.model import Question
from gateway.stores.interface import TargetMissing

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import ColumnElement, Label, Select, Subquery
    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.stores.interface import TimeCursor
    from gateway.stores.scope import StoreScope

__all__ = [
    "accept",
    "by_ids",
    "first_post",
    "for_categories",
    "insert_question",
    "listed",
    "matching",
    "question_select",
    "questions_with_tags",
    "set_pinned",
    "since",
]

# The first post of a topic is the question's body; later posts are its answers.
first_post = posts.alias("first_post")
_KEY = (topics.c.created_at, topics.c.id)  # the lists' order, newest first


def question_select() -> Select[Any]:
    """Topics with their category and first post; callers add scope and filters."""
    return select(
        topics.c.id,
        topics.c.category_id,
        topics.c.user_id,
        topics.c.title,
        topics.c.accepted_answer_post_id,
        topics.c.created_at,
        topics.c.pinned_at,
        topics.c.archived_at,
        first_post.c.raw,
        first_post.c.hidden_at,
    ).select_from(
        topics.join(categories, categories.c.id == topics.c.category_id).outerjoin(
            first_post,
            and_(first_post.c.topic_id == topics.c.id, first_post.c.post_number == 1),
        )
    )


def _question_filters(
    *,
    unanswered: bool,
    tag: str | None,
    after: TimeCursor | None,
    before: TimeCursor | None = None,
    featured: bool = False,
    archived: bool = False,
) -> list[ColumnElement[bool]]:
    """The unanswered, tag, featured and archived filters and the cursors' condition on
    topics: a list holds live topics, or (``archived``) archived ones only."""
    conditions = [
        time_bounds(after, before, *_KEY),
        topics.c.archived_at.is_not(None) if archived else topics.c.archived_at.is_(None),
    ]
    if featured:
        conditions.append(topics.c.pinned_at.is_not(None))
    if unanswered:
        conditions.append(topics.c.accepted_answer_post_id.is_(None))
    if tag is not None:
        # Tags are lower-case natively; lower-casing the argument keeps case-sensitive
        # (PostgreSQL, SQLite) and case-insensitive (MariaDB) collations in agreement.
        conditions.append(
            select(topic_tags.c.topic_id)
            .join(tags, tags.c.id == topic_tags.c.tag_id)
            .where(topic_tags.c.topic_id == topics.c.id, tags.c.name == tag.strip().lower())
            .exists()
        )
    return conditions


# A scoped read's columns of the topic's category: what its answer count's reveal rule needs.
_SPACE_VISIBILITY, _SPACE_SLUG = "space_visibility", "space_slug"


def _answer_count(page: Subquery, scope: StoreScope) -> Label[int]:
    """The page's topic's replies the principal sees (hidden ones only where they moderate
    the category, like the topic itself): a correlated count over the page's rows only,
    served by the posts' index on ``topic_id``."""
    space = ScopeColumns(page.c[_SPACE_VISIBILITY], page.c[_SPACE_SLUG])
    return (
        select(func.count())
        .select_from(posts)
        .where(
            posts.c.topic_id == page.c.id,
            posts.c.post_number > 1,
            space.shown(scope, posts.c.hidden_at),
        )
        .correlate(page)
        .scalar_subquery()
        .label(ANSWER_COUNT)
    )


def _scoped(scope: StoreScope) -> Select[Any]:
    """Topics in categories in scope, shown to the principal (with the category's
    visibility class and slug, for :func:`questions_with_tags`): hidden and archived ones
    only where they moderate."""
    return (
        question_select()
        .add_columns(SCOPE.visibility.label(_SPACE_VISIBILITY), SCOPE.slug.label(_SPACE_SLUG))
        .where(
            SCOPE.of_each_row(scope, topics.c.category_id, categories.c.id),
            SCOPE.shown(scope, first_post.c.hidden_at),
            SCOPE.shown(scope, topics.c.archived_at),
        )
    )


def _newest_first(page: Subquery) -> tuple[ColumnElement[Any], ...]:
    return newest_first(page.c.created_at, page.c.id)


# A topic's tags, one JSON array per row (as a joined category's: _tags.tag_array): a
# page is then a row per topic, where joining the tags made a row per tag, each carrying
# every other column of the page through SQLAlchemy's result processing once more.
_TAG_NAMES = "tag_names"


def _with_tags(stmt: Select[Any], scope: StoreScope) -> Select[Any]:
    """The topics of ``stmt`` with their tags, answer counts, authors and categories, one
    row each (the page's authors and spaces need no statement of their own; ``stmt`` is in
    ``scope``, so its categories are too). ``stmt``'s own ``LIMIT`` stays inside the
    derived table, so the columns are computed for the page's rows only."""
    page = stmt.subquery("page")
    joined = page.outerjoin(users, users.c.id == page.c.user_id).join(
        asked_in, asked_in.c.id == page.c.category_id
    )
    return (
        select(
            page,
            _answer_count(page, scope),
            _tags.tag_array(topic_tags, topic_tags.c.topic_id, page.c.id).label(_TAG_NAMES),
            *_rows.AUTHOR_COLUMNS,
            *joined_space_columns(page.c[_SPACE_VISIBILITY], page.c[_SPACE_SLUG]),
        )
        .select_from(joined)
        .order_by(*_newest_first(page))
    )


async def questions_with_tags(
    conn: AsyncConnection, stmt: Select[Any], scope: StoreScope
) -> list[Question]:
    """Run a scoped select of topics (:func:`listed`, :func:`by_ids`, :func:`matching` with
    ``scope``) with their tags joined in and their answers counted as the principal sees
    them: one statement for all three. The questions come in newest-first order."""
    return await questions_of(conn, _with_tags(stmt, scope))


async def questions_of(conn: AsyncConnection, stmt: Select[Any]) -> list[Question]:
    """Run a statement of :func:`questions_with_tags` or :func:`listed_with_tags`."""
    rows = read_rows(await conn.execute(stmt))
    sort = conn.dialect.name == "sqlite"  # its aggregates keep no order (_tags.names_in_order)
    return [
        _rows.question(
            row,
            {row.id: _tags.names_of(row.tag_names, sort=sort)},
            space=joined_space(row, sort_tags=sort),
        )
        for row in rows
    ]


@lru_cache(maxsize=LISTINGS)
def listed_with_tags(
    scope: StoreScope, category_ids: tuple[int, ...] | None, **asked: Any
) -> Select[Any] | None:
    """:func:`listed` with tags and counts joined in as :func:`questions_with_tags` runs it,
    built once per scope and arguments: front ends ask for the same first page again and
    again, and building and keying this statement cost about a third of running it. A
    statement is never changed once built, so every request may run the same one."""
    ids = None if category_ids is None else list(category_ids)
    stmt = listed(scope, category_ids=ids, **asked)
    return None if stmt is None else _with_tags(stmt, scope)


def listed(
    scope: StoreScope,
    *,
    category_ids: list[int] | None,
    unanswered: bool,
    tag: str | None,
    after: TimeCursor | None,
    before: TimeCursor | None = None,
    backward: bool = False,
    limit: int,
    featured: bool,
    archived: bool = False,
) -> Select[Any] | None:
    """Topics in categories in scope (of ``category_ids``, or all), newest first, ``limit
    + 1`` (the last ones, ``backward``); None when none can match (after checking the
    cursors, so a forged one is refused even then)."""
    filters = _question_filters(
        unanswered=unanswered,
        tag=tag,
        after=after,
        before=before,
        featured=featured,
        archived=archived,
    )
    if scope.empty or category_ids == []:
        return None
    stmt = _scoped(scope).where(*filters)
    if category_ids is not None:
        stmt = stmt.where(topics.c.category_id.in_(category_ids))
    return limited(stmt, _KEY, descending=True, rows=max(limit, 0) + 1, backward=backward)


def for_categories(
    category_ids: list[int],
    *,
    unanswered: bool,
    tag: str | None,
    after: TimeCursor | None,
    before: TimeCursor | None = None,
    backward: bool = False,
    limit: int,
    featured: bool,
    reveal_hidden: bool,
    archived: bool = False,
) -> Select[Any]:
    """Topics per category, newest first, ``limit + 1`` each (the last ones, ``backward``),
    in one windowed statement (the category is the rows' ``parent_id``); archived ones only
    to moderators."""
    filters = _question_filters(
        unanswered=unanswered,
        tag=tag,
        after=after,
        before=before,
        featured=featured,
        archived=archived,
    )
    if not reveal_hidden:
        filters.append(first_post.c.hidden_at.is_(None))
        filters.append(topics.c.archived_at.is_(None))
    return top_per_parent(
        question_select().where(topics.c.category_id.in_(category_ids), *filters),
        topics.c.category_id,
        newest_first(*_KEY, backward=backward),
        limit,
        backward=backward,
    )


def by_ids(wanted: list[int], scope: StoreScope) -> Select[Any]:
    """Topics in scope among ``wanted``."""
    return _scoped(scope).where(topics.c.id.in_(wanted))


def since(after: TimeCursor | None, before: TimeCursor | None = None) -> ColumnElement[bool]:
    """Topics after ``after`` and before ``before`` (newest first); raises InvalidCursor
    for a forged one."""
    return time_bounds(after, before, *_KEY)


def matching(
    scope: StoreScope,
    text: str,
    limit: int,
    after: ColumnElement[bool] | None = None,
    *,
    backward: bool = False,
) -> Select[Any]:
    """Topics in scope whose title or first post contains ``text`` literally, newest first,
    ``limit`` of them (the last ones, ``backward``); ``after``: a :func:`since` condition."""
    # autoescape makes % and _ literal. SQLite's lower() folds ASCII only, so
    # non-ASCII case-insensitivity there is best effort.
    needle = text.lower()
    stmt = _scoped(scope).where(
        or_(
            func.lower(topics.c.title).contains(needle, autoescape=True),
            func.lower(first_post.c.raw).contains(needle, autoescape=True),
        ),
        topics.c.archived_at.is_(None),  # search finds live topics only, for everyone
        true() if after is None else after,
    )
    return limited(stmt, _KEY, descending=True, rows=limit, backward=backward)


async def insert_question(
    conn: AsyncConnection,
    space_id: str,
    category: int,
    user: int,
    *,
    title: str,
    body: str,
    tags: Sequence[str],
    now: datetime,
) -> Question:
    """A topic with its first post (the question's body) and its tags."""
    wanted = sorted({tag.lower() for tag in tags})
    exists = select(categories.c.id).where(categories.c.id == category)
    if await conn.scalar(exists) is None:
        raise TargetMissing(space_id)
    result = await conn.execute(
        topics.insert().values(category_id=category, user_id=user, title=title, created_at=now)
    )
    topic_id = inserted_id(result)
    await conn.execute(
        posts.insert().values(
            topic_id=topic_id, user_id=user, post_number=1, raw=body, created_at=now
        )
    )
    await _tags.tag_topic(conn, topic_id, wanted)
    return Question(
        store=STORE,
        id=str(topic_id),
        space_id=str(category),
        title=title,
        body=body,
        author_id=str(user),
        tags=tuple(wanted),
        accepted_answer_id=None,
        created_at=now,
    )


async def accept(conn: AsyncConnection, answer_id: str, post: int) -> int:
    """Point the post's topic at it as the accepted answer (never the first post); the
    topic's id."""
    topic: int | None = await conn.scalar(
        select(posts.c.topic_id).where(posts.c.id == post, posts.c.post_number > 1)
    )
    if topic is None:
        raise TargetMissing(answer_id)
    await conn.execute(
        topics.update().where(topics.c.id == topic).values(accepted_answer_post_id=post)
    )
    return topic


async def set_pinned(
    conn: AsyncConnection, question_id: str, topic: int, *, pinned_at: datetime | None
) -> None:
    """Pin (or unpin, with None) a topic: Discourse's featured topics."""
    if await conn.scalar(select(topics.c.id).where(topics.c.id == topic)) is None:
        raise TargetMissing(question_id)
    await conn.execute(topics.update().where(topics.c.id == topic).values(pinned_at=pinned_at))
