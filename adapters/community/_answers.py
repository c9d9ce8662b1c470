"""Statements on posts after a topic's first, the forum's answers: per question, lookup,
counts, answering, and hiding (a reply, or a whole topic through its first post)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from adapters._keyset import newest_first
from adapters._ranked import top_per_parent
from adapters._sql import inserted_id, time_bounds
from adapters.community._questions import first_post
from adapters.community._rows import STORE
from adapters.community._spaces import SCOPE
from adapters.community._tables import categories, posts, topics
from gateway.domain.model import Answer
from gateway.stores.interface import TargetMissing

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.stores.interface import TimeCursor
    from gateway.stores.scope import StoreScope

__all__ = ["by_ids", "counts", "for_topics", "insert_answer", "set_hidden"]


def _answer_select() -> Select[Any]:
    """Posts with what an answer needs of its topic; callers join and filter."""
    return select(
        posts.c.id,
        posts.c.topic_id,
        posts.c.user_id,
        posts.c.raw,
        posts.c.created_at,
        posts.c.hidden_at,
        topics.c.category_id,
        topics.c.accepted_answer_post_id,
    )


def for_topics(
    topic_ids: list[int],
    *,
    after: TimeCursor | None,
    before: TimeCursor | None = None,
    backward: bool = False,
    limit: int,
    reveal_hidden: bool,
) -> Select[Any]:
    """Replies per topic, newest first, ``limit + 1`` each (the last ones, ``backward``),
    in one windowed statement (the topic is the rows' ``parent_id``)."""
    return top_per_parent(
        _answer_select()
        .join(topics, topics.c.id == posts.c.topic_id)
        .where(
            posts.c.topic_id.in_(topic_ids),
            posts.c.post_number > 1,
            time_bounds(after, before, posts.c.created_at, posts.c.id),
            *([] if reveal_hidden else [posts.c.hidden_at.is_(None)]),
        ),
        posts.c.topic_id,
        newest_first(posts.c.created_at, posts.c.id, backward=backward),
        limit,
        backward=backward,
    )


def by_ids(wanted: list[int], scope: StoreScope) -> Select[Any]:
    """Replies (never a topic's first post) in scope among ``wanted``."""
    return (
        _answer_select()
        .select_from(
            posts.join(topics, topics.c.id == posts.c.topic_id)
            .join(categories, categories.c.id == topics.c.category_id)
            .outerjoin(
                first_post,
                and_(first_post.c.topic_id == topics.c.id, first_post.c.post_number == 1),
            )
        )
        .where(
            posts.c.id.in_(wanted),
            posts.c.post_number > 1,
            SCOPE.in_scope(scope),
            # An answer is hidden when it is, or when its question is.
            SCOPE.shown(scope, posts.c.hidden_at),
            SCOPE.shown(scope, first_post.c.hidden_at),
            SCOPE.shown(scope, topics.c.archived_at),  # archived with their question
        )
    )


def counts(topic_ids: list[int], *, reveal_hidden: bool) -> Select[Any]:
    """``(topic id, count)``: replies per topic (hidden ones only with ``reveal_hidden``)."""
    return (
        select(posts.c.topic_id, func.count())
        .where(
            posts.c.topic_id.in_(topic_ids),
            posts.c.post_number > 1,
            *([] if reveal_hidden else [posts.c.hidden_at.is_(None)]),
        )
        .group_by(posts.c.topic_id)
    )


async def insert_answer(
    conn: AsyncConnection, question_id: str, topic: int, user: int, *, body: str, now: datetime
) -> Answer:
    """The topic's next post. The topic row is locked while its next post number is
    taken, so concurrent answers queue instead of colliding on the number."""
    category = await conn.scalar(
        select(topics.c.category_id).where(topics.c.id == topic).with_for_update()
    )
    if category is None:
        raise TargetMissing(question_id)
    highest = await conn.scalar(
        select(func.max(posts.c.post_number)).where(posts.c.topic_id == topic)
    )
    result = await conn.execute(
        posts.insert().values(
            topic_id=topic,
            user_id=user,
            post_number=(highest or 1) + 1,
            raw=body,
            created_at=now,
        )
    )
    return Answer(
        store=STORE,
        id=str(inserted_id(result)),
        question_id=str(topic),
        space_id=str(category),
        body=body,
        author_id=str(user),
        accepted=False,
        created_at=now,
    )


async def set_hidden(
    conn: AsyncConnection, post_id: str, native: int, *, answer: bool, hidden_at: datetime | None
) -> None:
    """Hide (or show again, with None) a reply, or a topic through its first post."""
    which = (
        and_(posts.c.id == native, posts.c.post_number > 1)
        if answer
        else and_(posts.c.topic_id == native, posts.c.post_number == 1)
    )
    # Existence by SELECT: MariaDB counts only rows whose value changed.
    if await conn.scalar(select(posts.c.id).where(which)) is None:
        raise TargetMissing(post_id)
    await conn.execute(posts.update().where(which).values(hidden_at=hidden_at))
