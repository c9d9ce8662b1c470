"""Forum replies as answers: their columns and mapping, the per-question pages and lookups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from adapters._keyset import newest_first
from adapters._ranked import top_per_parent
from adapters._sql import native_ids, time_bounds
from adapters.internal._shared import SCOPE, STORE, check_limit, str_or_none
from adapters.internal._tables import communities, forum_replies, forum_topics
from gateway.domain.model import Answer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Select

    from adapters._sql import AnyRow
    from gateway.stores.interface import TimeCursor
    from gateway.stores.scope import StoreScope

_ANSWER_COLUMNS = (
    forum_replies.c.id,
    forum_replies.c.topic_id,
    forum_topics.c.community_id,
    forum_topics.c.accepted_reply_id,
    forum_replies.c.author_profile_id,
    forum_replies.c.content,
    forum_replies.c.created_at,
    forum_replies.c.hidden_at,
)
_reply_topic = forum_replies.join(forum_topics, forum_topics.c.id == forum_replies.c.topic_id)


def answer(row: AnyRow) -> Answer:
    """An answer from a row with the answer columns."""
    return Answer(
        store=STORE,
        id=str(row.id),
        question_id=str(row.topic_id),
        space_id=str(row.community_id),
        body=row.content,
        author_id=str_or_none(row.author_profile_id),
        accepted=row.id == row.accepted_reply_id,
        created_at=row.created_at,
        hidden=row.hidden_at is not None,
    )


def per_question(
    question_ids: Sequence[str],
    *,
    after: TimeCursor | None,
    before: TimeCursor | None = None,
    backward: bool = False,
    limit: int,
    reveal_hidden: bool,
) -> Select[Any] | None:
    """Replies per question topic, newest first, ``limit + 1`` each (the last ones,
    ``backward``), ranked (see adapters._ranked); None when no id is valid."""
    check_limit(limit)
    within = time_bounds(after, before, forum_replies.c.created_at, forum_replies.c.id)
    native = native_ids(question_ids)
    if not native:
        return None
    stmt = (
        select(*_ANSWER_COLUMNS)
        .select_from(_reply_topic)
        .where(forum_replies.c.topic_id.in_(native), forum_topics.c.is_question, within)
    )
    if not reveal_hidden:
        stmt = stmt.where(forum_replies.c.hidden_at.is_(None))
    return top_per_parent(
        stmt,
        forum_replies.c.topic_id,
        newest_first(forum_replies.c.created_at, forum_replies.c.id, backward=backward),
        limit,
        backward=backward,
    )


def by_ids(ids: Sequence[str], scope: StoreScope) -> Select[Any] | None:
    """Replies to question topics in scope among ``ids``; None when none can be."""
    native = native_ids(ids)
    if scope.empty or not native:
        return None
    return (
        select(*_ANSWER_COLUMNS)
        .select_from(
            _reply_topic.join(communities, communities.c.id == forum_topics.c.community_id)
        )
        .where(
            forum_replies.c.id.in_(native),
            forum_topics.c.is_question,
            SCOPE.in_scope(scope),
            # An answer is hidden when it is, or when its question is.
            SCOPE.shown(scope, forum_replies.c.hidden_at),
            SCOPE.shown(scope, forum_topics.c.hidden_at),
            # ...and an archived question's answers are archived with it.
            SCOPE.shown(scope, forum_topics.c.archived_at),
        )
    )


def counts(question_ids: Sequence[str], *, reveal_hidden: bool) -> Select[Any] | None:
    """``(topic id, replies)`` per question topic (hidden ones only with ``reveal_hidden``);
    None when no id is valid."""
    native = native_ids(question_ids)
    if not native:
        return None
    return (
        select(forum_replies.c.topic_id, func.count())
        .select_from(_reply_topic)
        .where(
            forum_replies.c.topic_id.in_(native),
            forum_topics.c.is_question,
            *([] if reveal_hidden else [forum_replies.c.hidden_at.is_(None)]),
        )
        .group_by(forum_replies.c.topic_id)
    )
