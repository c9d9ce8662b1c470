"""Moderation of topics and posts, natively: hiding, pinning (featuring), and archiving
stale topics (``gateway content prune``; Discourse archives topics too) and restoring them.

A topic's activity is its posts' (the first post is its asking); a category with
``archive_exempt`` (a knowledge base that stays) is never pruned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from adapters import _hidden
from adapters._base import SqlStore
from adapters._sql import native_id, native_ids, native_or_missing
from adapters.community import _answers, _questions
from adapters.community._questions import first_post
from adapters.community._spaces import SCOPE
from adapters.community._tables import categories, posts, topics
from gateway.stores.admin_rows import StaleQuestion
from gateway.stores.interface import TargetMissing

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import ColumnElement, Select

    from gateway.stores.admin_rows import HiddenPost
    from gateway.stores.scope import StoreScope

__all__ = ["Moderation"]

_LAST_POST = (
    select(func.max(posts.c.created_at))
    .where(posts.c.topic_id == topics.c.id)
    .correlate(topics)
    .scalar_subquery()
)
_LAST_ACTIVE = func.coalesce(_LAST_POST, topics.c.created_at)


def _stale(before: datetime, *, unanswered: bool) -> list[ColumnElement[bool]]:
    """Live topics outside exempt categories with no post since ``before``."""
    exempt = (
        select(categories.c.id)
        .where(categories.c.id == topics.c.category_id, categories.c.archive_exempt)
        .exists()
    )
    conditions = [
        topics.c.archived_at.is_(None),
        topics.c.created_at < before,
        before > _LAST_ACTIVE,
        ~exempt,
    ]
    if unanswered:
        conditions.append(topics.c.accepted_answer_post_id.is_(None))
    return conditions


def _stale_select(
    before: datetime, *, unanswered: bool, space_ids: Sequence[str] | None
) -> Select[Any] | None:
    stmt = select(
        topics.c.id, topics.c.category_id, topics.c.title, _LAST_ACTIVE.label("last_active")
    ).where(*_stale(before, unanswered=unanswered))
    if space_ids is not None:
        wanted = native_ids(space_ids)
        if not wanted:
            return None
        stmt = stmt.where(topics.c.category_id.in_(wanted))
    return stmt.order_by("last_active", topics.c.id)


class Moderation(SqlStore):
    """Hiding, featuring and archiving, for the community store."""

    async def set_hidden(self, post_id: str, *, answer: bool, hidden: bool, now: datetime) -> None:
        """Hide (or show again) a reply, or a topic through its first post."""
        native = native_or_missing(post_id)
        async with self._connect(write=True) as conn:
            await _answers.set_hidden(
                conn, post_id, native, answer=answer, hidden_at=now if hidden else None
            )

    async def hidden_posts(
        self, space_id: str, scope: StoreScope, *, after: HiddenPost | None, limit: int
    ) -> list[HiddenPost]:
        """The category's hidden topics (their first post hidden) and replies the scope
        shows (hidden ones only where it moderates), in the moderation queue's order;
        ``limit + 1`` at most."""
        native = native_id(space_id)
        if native is None or scope.empty:
            return []
        first = first_post.c
        joined = topics.join(categories, categories.c.id == topics.c.category_id).join(
            first_post, and_(first.topic_id == topics.c.id, first.post_number == 1)
        )
        where = [topics.c.category_id == native, SCOPE.in_scope(scope)]
        questions = (
            select(topics.c.id, first.hidden_at)
            .select_from(joined)
            .where(
                *where,
                SCOPE.shown(scope, first.hidden_at),
                _hidden.after(first.hidden_at, topics.c.id, answer=False, cursor=after),
            )
        )
        answers = (
            select(posts.c.id, posts.c.hidden_at)
            .select_from(joined.join(posts, posts.c.topic_id == topics.c.id))
            .where(
                *where,
                posts.c.post_number > 1,
                SCOPE.shown(scope, first.hidden_at),
                SCOPE.shown(scope, posts.c.hidden_at),
                _hidden.after(posts.c.hidden_at, posts.c.id, answer=True, cursor=after),
            )
        )
        async with self._connect() as conn:
            return await _hidden.merged(conn, questions, answers, limit)

    async def set_featured(self, question_id: str, *, featured: bool, now: datetime) -> None:
        """Pin (or unpin) a topic: Discourse's featured topics."""
        native = native_or_missing(question_id)
        async with self._connect(write=True) as conn:
            await _questions.set_pinned(
                conn, question_id, native, pinned_at=now if featured else None
            )

    async def stale_questions(
        self, before: datetime, *, unanswered: bool, space_ids: Sequence[str] | None
    ) -> list[StaleQuestion]:
        """Live topics with no post since ``before``, oldest activity first."""
        stmt = _stale_select(before, unanswered=unanswered, space_ids=space_ids)
        rows = [] if stmt is None else await self._all(stmt)
        return [StaleQuestion(str(r.id), str(r.category_id), r.title, r.last_active) for r in rows]

    async def archive_questions(
        self, ids: Sequence[str], *, before: datetime, unanswered: bool, now: datetime
    ) -> list[str]:
        """Archive those of ``ids`` still stale, in one transaction; the ids archived."""
        wanted = native_ids(ids)
        if not wanted:
            return []
        still = [topics.c.id.in_(wanted), *_stale(before, unanswered=unanswered)]
        async with self._connect(write=True) as conn:
            found = sorted(await conn.scalars(select(topics.c.id).where(*still)))
            if found:
                await conn.execute(
                    topics.update()
                    .where(topics.c.id.in_(found), topics.c.archived_at.is_(None))
                    .values(archived_at=now)
                )
        return [str(n) for n in found]

    async def set_archived(self, question_id: str, *, archived: bool, now: datetime) -> None:
        """Archive or restore a topic (no change when it already is)."""
        native = native_or_missing(question_id)
        async with self._connect(write=True) as conn:
            if await conn.scalar(select(topics.c.id).where(topics.c.id == native)) is None:
                raise TargetMissing(question_id)
            already = topics.c.archived_at.is_not(None)
            await conn.execute(
                topics.update()
                .where(topics.c.id == native, ~already if archived else already)
                .values(archived_at=now if archived else None)
            )

    async def set_archive_exempt(self, space_id: str, *, exempt: bool) -> None:
        """Exempt a category from pruning, or stop."""
        native = native_or_missing(space_id)
        async with self._connect(write=True) as conn:
            if await conn.scalar(select(categories.c.id).where(categories.c.id == native)) is None:
                raise TargetMissing(space_id)
            await conn.execute(
                categories.update().where(categories.c.id == native).values(archive_exempt=exempt)
            )
