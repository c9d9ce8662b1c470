"""Escalations as the API shows them: ``Question.escalation`` and ``node(id)``.

An escalation (a community question carried into an internal space, see
:mod:`gateway.records.escalations`) is shown only to callers who may read its internal
space; to everyone else the question looks exactly like one never escalated (``null``),
and ``node`` answers its id like one that does not exist.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from gateway.domain import ids
from gateway.domain import model as domain
from gateway.domain.ids import node_id
from gateway.domain.model import StoreName
from gateway.records.escalations import Escalation as Record
from gateway.schema.context import context_of
from gateway.schema.people import Person, person_view
from gateway.schema.types import Answer, Question, Space
from gateway.stores.guard import STORE_FAILURES

if TYPE_CHECKING:
    from gateway.schema.context import Context

__all__ = ["Escalation", "escalation_id", "escalation_node", "escalation_of", "record_number"]

log = logging.getLogger("gateway.escalations")
# Escalations are the internal side's: their ids name the internal store.
STORE = StoreName.INTERNAL
_LOADER = "_escalations"


def escalation_id(record: Record) -> str:
    """The global id of an escalation."""
    return ids.encode("Escalation", STORE, str(record.id))


def record_number(native_id: str) -> int | None:
    """The records' id in an escalation's native id; None when it cannot be one."""
    return int(native_id) if native_id.isdigit() and len(native_id) < 19 else None


@strawberry.type(
    description="A community question carried into an internal space, where employees agree "
    "on an answer. Shown only to those who may read that space."
)
class Escalation(relay.Node):
    nid: relay.NodeID[str]
    at: datetime = strawberry.field(description="When it was escalated.")
    _record: strawberry.Private[Record]
    _space: strawberry.Private[domain.Space]

    @classmethod
    def of(cls, record: Record, space: domain.Space) -> Escalation:
        return cls(nid=node_id(STORE, str(record.id)), at=record.at, _record=record, _space=space)

    @strawberry.field(description="The internal space it was escalated into.")
    def space(self) -> Space:
        return Space.of(self._space)

    @strawberry.field(description="Who escalated it; null when their profile is gone.")
    async def by(self, info: Info) -> Person | None:
        return await person_view(info, STORE, self._record.by_person_id)

    @strawberry.field(description="The internal topic that quotes it: the discussion.")
    async def topic(self, info: Info) -> Question | None:
        found = await context_of(info).loaders.question.load((STORE, self._record.topic_id))
        return Question.of(found) if found is not None else None

    @strawberry.field(description="The community question escalated.")
    async def question(self, info: Info) -> Question | None:
        key = (StoreName.COMMUNITY, self._record.question_id)
        found = await context_of(info).loaders.question.load(key)
        return Question.of(found) if found is not None else None

    @strawberry.field(
        description="The answer posted back to the community question (answerFromEscalation); "
        "null until one is."
    )
    async def answer(self, info: Info) -> Answer | None:
        if self._record.answer_id is None:
            return None
        key = (StoreName.COMMUNITY, self._record.answer_id)
        found = await context_of(info).loaders.answer.load(key)
        return Answer.of(found) if found is not None else None


def _loader(ctx: Context) -> DataLoader[str, list[Record]]:
    """The request's loader of escalations by community question id: one statement for a
    page of questions. Kept with the request's other loaders, so a write clears it too
    (Context.forget_reads clears every loader there)."""
    loaders = vars(ctx.loaders)
    found = loaders.get(_LOADER)
    if found is None:
        records = ctx.records  # an answer that reads the records is never cached

        async def load(keys: list[str]) -> list[list[Record]]:
            by_question = await records.escalations_of(keys)
            return [by_question.get(k, []) for k in keys]

        found = loaders[_LOADER] = DataLoader(load)
    return found


async def shown(ctx: Context, record: Record) -> Escalation | None:
    """The escalation as the caller sees it: only if they may read its internal space."""
    space = await ctx.loaders.space.load((STORE, record.space_id))
    return Escalation.of(record, space) if space is not None else None


async def escalation_of(info: Info, question: domain.Question) -> Escalation | None:
    """A community question's latest escalation into a space the caller may read."""
    if question.store is not StoreName.COMMUNITY:
        return None
    ctx = context_of(info)
    try:
        records = await _loader(ctx).load(question.id)
    except STORE_FAILURES:
        log.warning("could not read the escalations of question %s", question.id)
        return None
    for record in records:
        found = await shown(ctx, record)
        if found is not None:
            return found
    return None


async def escalation_node(info: Info, native_id: str) -> Escalation | None:
    """``node(id)`` of an escalation: like :func:`escalation_of`, null unless the caller
    may read its internal space."""
    number = record_number(native_id)
    if number is None:
        return None
    ctx = context_of(info)
    record = (await ctx.records.escalations_by_ids([number])).get(number)
    return None if record is None else await shown(ctx, record)
