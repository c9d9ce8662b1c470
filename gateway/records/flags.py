"""Flags on posts (post-moderation): who flagged which post and why, until resolved.

A flag names its post and space by global id; the post itself, and whether it is hidden,
stay in its store. One flag per person and post, ever (a second is refused); a flag is
open until a moderator resolves the post's flags (keep or hide), which closes them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.records.base import RecordsPart
from gateway.records.tables import post_flags
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Row, Select

__all__ = ["Flag", "FlaggedPost", "Flags"]


@dataclass(frozen=True, slots=True)
class Flag:
    id: int
    post: str
    space: str
    flagger: str
    reason: str
    note: str | None
    created_at: datetime
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FlaggedPost:
    """A post with open flags, as the queue lists it: ordered by its oldest open flag."""

    post: str
    first_flag: int  # the id of its oldest open flag: the queue's order and cursor
    open_flags: int


class Flags(RecordsPart):
    """The flags' part of ``Records``."""

    async def add_flag(
        self,
        *,
        post: str,
        space: str,
        flagger: str,
        reason: str,
        note: str | None,
        now: datetime,
    ) -> int | None:
        """Record a flag; the post's open flags afterwards (one per person), or None when
        this person flagged this post before (nothing changes)."""
        async with write_transaction(self.engine) as conn:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(post_flags).values(
                            post=post,
                            space=space,
                            flagger=flagger,
                            reason=reason,
                            note=note,
                            created_at=now,
                        )
                    )
            except IntegrityError:
                return None
            return int(await conn.scalar(_open_count(post)) or 0)

    async def open_flags(self, posts: Sequence[str]) -> dict[str, list[Flag]]:
        """The open flags of these posts, oldest first; posts with none are absent."""
        if not posts:
            return {}
        f = post_flags.c
        stmt = (
            select(post_flags)
            .where(f.post.in_(sorted(set(posts))), f.resolved_at.is_(None))
            .order_by(f.id)
        )
        found: dict[str, list[Flag]] = {}
        async with self.engine.connect() as conn:
            for row in await conn.execute(stmt):
                found.setdefault(row.post, []).append(_flag(row))
        return found

    async def flagged_posts(
        self, space: str, *, after: int | None, limit: int
    ) -> list[FlaggedPost]:
        """Posts of a space with open flags, by their oldest open flag, ``limit`` of them
        after the one whose oldest open flag is ``after``."""
        f = post_flags.c
        first = func.min(f.id)
        stmt = (
            select(f.post, first.label("first_flag"), func.count().label("open_flags"))
            .where(f.space == space, f.resolved_at.is_(None))
            .group_by(f.post)
        )
        if after is not None:
            stmt = stmt.having(first > after)
        stmt = stmt.order_by(first).limit(limit)
        async with self.engine.connect() as conn:
            rows = await conn.execute(stmt)
            return [FlaggedPost(r.post, int(r.first_flag), int(r.open_flags)) for r in rows]

    async def resolve_flags(
        self, post: str, *, by: str, resolution: str, note: str | None, now: datetime
    ) -> int:
        """Close the post's open flags with a moderator's decision; how many were open."""
        f = post_flags.c
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                update(post_flags)
                .where(f.post == post, f.resolved_at.is_(None))
                .values(
                    resolved_at=now, resolved_by=by, resolution=resolution, resolution_note=note
                )
            )
        return int(result.rowcount)


def _open_count(post: str) -> Select[int]:
    f = post_flags.c
    return select(func.count()).where(f.post == post, f.resolved_at.is_(None))


def _flag(row: Row[Any]) -> Flag:
    m = row._mapping
    return Flag(
        id=m["id"],
        post=m["post"],
        space=m["space"],
        flagger=m["flagger"],
        reason=m["reason"],
        note=m["note"],
        created_at=m["created_at"],
        resolved_at=m["resolved_at"],
    )
