"""Recognition's part of ``Records``: kudos, the activity badges count, badges awarded.

Rows name posts and spaces by global id and people by verified email; nothing here is
content, and nothing here is shown as it is: the schema filters every row through the
caller's read scope when they look (gateway.schema.recognition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.domain.badges import Activity, Event
from gateway.records.base import RecordsPart
from gateway.records.tables import badge_awards, recognition_activity
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

_act = recognition_activity.c


class Recognition(RecordsPart):
    """Kudos given, activity recorded, badges awarded once."""

    async def record_activity(
        self,
        *,
        person: str,
        kind: Activity,
        subject: str,
        space: str,
        at: datetime,
        actor: str = "",
    ) -> bool:
        """Record one activity; False when it was recorded before (a kudos already given by
        this actor, an answer already counted as accepted): nothing changes then."""
        await self.ensure_schema()
        values = {
            "person": person.lower(),
            "kind": kind.value,
            "subject": subject,
            "space": space,
            "actor": actor,
            "at": at,
        }
        try:
            async with write_transaction(self.engine) as conn:
                await conn.execute(insert(recognition_activity).values(**values))
        except IntegrityError:
            return False
        return True

    async def activity_count(self, person: str, kind: Activity) -> int:
        """Everything of this kind recorded for the person, unscoped (what awarding counts)."""
        stmt = select(func.count()).where(_act.person == person.lower(), _act.kind == kind.value)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def activity_of(self, people: Sequence[str]) -> dict[str, list[tuple[Event, str]]]:
        """Every recorded activity of these people (emails), oldest first, with the space
        of each: for the schema to filter through a caller's read scope."""
        wanted = sorted({p.lower() for p in people})
        if not wanted:
            return {}
        stmt = (
            select(_act.person, _act.kind, _act.subject, _act.space, _act.at)
            .where(_act.person.in_(wanted))
            .order_by(_act.at, _act.id)
        )
        found: dict[str, list[tuple[Event, str]]] = {}
        async with self.engine.connect() as conn:
            for row in await conn.execute(stmt):
                event = Event(Activity(row.kind), row.subject, row.at)
                found.setdefault(row.person, []).append((event, row.space))
        return found

    async def kudos_counts(self, subjects: Sequence[str]) -> dict[str, int]:
        """Kudos per post (posts with none absent). The caller has these posts in scope."""
        if not subjects:
            return {}
        stmt = (
            select(_act.subject, func.count())
            .where(_act.kind == Activity.KUDOS.value, _act.subject.in_(sorted(set(subjects))))
            .group_by(_act.subject)
        )
        async with self.engine.connect() as conn:
            return {subject: int(n) for subject, n in await conn.execute(stmt)}

    async def kudos_given(self, actor: str, subjects: Sequence[str]) -> set[str]:
        """Which of these posts ``actor`` gave kudos to."""
        if not subjects:
            return set()
        stmt = select(_act.subject).where(
            _act.kind == Activity.KUDOS.value,
            _act.actor == actor,
            _act.subject.in_(sorted(set(subjects))),
        )
        async with self.engine.connect() as conn:
            return set((await conn.scalars(stmt)).all())

    async def award(self, person: str, badge: str, subject: str, at: datetime) -> bool:
        """Award a badge once; False when it was awarded before (here or by another
        replica at the same moment): only the first award notifies."""
        values = {"person": person.lower(), "badge": badge, "subject": subject, "awarded_at": at}
        try:
            async with write_transaction(self.engine) as conn:
                await conn.execute(insert(badge_awards).values(**values))
        except IntegrityError:
            return False
        return True

    async def awards_for(self, person: str, subjects: Sequence[str]) -> dict[str, list[str]]:
        """The badges awarded to the person that these posts completed, per post (what a
        badge notification names)."""
        if not subjects:
            return {}
        b = badge_awards.c
        stmt = (
            select(b.subject, b.badge)
            .where(b.person == person.lower(), b.subject.in_(sorted(set(subjects))))
            .order_by(b.badge)
        )
        found: dict[str, list[str]] = {}
        async with self.engine.connect() as conn:
            for subject, badge in await conn.execute(stmt):
                found.setdefault(subject, []).append(badge)
        return found
