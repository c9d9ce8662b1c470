"""Escalating a community question into an internal space, and answering it back.

``escalateQuestion``: an employee (policy action ``escalate`` in the question's space)
carries a community question into an internal space they may ask in: an internal question
topic quotes it and links to it, and the link is kept in the gateway's records. The
internal discussion stays internal. ``answerFromEscalation``: the answer agreed there is
posted back to the community question, as its writer, and accepted if they may accept
there. Both go the one write path (:mod:`gateway.writes`): audited, idempotent with a key.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from gateway import writes
from gateway.domain import ids
from gateway.domain.errors import StoreDown
from gateway.domain.model import StoreName
from gateway.domain.permissions import Action, Resource
from gateway.domain.principal import Principal
from gateway.policies.compiler import Authorizer
from gateway.records import Replay
from gateway.records.escalations import AlreadyEscalated
from gateway.schema.context import context_of
from gateway.schema.escalation import Escalation, escalation_id, record_number, shown
from gateway.schema.payloads import (
    ERRORS,
    INPUT,
    KEY_DESCRIPTION,
    UserError,
    arguments,
    errors_of,
    is_own,
)
from gateway.schema.types import Answer, Question
from gateway.stores.interface import WriteConflict
from gateway.writes import Checks, ErrorCode, Write, WriteRefused, refuse
from gateway.writes.escalations import ALREADY, quote, topic_title

__all__ = ["EscalationMutations"]


@strawberry.input(description="The community question to escalate, and where to.")
class EscalateQuestionInput:
    question_id: strawberry.ID = strawberry.field(
        description="The community question (its node id)."
    )
    space_id: strawberry.ID = strawberry.field(
        description="The internal space to discuss it in (you must be allowed to ask there)."
    )
    note: str = strawberry.field(
        default="", description="For your colleagues: why, what is needed (stays internal)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The escalation made, or why not.")
class EscalateQuestionPayload:
    escalation: Escalation | None = strawberry.field(
        default=None, description="The escalation; null on errors."
    )
    topic: Question | None = strawberry.field(
        default=None, description="The internal topic quoting the question; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="The answer agreed internally, for the community question.")
class AnswerFromEscalationInput:
    escalation_id: strawberry.ID = strawberry.field(description="The escalation (its node id).")
    body: str = strawberry.field(description="The answer, posted as you.")
    accept: bool = strawberry.field(
        default=False,
        description="Also accept it (only where you may: a moderator or the space's owner).",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The answer posted back, or why not.")
class AnswerFromEscalationPayload:
    answer: Answer | None = strawberry.field(
        default=None, description="The community answer; null on errors."
    )
    escalation: Escalation | None = strawberry.field(
        default=None, description="The escalation, now answered; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


def _in_store(ref: ids.NodeRef | None, store: StoreName, field: str, what: str) -> None:
    if ref is not None and ref.store is not store:
        raise refuse(ErrorCode.INVALID, f"{field} must be {what}", field)


@strawberry.type
class EscalationMutations:
    @strawberry.mutation(
        description="Escalate a community question into an internal space (employees): an "
        "internal topic quotes it and links to it; the question shows the escalation only "
        "to those who may read that space."
    )
    async def escalate_question(
        self, info: Info, input: Annotated[EscalateQuestionInput, INPUT]
    ) -> EscalateQuestionPayload:
        ctx = context_of(info)
        try:
            author = writes.author_of(ctx.caller)
            checks = Checks()
            qref = checks.id("questionId", input.question_id, "Question")
            sref = checks.id("spaceId", input.space_id, "Space")
            note = checks.text("note", input.note, maximum=writes.MAX_NOTE, required=False)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert qref is not None and sref is not None
            _in_store(qref, StoreName.COMMUNITY, "questionId", "a community question")
            _in_store(sref, StoreName.INTERNAL, "spaceId", "an internal space")
            question, source = await writes.target(
                ctx.caller, ctx.loaders.question.load, qref, "questionId"
            )
            space = await writes.target_space(
                ctx.caller, StoreName.INTERNAL, sref.native_id, "spaceId"
            )
            write = Write(
                "escalateQuestion",
                Action.ESCALATE,
                space,
                arguments(input),
                {"question": input.question_id, "from": source.key, "note_length": len(note)},
                key,
            )
            await writes.authorize(
                ctx.caller,
                dataclasses.replace(write, space=source),
                message="you may not escalate questions from this space",
                field="questionId",
            )
            await writes.authorize(
                ctx.caller,
                dataclasses.replace(write, action=Action.ASK),
                message="you may not ask questions in this space",
                field="spaceId",
            )
            store, records = ctx.stores[StoreName.INTERNAL], ctx.caller.records
            # Quoted only when anyone may read it (see quote()).
            public = Authorizer(ctx.authorizer.index, Principal.guest(), ctx.now).allows(
                Resource.SPACE.value, source.key, Action.READ.value
            )
            title = topic_title(question.title, public=public)
            body = quote(input.question_id, question.title, question.body, note, public=public)

            async def run() -> Any:
                # Checked after the key is claimed: a retry gets its first answer, not this.
                if await records.escalation_into(question.id, space.id) is not None:
                    raise WriteConflict(ALREADY)
                author_id = await store.ensure_author(author)
                topic = await store.ask_question(
                    space.id, author_id, title=title, body=body, tags=question.tags, now=ctx.now
                )
                try:
                    return await records.add_escalation(
                        question_id=question.id,
                        space_id=space.id,
                        topic_id=topic.id,
                        actor=ctx.caller.principal.id,
                        by_person_id=author_id,
                        at=ctx.now,
                    )
                except AlreadyEscalated:
                    raise WriteConflict(ALREADY) from None

            done = await writes.perform(ctx.caller, write, run, escalation_id)
        except (WriteRefused, StoreDown) as refused:
            return EscalateQuestionPayload(
                errors=await errors_of(ctx, "escalateQuestion", Action.ESCALATE, refused)
            )
        if isinstance(done, Replay):
            number = record_number(ids.decode(done.result["id"]).native_id)
            replayed = await ctx.caller.records.escalations_by_ids([number] if number else [])
            record = replayed.get(number or 0)
        else:
            record = done
        view = None if record is None else await shown(ctx, record)
        topic = None
        if view is not None and record is not None:
            found = await ctx.loaders.question.load((StoreName.INTERNAL, record.topic_id))
            topic = Question.of(found) if found is not None else None
        return EscalateQuestionPayload(escalation=view, topic=topic)

    @strawberry.mutation(
        description="Post the answer agreed internally back to the escalated community "
        "question, as you; with accept, also accept it where you may."
    )
    async def answer_from_escalation(
        self, info: Info, input: Annotated[AnswerFromEscalationInput, INPUT]
    ) -> AnswerFromEscalationPayload:
        ctx = context_of(info)
        try:
            author = writes.author_of(ctx.caller)
            checks = Checks()
            eref = checks.id("escalationId", input.escalation_id, "Escalation")
            body = checks.text("body", input.body, maximum=writes.MAX_BODY)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert eref is not None
            number = record_number(eref.native_id) if eref.store is StoreName.INTERNAL else None
            records = ctx.caller.records
            found_records = await records.escalations_by_ids([number] if number else [])
            record = found_records.get(number or 0)
            # Absent, and in a space the caller may not read, look alike.
            if record is None or await shown(ctx, record) is None:
                raise refuse(ErrorCode.NOT_FOUND, "not found", "escalationId")
            qref = ids.NodeRef("Question", StoreName.COMMUNITY, record.question_id)
            question, space = await writes.target(
                ctx.caller, ctx.loaders.question.load, qref, "escalationId"
            )
            write = Write(
                "answerFromEscalation",
                Action.ANSWER,
                space,
                arguments(input),
                {
                    "escalation": input.escalation_id,
                    "question": ids.encode("Question", StoreName.COMMUNITY, question.id),
                    "body_length": len(body),
                    "accept": input.accept,
                },
                key,
            )
            await writes.authorize(
                ctx.caller, write, message="you may not answer in this space", field="escalationId"
            )
            if input.accept:
                await writes.authorize(
                    ctx.caller,
                    dataclasses.replace(write, action=Action.ACCEPT),
                    own=await is_own(ctx, StoreName.COMMUNITY, question.author_id),
                    message="only the asker, a space owner or a moderator may accept an answer",
                    field="accept",
                )
            store = ctx.stores[StoreName.COMMUNITY]

            async def run() -> Any:
                author_id = await store.ensure_author(author)
                answer = await store.answer_question(question.id, author_id, body=body, now=ctx.now)
                if input.accept:
                    await store.accept_answer(answer.id)
                    answer = dataclasses.replace(answer, accepted=True)
                await records.mark_escalation_answered(record.id, answer.id, ctx.now)
                return answer

            done = await writes.perform(
                ctx.caller, write, run, lambda a: ids.encode("Answer", a.store, a.id)
            )
        except (WriteRefused, StoreDown) as refused:
            return AnswerFromEscalationPayload(
                errors=await errors_of(ctx, "answerFromEscalation", Action.ANSWER, refused)
            )
        if isinstance(done, Replay):
            ref = ids.decode(done.result["id"])
            found = await ctx.loaders.answer.load((ref.store, ref.native_id))
        else:
            found = done
        fresh = (await records.escalations_by_ids([record.id])).get(record.id)
        return AnswerFromEscalationPayload(
            answer=Answer.of(found) if found is not None else None,
            escalation=None if fresh is None else await shown(ctx, fresh),
        )
