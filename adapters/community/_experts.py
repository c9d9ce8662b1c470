"""Statements for expert search on the forum: who wrote what on a subject, in scope.

A topic is on the subject when it has the tag, or its title or first post contains the text;
its replies are on the subject with it. Only topics (and replies) the principal is shown
count: the scope is the statement's predicate, never a filter afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, literal_column, or_, select, union_all

from adapters._experts import ExpertSearch
from adapters._ranked import top_per_parent
from adapters.community import _rows
from adapters.community._questions import first_post
from adapters.community._spaces import SCOPE
from adapters.community._tables import categories, posts, tags, topic_tags, topics, users

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement, Select

    from gateway.domain.model import Answer
    from gateway.stores.scope import StoreScope

__all__ = ["ExpertCounts", "best_answers", "counts"]

_reply = posts.alias("reply")
_topic_space = topics.join(categories, categories.c.id == topics.c.category_id).outerjoin(
    first_post, and_(first_post.c.topic_id == topics.c.id, first_post.c.post_number == 1)
)


def _on_subject(scope: StoreScope, tag: str | None, text: str | None) -> list[ColumnElement[bool]]:
    """Live topics in scope, shown to the principal, on the subject (archived ones count
    for nobody, as lists and search do not show them)."""
    conditions = [
        SCOPE.in_scope(scope),
        SCOPE.shown(scope, first_post.c.hidden_at),
        topics.c.archived_at.is_(None),
    ]
    if tag is not None:
        conditions.append(
            select(topic_tags.c.topic_id)
            .join(tags, tags.c.id == topic_tags.c.tag_id)
            .where(topic_tags.c.topic_id == topics.c.id, tags.c.name == tag)
            .exists()
        )
    if text is not None:
        needle = text.lower()
        conditions.append(
            or_(
                func.lower(topics.c.title).contains(needle, autoescape=True),
                func.lower(first_post.c.raw).contains(needle, autoescape=True),
            )
        )
    return conditions


def _replies_on_subject(scope: StoreScope, tag: str | None, text: str | None) -> Any:
    return (
        _topic_space.join(_reply, and_(_reply.c.topic_id == topics.c.id, _reply.c.post_number > 1)),
        [*_on_subject(scope, tag, text), SCOPE.shown(scope, _reply.c.hidden_at)],
    )


def _accepted() -> ColumnElement[int]:
    return case(
        (topics.c.accepted_answer_post_id == _reply.c.id, literal_column("1")),
        else_=literal_column("0"),
    )


def counts(scope: StoreScope, tag: str | None, text: str | None) -> Select[Any]:
    """``(id, email, accepted, answers, questions)`` per user who wrote on the subject
    (``email`` only when verified): one statement, grouped by user."""
    zero: ColumnElement[int] = literal_column("0")
    one: ColumnElement[int] = literal_column("1")
    asked = (
        select(
            topics.c.user_id.label("author"),
            zero.label("accepted"),
            zero.label("answers"),
            one.label("questions"),
        )
        .select_from(_topic_space)
        .where(*_on_subject(scope, tag, text), topics.c.user_id.is_not(None))
    )
    joined, conditions = _replies_on_subject(scope, tag, text)
    accepted = _accepted()
    answered = (
        select(
            _reply.c.user_id.label("author"),
            accepted.label("accepted"),
            one.label("answers"),
            zero.label("questions"),
        )
        .select_from(joined)
        .where(*conditions, _reply.c.user_id.is_not(None))
    )
    both = union_all(asked, answered).subquery()
    per_author = (
        select(
            both.c.author,
            func.sum(both.c.accepted).label("accepted"),
            func.sum(both.c.answers).label("answers"),
            func.sum(both.c.questions).label("questions"),
        )
        .group_by(both.c.author)
        .subquery()
    )
    return select(
        per_author.c.author.label("id"),
        case((users.c.email_verified, users.c.email), else_=None).label("email"),
        per_author.c.accepted,
        per_author.c.answers,
        per_author.c.questions,
    ).join_from(per_author, users, users.c.id == per_author.c.author)


def best_answers(
    scope: StoreScope, authors: Sequence[int], tag: str | None, text: str | None, limit: int
) -> Select[Any]:
    """Each author's replies on the subject, accepted ones first, then newest, ``limit + 1``
    each (ranked per author: adapters._ranked)."""
    joined, conditions = _replies_on_subject(scope, tag, text)
    accepted = _accepted()
    stmt = (
        select(
            _reply.c.id,
            _reply.c.topic_id,
            _reply.c.user_id,
            _reply.c.raw,
            _reply.c.created_at,
            _reply.c.hidden_at,
            topics.c.category_id,
            topics.c.accepted_answer_post_id,
        )
        .select_from(joined)
        .where(*conditions, _reply.c.user_id.in_(list(authors)))
    )
    order = (accepted.desc(), _reply.c.created_at.desc(), _reply.c.id.desc())
    return top_per_parent(stmt, _reply.c.user_id, order, limit)


class ExpertCounts(ExpertSearch):
    """The forum's part of expert search: its native statements (see adapters._experts)."""

    def _counts(self, scope: StoreScope, tag: str | None, text: str | None) -> Select[Any]:
        return counts(scope, tag, text)

    def _best(
        self, scope: StoreScope, wanted: list[int], tag: str | None, text: str | None, limit: int
    ) -> Select[Any]:
        return best_answers(scope, wanted, tag, text, limit)

    def _best_of(self, row: Any) -> tuple[str, Answer]:
        return str(row.user_id), _rows.answer(row)
