"""Tags of topics: read per topic in one statement, and added to new topics (a page's tags
come with the page itself: see adapters._joined)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from adapters._sql import insert_ignoring_duplicates
from adapters.community._tables import tags, topic_tags

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["of_topics", "tag_topic"]


async def _tags_by(
    conn: AsyncConnection, link: Any, owner: ColumnElement[int], ids: list[int]
) -> dict[int, tuple[str, ...]]:
    """Tag names per owner id (topics or categories), in one statement."""
    if not ids:
        return {}
    rows = await conn.execute(
        select(owner, tags.c.name)
        .join(tags, tags.c.id == link.c.tag_id)
        .where(owner.in_(ids))
        .order_by(owner, tags.c.name)
    )
    found: dict[int, list[str]] = {}
    for owner_id, name in rows:
        found.setdefault(owner_id, []).append(name)
    return {k: tuple(v) for k, v in found.items()}


async def of_topics(conn: AsyncConnection, ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Tag names per topic id."""
    return await _tags_by(conn, topic_tags, topic_tags.c.topic_id, ids)


async def tag_topic(conn: AsyncConnection, topic_id: int, names: Sequence[str]) -> None:
    """Give a new topic these (lower-cased) tags, creating the tags the forum lacks."""
    if not names:
        return
    await conn.execute(
        insert_ignoring_duplicates(tags, conn.dialect.name), [{"name": name} for name in names]
    )
    tag_ids = await conn.scalars(select(tags.c.id).where(tags.c.name.in_(names)))
    await conn.execute(
        topic_tags.insert(), [{"topic_id": topic_id, "tag_id": tag_id} for tag_id in tag_ids]
    )
