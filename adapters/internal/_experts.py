"""Statements for expert search in the internal network: who wrote what on a subject, in scope.

A question topic (never a plain discussion) is on the subject when it has the tag, or its
subject or content contains the text; its replies are on the subject with it. Only topics
and replies the principal is shown count: the scope is the statement's predicate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, literal_column, or_, select, union_all

from adapters._experts import ExpertSearch
from adapters._ranked import top_per_parent
from adapters.internal._answers import answer
from adapters.internal._shared import SCOPE
from adapters.internal._tables import communities, forum_replies, forum_topics, profiles, topic_tags

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement, Select

    from gateway.domain.model import Answer
    from gateway.stores.scope import StoreScope

__all__ = ["ExpertCounts", "best_answers", "counts"]

_topic_space = forum_topics.join(communities, communities.c.id == forum_topics.c.community_id)
_replies = _topic_space.join(forum_replies, forum_replies.c.topic_id == forum_topics.c.id)


def _on_subject(scope: StoreScope, tag: str | None, text: str | None) -> list[ColumnElement[bool]]:
    """Live question topics in scope, shown to the principal, on the subject (archived
    ones count for nobody, as lists and search do not show them)."""
    conditions = [
        forum_topics.c.is_question,
        SCOPE.in_scope(scope),
        SCOPE.shown(scope, forum_topics.c.hidden_at),
        forum_topics.c.archived_at.is_(None),
    ]
    if tag is not None:
        conditions.append(
            select(topic_tags.c.topic_id)
            .where(topic_tags.c.topic_id == forum_topics.c.id, topic_tags.c.tag == tag)
            .exists()
        )
    if text is not None:
        needle = text.lower()
        conditions.append(
            or_(
                func.lower(forum_topics.c.subject).contains(needle, autoescape=True),
                func.lower(forum_topics.c.content).contains(needle, autoescape=True),
            )
        )
    return conditions


def _accepted() -> ColumnElement[int]:
    return case(
        (forum_topics.c.accepted_reply_id == forum_replies.c.id, literal_column("1")),
        else_=literal_column("0"),
    )


def counts(scope: StoreScope, tag: str | None, text: str | None) -> Select[Any]:
    """``(id, email, accepted, answers, questions)`` per profile that wrote on the subject:
    one statement, grouped by profile."""
    zero: ColumnElement[int] = literal_column("0")
    one: ColumnElement[int] = literal_column("1")
    subject = _on_subject(scope, tag, text)
    asked = (
        select(
            forum_topics.c.author_profile_id.label("author"),
            zero.label("accepted"),
            zero.label("answers"),
            one.label("questions"),
        )
        .select_from(_topic_space)
        .where(*subject, forum_topics.c.author_profile_id.is_not(None))
    )
    answered = (
        select(
            forum_replies.c.author_profile_id.label("author"),
            _accepted().label("accepted"),
            one.label("answers"),
            zero.label("questions"),
        )
        .select_from(_replies)
        .where(
            *subject,
            SCOPE.shown(scope, forum_replies.c.hidden_at),
            forum_replies.c.author_profile_id.is_not(None),
        )
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
        profiles.c.email,
        per_author.c.accepted,
        per_author.c.answers,
        per_author.c.questions,
    ).join_from(per_author, profiles, profiles.c.id == per_author.c.author)


def best_answers(
    scope: StoreScope, authors: Sequence[int], tag: str | None, text: str | None, limit: int
) -> Select[Any]:
    """Each profile's replies on the subject, accepted ones first, then newest, ``limit + 1``
    each (ranked per author: adapters._ranked)."""
    stmt = (
        select(
            forum_replies.c.id,
            forum_replies.c.topic_id,
            forum_topics.c.community_id,
            forum_topics.c.accepted_reply_id,
            forum_replies.c.author_profile_id,
            forum_replies.c.content,
            forum_replies.c.created_at,
            forum_replies.c.hidden_at,
        )
        .select_from(_replies)
        .where(
            *_on_subject(scope, tag, text),
            SCOPE.shown(scope, forum_replies.c.hidden_at),
            forum_replies.c.author_profile_id.in_(list(authors)),
        )
    )
    order = (_accepted().desc(), forum_replies.c.created_at.desc(), forum_replies.c.id.desc())
    return top_per_parent(stmt, forum_replies.c.author_profile_id, order, limit)


class ExpertCounts(ExpertSearch):
    """The internal store's part of expert search: its native statements (see adapters._experts)."""

    def _counts(self, scope: StoreScope, tag: str | None, text: str | None) -> Select[Any]:
        return counts(scope, tag, text)

    def _best(
        self, scope: StoreScope, wanted: list[int], tag: str | None, text: str | None, limit: int
    ) -> Select[Any]:
        return best_answers(scope, wanted, tag, text, limit)

    def _best_of(self, row: Any) -> tuple[str, Answer]:
        return str(row.author_profile_id), answer(row)
