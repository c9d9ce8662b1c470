"""Who the principal is shown as an author: profiles with content in scope (one statement)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select

from adapters._base import SqlStore
from adapters._sql import native_ids
from adapters.internal._shared import SCOPE
from adapters.internal._tables import (
    communities,
    forum_replies,
    forum_topics,
    profiles,
    prototype_feedback,
    prototypes,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement, Select

    from gateway.stores.scope import StoreScope

__all__ = ["AuthorsInScope"]


def authors_in_scope(
    ids: Sequence[str], emails: Sequence[str], scope: StoreScope
) -> Select[Any] | None:
    """Profile ids among ``ids`` or with these (lower-cased) emails that wrote a question
    topic, a reply to one, or prototype feedback the scope shows; None when none can."""
    native = native_ids(ids)
    if scope.empty or not (native or emails):
        return None
    topic_in_scope = forum_topics.join(communities, communities.c.id == forum_topics.c.community_id)
    question = (
        select(forum_topics.c.id)
        .select_from(topic_in_scope)
        .where(
            forum_topics.c.author_profile_id == profiles.c.id,
            forum_topics.c.is_question,
            SCOPE.in_scope(scope),
            SCOPE.shown(scope, forum_topics.c.hidden_at),
            SCOPE.shown(scope, forum_topics.c.archived_at),
        )
    )
    answer = (
        select(forum_replies.c.id)
        .select_from(
            forum_replies.join(forum_topics, forum_topics.c.id == forum_replies.c.topic_id).join(
                communities, communities.c.id == forum_topics.c.community_id
            )
        )
        .where(
            forum_replies.c.author_profile_id == profiles.c.id,
            forum_topics.c.is_question,
            SCOPE.in_scope(scope),
            # An answer is hidden when it is, or when its question is.
            SCOPE.shown(scope, forum_replies.c.hidden_at),
            SCOPE.shown(scope, forum_topics.c.hidden_at),
            SCOPE.shown(scope, forum_topics.c.archived_at),
        )
    )
    feedback = (
        select(prototype_feedback.c.id)
        .select_from(
            prototype_feedback.join(
                prototypes, prototypes.c.id == prototype_feedback.c.prototype_id
            ).join(communities, communities.c.id == prototypes.c.community_id)
        )
        .where(prototype_feedback.c.author_profile_id == profiles.c.id, SCOPE.in_scope(scope))
    )
    who: list[ColumnElement[bool]] = []
    if native:
        who.append(profiles.c.id.in_(native))
    if emails:
        who.append(profiles.c.email.in_(emails))
    return select(profiles.c.id, profiles.c.email).where(
        or_(*who), or_(exists(question), exists(answer), exists(feedback))
    )


class AuthorsInScope(SqlStore):
    """:meth:`gateway.stores.interface.StoreReads.authors_in_scope` for the internal store."""

    async def authors_in_scope(
        self, ids: Sequence[str], emails: Sequence[str], scope: StoreScope
    ) -> set[str]:
        """Profiles among ``ids`` or with these emails that wrote content in scope."""
        return await self._authors_among(
            ids, emails, lambda native, wanted: authors_in_scope(native, wanted, scope)
        )
