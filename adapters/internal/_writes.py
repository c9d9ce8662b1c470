"""Writes to the forum and the prototypes: asking, answering, accepting, feedback, moderation.

Each function runs inside the caller's write transaction and re-checks that its target
is still there (:class:`TargetMissing` when it vanished meanwhile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from adapters._sql import inserted_id
from adapters.internal._shared import STORE
from adapters.internal._tables import (
    communities,
    forum_replies,
    forum_topics,
    prototype_feedback,
    prototypes,
    topic_tags,
)
from gateway.domain.model import Answer, Feedback, Question
from gateway.stores.interface import TargetMissing

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncConnection


async def ask_question(
    conn: AsyncConnection,
    space_id: str,
    community: int,
    author: int,
    *,
    title: str,
    body: str,
    tags: Sequence[str],
    now: datetime,
) -> Question:
    """A question topic in a community, with its tags."""
    wanted = sorted({tag.lower() for tag in tags})
    exists = select(communities.c.id).where(communities.c.id == community)
    if await conn.scalar(exists) is None:
        raise TargetMissing(space_id)
    result = await conn.execute(
        forum_topics.insert().values(
            community_id=community,
            author_profile_id=author,
            subject=title,
            content=body,
            is_question=True,
            created_at=now,
        )
    )
    topic_id = inserted_id(result)
    if wanted:
        await conn.execute(
            topic_tags.insert(), [{"topic_id": topic_id, "tag": tag} for tag in wanted]
        )
    return Question(
        store=STORE,
        id=str(topic_id),
        space_id=str(community),
        title=title,
        body=body,
        author_id=str(author),
        tags=tuple(wanted),
        accepted_answer_id=None,
        created_at=now,
    )


async def answer_question(
    conn: AsyncConnection, question_id: str, topic: int, author: int, *, body: str, now: datetime
) -> Answer:
    """A reply to a question topic."""
    community = await conn.scalar(
        select(forum_topics.c.community_id).where(
            forum_topics.c.id == topic, forum_topics.c.is_question
        )
    )
    if community is None:
        raise TargetMissing(question_id)
    result = await conn.execute(
        forum_replies.insert().values(
            topic_id=topic, author_profile_id=author, content=body, created_at=now
        )
    )
    return Answer(
        store=STORE,
        id=str(inserted_id(result)),
        question_id=str(topic),
        space_id=str(community),
        body=body,
        author_id=str(author),
        accepted=False,
        created_at=now,
    )


async def accept_answer(conn: AsyncConnection, answer_id: str, reply: int) -> int:
    """Point the reply's topic at it as the accepted reply; the topic's id."""
    topic = await conn.scalar(
        select(forum_replies.c.topic_id)
        .select_from(
            forum_replies.join(forum_topics, forum_topics.c.id == forum_replies.c.topic_id)
        )
        .where(forum_replies.c.id == reply, forum_topics.c.is_question)
        .with_for_update()
    )
    if topic is None:
        raise TargetMissing(answer_id)
    await conn.execute(
        forum_topics.update().where(forum_topics.c.id == topic).values(accepted_reply_id=reply)
    )
    return topic


async def add_feedback(
    conn: AsyncConnection,
    prototype_id: str,
    prototype: int,
    author: int,
    *,
    rating: int,
    body: str,
    internal_note: str | None,
    now: datetime,
) -> Feedback:
    """Feedback on a prototype."""
    community = await conn.scalar(
        select(prototypes.c.community_id).where(prototypes.c.id == prototype)
    )
    if community is None:
        raise TargetMissing(prototype_id)
    result = await conn.execute(
        prototype_feedback.insert().values(
            prototype_id=prototype,
            author_profile_id=author,
            rating=rating,
            comment=body,
            internal_note=internal_note,
            created_at=now,
        )
    )
    return Feedback(
        store=STORE,
        id=str(inserted_id(result)),
        prototype_id=str(prototype),
        space_id=str(community),
        rating=rating,
        body=body,
        author_id=str(author),
        internal_note=internal_note,
        created_at=now,
    )


async def set_hidden(
    conn: AsyncConnection, post_id: str, native: int, *, answer: bool, hidden: bool, now: datetime
) -> None:
    """Hide (or show again) a question topic or a reply."""
    table = forum_replies if answer else forum_topics
    result = await conn.execute(
        table.update().where(table.c.id == native).values(hidden_at=now if hidden else None)
    )
    if result.rowcount == 0:
        raise TargetMissing(post_id)


async def set_featured(
    conn: AsyncConnection, question_id: str, native: int, *, featured: bool, now: datetime
) -> None:
    """Feature (or stop featuring) a question topic."""
    mine = (forum_topics.c.id == native, forum_topics.c.is_question)
    if await conn.scalar(select(forum_topics.c.id).where(*mine)) is None:
        raise TargetMissing(question_id)
    await conn.execute(
        forum_topics.update().where(*mine).values(featured_at=now if featured else None)
    )
