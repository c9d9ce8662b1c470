"""Escalations: which community question an employee carried into which internal space.

The link lives here, in the gateway's own records, because it joins two stores: the
community question (in the forum's tables) and the internal topic that quotes it (in the
internal network's). It names both by native id and holds no content: who may see an
escalation is decided when they look, by whether they may read its internal space.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Index, Integer, String, Table, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError

from gateway.records.base import RecordsPart
from gateway.records.tables import metadata
from gateway.stores.sql import UtcDateTime, write_transaction

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

__all__ = ["AlreadyEscalated", "Escalation", "Escalations", "escalations"]

# On the records' one MetaData, so that Records.create_schema creates it with the others.
escalations = Table(
    "escalations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("question_id", String(64), nullable=False),  # the community topic's native id
    Column("space_id", String(64), nullable=False),  # the internal community's native id
    Column("topic_id", String(64), nullable=False),  # the internal topic quoting it
    Column("actor", String(320), nullable=False),  # who escalated: user:EMAIL
    Column("by_person_id", String(64), nullable=False),  # their internal profile
    Column("at", UtcDateTime, nullable=False),
    Column("answer_id", String(64), nullable=True),  # the answer posted back, once it was
    Column("answered_at", UtcDateTime, nullable=True),
    UniqueConstraint("question_id", "space_id", name="uq_escalations_question_space"),
    Index("ix_escalations_question", "question_id", "id"),
)


class AlreadyEscalated(Exception):
    """The question was escalated into that space before."""


@dataclass(frozen=True, slots=True)
class Escalation:
    id: int
    question_id: str
    space_id: str
    topic_id: str
    actor: str
    by_person_id: str
    at: datetime
    answer_id: str | None = None
    answered_at: datetime | None = None


def _record(row: Any) -> Escalation:
    return Escalation(**row._mapping)


class Escalations(RecordsPart):
    """The escalations' part of ``Records``."""

    async def add_escalation(
        self,
        *,
        question_id: str,
        space_id: str,
        topic_id: str,
        actor: str,
        by_person_id: str,
        at: datetime,
    ) -> Escalation:
        """Record an escalation; :class:`AlreadyEscalated` when this question was escalated
        into this space before."""
        made = Escalation(
            id=0,
            question_id=question_id,
            space_id=space_id,
            topic_id=topic_id,
            actor=actor,
            by_person_id=by_person_id,
            at=at,
        )
        values = {k: v for k, v in dataclasses.asdict(made).items() if k != "id"}
        try:
            async with write_transaction(self.engine) as conn:
                result = await conn.execute(escalations.insert().values(**values))
        except IntegrityError as exc:
            raise AlreadyEscalated(question_id) from exc
        key = result.inserted_primary_key
        assert key is not None  # None only when no row went in: never after a plain INSERT
        return dataclasses.replace(made, id=int(key[0]))

    async def escalation_into(self, question_id: str, space_id: str) -> Escalation | None:
        """The escalation of this question into this space, if there is one."""
        e = escalations.c
        stmt = select(escalations).where(e.question_id == question_id, e.space_id == space_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _record(row)

    async def escalations_of(self, question_ids: Sequence[str]) -> dict[str, list[Escalation]]:
        """Every escalation of these community questions, newest first (one statement)."""
        wanted = sorted(set(question_ids))
        if not wanted:
            return {}
        e = escalations.c
        stmt = select(escalations).where(e.question_id.in_(wanted)).order_by(e.id.desc())
        found: dict[str, list[Escalation]] = {}
        async with self.engine.connect() as conn:
            for row in await conn.execute(stmt):
                found.setdefault(row.question_id, []).append(_record(row))
        return found

    async def escalations_by_ids(self, ids: Sequence[int]) -> dict[int, Escalation]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        stmt = select(escalations).where(escalations.c.id.in_(wanted))
        async with self.engine.connect() as conn:
            return {row.id: _record(row) for row in await conn.execute(stmt)}

    async def mark_escalation_answered(
        self, escalation_id: int, answer_id: str, at: datetime
    ) -> None:
        """Record the answer posted back to the community question (the latest one wins)."""
        stmt = (
            update(escalations)
            .where(escalations.c.id == escalation_id)
            .values(answer_id=answer_id, answered_at=at)
        )
        async with write_transaction(self.engine) as conn:
            await conn.execute(stmt)
