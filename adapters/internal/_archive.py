"""Moderation of forum topics and replies, natively: hiding, featuring, and archiving stale
question topics (``gateway content prune``) and restoring them.

A topic's activity is its creation and its replies'; a community with ``archive_exempt``
(a knowledge base that stays) is never pruned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from adapters import _hidden
from adapters._base import SqlStore
from adapters._sql import native_id, native_ids, native_or_missing
from adapters.internal import _writes
from adapters.internal._shared import SCOPE
from adapters.internal._tables import communities, forum_replies, forum_topics
from gateway.stores.admin_rows import StaleQuestion
from gateway.stores.interface import TargetMissing

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import ColumnElement, Select

    from gateway.stores.admin_rows import HiddenPost
    from gateway.stores.scope import StoreScope

__all__ = ["Moderation"]

_LAST_REPLY = (
    select(func.max(forum_replies.c.created_at))
    .where(forum_replies.c.topic_id == forum_topics.c.id)
    .correlate(forum_topics)
    .scalar_subquery()
)


def _stale(before: datetime, *, unanswered: bool) -> list[ColumnElement[bool]]:
    """Live question topics outside exempt communities with no activity since ``before``."""
    exempt = (
        select(communities.c.id)
        .where(communities.c.id == forum_topics.c.community_id, communities.c.archive_exempt)
        .exists()
    )
    conditions = [
        forum_topics.c.is_question,
        forum_topics.c.archived_at.is_(None),
        forum_topics.c.created_at < before,
        or_(_LAST_REPLY.is_(None), before > _LAST_REPLY),
        ~exempt,
    ]
    if unanswered:
        conditions.append(forum_topics.c.accepted_reply_id.is_(None))
    return conditions


def _stale_select(
    before: datetime, *, unanswered: bool, space_ids: Sequence[str] | None
) -> Select[Any] | None:
    stmt = select(
        forum_topics.c.id,
        forum_topics.c.community_id,
        forum_topics.c.subject,
        func.coalesce(_LAST_REPLY, forum_topics.c.created_at).label("last_active"),
    ).where(*_stale(before, unanswered=unanswered))
    if space_ids is not None:
        wanted = native_ids(space_ids)
        if not wanted:
            return None
        stmt = stmt.where(forum_topics.c.community_id.in_(wanted))
    return stmt.order_by("last_active", forum_topics.c.id)


class Moderation(SqlStore):
    """Hiding, featuring and archiving, for the internal store."""

    async def set_hidden(self, post_id: str, *, answer: bool, hidden: bool, now: datetime) -> None:
        """Hide (or show again) a question topic or a reply."""
        native = native_or_missing(post_id)
        async with self._connect(write=True) as conn:
            await _writes.set_hidden(conn, post_id, native, answer=answer, hidden=hidden, now=now)

    async def hidden_posts(
        self, space_id: str, scope: StoreScope, *, after: HiddenPost | None, limit: int
    ) -> list[HiddenPost]:
        """The community's hidden question topics and replies the scope shows (hidden ones
        only where it moderates), in the moderation queue's order; ``limit + 1`` at most."""
        native = native_id(space_id)
        if native is None or scope.empty:
            return []
        topic, reply = forum_topics.c, forum_replies.c
        where = [
            topic.community_id == native,
            topic.is_question,
            SCOPE.in_scope(scope),
            SCOPE.shown(scope, topic.hidden_at),
        ]
        joined = forum_topics.join(communities, communities.c.id == topic.community_id)
        questions = (
            select(topic.id, topic.hidden_at)
            .select_from(joined)
            .where(*where, _hidden.after(topic.hidden_at, topic.id, answer=False, cursor=after))
        )
        answers = (
            select(reply.id, reply.hidden_at)
            .select_from(forum_replies.join(joined, topic.id == reply.topic_id))
            .where(
                *where[:3],
                SCOPE.shown(scope, reply.hidden_at),
                _hidden.after(reply.hidden_at, reply.id, answer=True, cursor=after),
            )
        )
        async with self._connect() as conn:
            return await _hidden.merged(conn, questions, answers, limit)

    async def set_featured(self, question_id: str, *, featured: bool, now: datetime) -> None:
        """Feature (or stop featuring) a question topic."""
        native = native_or_missing(question_id)
        async with self._connect(write=True) as conn:
            await _writes.set_featured(conn, question_id, native, featured=featured, now=now)

    async def stale_questions(
        self, before: datetime, *, unanswered: bool, space_ids: Sequence[str] | None
    ) -> list[StaleQuestion]:
        """Live question topics with no activity since ``before``, oldest activity first."""
        stmt = _stale_select(before, unanswered=unanswered, space_ids=space_ids)
        rows = [] if stmt is None else await self._all(stmt)
        return [
            StaleQuestion(str(r.id), str(r.community_id), r.subject, r.last_active) for r in rows
        ]

    async def archive_questions(
        self, ids: Sequence[str], *, before: datetime, unanswered: bool, now: datetime
    ) -> list[str]:
        """Archive those of ``ids`` still stale, in one transaction; the ids archived."""
        wanted = native_ids(ids)
        if not wanted:
            return []
        still = [forum_topics.c.id.in_(wanted), *_stale(before, unanswered=unanswered)]
        async with self._connect(write=True) as conn:
            found = sorted(await conn.scalars(select(forum_topics.c.id).where(*still)))
            if found:
                await conn.execute(
                    forum_topics.update()
                    .where(forum_topics.c.id.in_(found), forum_topics.c.archived_at.is_(None))
                    .values(archived_at=now)
                )
        return [str(n) for n in found]

    async def set_archived(self, question_id: str, *, archived: bool, now: datetime) -> None:
        """Archive or restore a question topic (no change when it already is)."""
        native = native_or_missing(question_id)
        mine = (forum_topics.c.id == native, forum_topics.c.is_question)
        async with self._connect(write=True) as conn:
            if await conn.scalar(select(forum_topics.c.id).where(*mine)) is None:
                raise TargetMissing(question_id)
            already = forum_topics.c.archived_at.is_not(None)
            await conn.execute(
                forum_topics.update()
                .where(*mine, ~already if archived else already)
                .values(archived_at=now if archived else None)
            )

    async def set_archive_exempt(self, space_id: str, *, exempt: bool) -> None:
        """Exempt a community from pruning, or stop."""
        native = native_or_missing(space_id)
        async with self._connect(write=True) as conn:
            found = select(communities.c.id).where(communities.c.id == native)
            if await conn.scalar(found) is None:
                raise TargetMissing(space_id)
            await conn.execute(
                communities.update().where(communities.c.id == native).values(archive_exempt=exempt)
            )
