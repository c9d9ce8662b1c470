"""Who the principal is shown as an author: users with content in scope (one statement)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, or_, select

from adapters._base import SqlStore
from adapters._sql import native_ids
from adapters.community._questions import first_post
from adapters.community._spaces import SCOPE
from adapters.community._tables import categories, posts, topics, users

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement, Select

    from gateway.stores.scope import StoreScope

__all__ = ["AuthorsInScope"]


def authors_in_scope(
    ids: Sequence[str], emails: Sequence[str], scope: StoreScope
) -> Select[Any] | None:
    """User ids among ``ids`` or with these verified (lower-cased) emails that wrote a
    topic or a reply the scope shows; None when none can."""
    native = native_ids(ids)
    if scope.empty or not (native or emails):
        return None
    in_scope = topics.join(categories, categories.c.id == topics.c.category_id).outerjoin(
        first_post, and_(first_post.c.topic_id == topics.c.id, first_post.c.post_number == 1)
    )
    question = (
        select(topics.c.id)
        .select_from(in_scope)
        .where(
            topics.c.user_id == users.c.id,
            SCOPE.in_scope(scope),
            SCOPE.shown(scope, first_post.c.hidden_at),
            SCOPE.shown(scope, topics.c.archived_at),
        )
    )
    answer = (
        select(posts.c.id)
        .select_from(posts.join(in_scope, topics.c.id == posts.c.topic_id))
        .where(
            posts.c.user_id == users.c.id,
            posts.c.post_number > 1,
            SCOPE.in_scope(scope),
            # An answer is hidden when it is, or when its question is.
            SCOPE.shown(scope, posts.c.hidden_at),
            SCOPE.shown(scope, first_post.c.hidden_at),
            SCOPE.shown(scope, topics.c.archived_at),
        )
    )
    who: list[ColumnElement[bool]] = []
    if native:
        who.append(users.c.id.in_(native))
    if emails:
        who.append(and_(users.c.email.in_(emails), users.c.email_verified))
    return select(users.c.id, users.c.email).where(or_(*who), or_(exists(question), exists(answer)))


class AuthorsInScope(SqlStore):
    """:meth:`gateway.stores.interface.StoreReads.authors_in_scope` for the community store."""

    async def authors_in_scope(
        self, ids: Sequence[str], emails: Sequence[str], scope: StoreScope
    ) -> set[str]:
        """Users among ``ids`` or with these verified emails that wrote content in scope."""
        return await self._authors_among(
            ids, emails, lambda native, wanted: authors_in_scope(native, wanted, scope)
        )
