"""Mutations on content: ask, answer, accept an answer, give prototype feedback.

Resolvers only translate: GraphQL input in, :mod:`gateway.writes` decides and
writes, the payload carries the result or ``errors`` meant for the user. A
refused write changes nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from gateway import writes
from gateway.domain import ids
from gateway.domain.errors import StoreDown
from gateway.domain.permissions import Action, Resource
from gateway.records import Replay
from gateway.schema.context import context_of
from gateway.schema.payloads import (
    ERRORS,
    INPUT,
    KEY_DESCRIPTION,
    MENTIONS,
    MentionReport,
    UserError,
    arguments,
    errors_of,
    is_own,
    mention,
    replayed,
)
from gateway.schema.types import Answer, Feedback, Question
from gateway.writes import Checks, ErrorCode, Write, WriteRefused, activity, refuse


@strawberry.input(description="A new question.")
class AskQuestionInput:
    space_id: strawberry.ID = strawberry.field(description="The space to ask in (its node id).")
    title: str = strawberry.field(description="Its title.")
    body: str = strawberry.field(description="Its text; @handle mentions notify people.")
    tags: list[str] = strawberry.field(default_factory=list, description="Its tags.")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The question asked, or why not.")
class AskQuestionPayload:
    question: Question | None = strawberry.field(
        default=None, description="The new question; null on errors."
    )
    mentions: MentionReport = strawberry.field(default_factory=MentionReport, description=MENTIONS)
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="A new answer.")
class AnswerQuestionInput:
    question_id: strawberry.ID = strawberry.field(description="The question (its node id).")
    body: str = strawberry.field(description="Its text; @handle mentions notify people.")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The answer written, or why not.")
class AnswerQuestionPayload:
    answer: Answer | None = strawberry.field(
        default=None, description="The new answer; null on errors."
    )
    mentions: MentionReport = strawberry.field(default_factory=MentionReport, description=MENTIONS)
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="The answer to accept.")
class AcceptAnswerInput:
    answer_id: strawberry.ID = strawberry.field(description="The answer (its node id).")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The question and its accepted answer, or why not.")
class AcceptAnswerPayload:
    question: Question | None = strawberry.field(
        default=None, description="The question, now answered; null on errors."
    )
    answer: Answer | None = strawberry.field(
        default=None, description="The answer, now accepted; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="Feedback on a prototype.")
class PostFeedbackInput:
    prototype_id: strawberry.ID = strawberry.field(description="The prototype (its node id).")
    rating: int = strawberry.field(description="1 (poor) to 5 (excellent).")
    body: str = strawberry.field(description="What you think; @handle mentions notify people.")
    internal_note: str | None = strawberry.field(
        default=None, description="Seen by employees only; only employees may write one."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The feedback given, or why not.")
class PostFeedbackPayload:
    feedback: Feedback | None = strawberry.field(
        default=None, description="The new feedback; null on errors."
    )
    mentions: MentionReport = strawberry.field(default_factory=MentionReport, description=MENTIONS)
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class ContentMutations:
    @strawberry.mutation(description="Ask a question in a space.")
    async def ask_question(
        self, info: Info, input: Annotated[AskQuestionInput, INPUT]
    ) -> AskQuestionPayload:
        ctx = context_of(info)
        try:
            author = writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("spaceId", input.space_id, "Space")
            title = checks.text("title", input.title, maximum=writes.MAX_TITLE)
            body = checks.text("body", input.body, maximum=writes.MAX_BODY)
            tags = checks.tags("tags", input.tags)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            space = await writes.target_space(ctx.caller, ref.store, ref.native_id, "spaceId")
            write = Write(
                "askQuestion",
                Action.ASK,
                space,
                arguments(input),
                {"title_length": len(title), "body_length": len(body), "tags": tags},
                key,
            )
            await writes.authorize(
                ctx.caller,
                write,
                message="you may not ask questions in this space",
                field="spaceId",
            )
            store = ctx.stores[space.store]

            async def run() -> Any:
                author_id = await store.ensure_author(author)
                return await store.ask_question(
                    space.id, author_id, title=title, body=body, tags=tags, now=ctx.now
                )

            done = await writes.perform(
                ctx.caller, write, run, lambda q: ids.encode("Question", q.store, q.id)
            )
        except (WriteRefused, StoreDown) as refused:
            return AskQuestionPayload(
                errors=await errors_of(ctx, "askQuestion", Action.ASK, refused)
            )
        if isinstance(done, Replay):
            question = await replayed(ctx, done, "question")
            return AskQuestionPayload(question=Question.of(question) if question else None)
        subject = ids.encode("Question", done.store, done.id)
        mentions = await mention(ctx, space, subject, title, body)
        return AskQuestionPayload(question=Question.of(done), mentions=mentions)

    @strawberry.mutation(description="Answer a question.")
    async def answer_question(
        self, info: Info, input: Annotated[AnswerQuestionInput, INPUT]
    ) -> AnswerQuestionPayload:
        ctx = context_of(info)
        try:
            author = writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("questionId", input.question_id, "Question")
            body = checks.text("body", input.body, maximum=writes.MAX_BODY)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            question, space = await writes.target(
                ctx.caller, ctx.loaders.question.load, ref, "questionId"
            )
            write = Write(
                "answerQuestion",
                Action.ANSWER,
                space,
                arguments(input),
                {"question": input.question_id, "body_length": len(body)},
                key,
            )
            await writes.authorize(
                ctx.caller, write, message="you may not answer in this space", field="questionId"
            )
            store = ctx.stores[space.store]

            async def run() -> Any:
                author_id = await store.ensure_author(author)
                return await store.answer_question(question.id, author_id, body=body, now=ctx.now)

            done = await writes.perform(
                ctx.caller, write, run, lambda a: ids.encode("Answer", a.store, a.id)
            )
        except (WriteRefused, StoreDown) as refused:
            return AnswerQuestionPayload(
                errors=await errors_of(ctx, "answerQuestion", Action.ANSWER, refused)
            )
        if isinstance(done, Replay):
            answer = await replayed(ctx, done, "answer")
            return AnswerQuestionPayload(answer=Answer.of(answer) if answer else None)
        mentions = await mention(ctx, space, ids.encode("Answer", done.store, done.id), body)
        await activity.answered(ctx.caller, question, done, space)
        return AnswerQuestionPayload(answer=Answer.of(done), mentions=mentions)

    @strawberry.mutation(
        description="Accept an answer: the asker, a space owner or a moderator. The question "
        "is then answered (and leaves `questions(unanswered: true)`)."
    )
    async def accept_answer(
        self, info: Info, input: Annotated[AcceptAnswerInput, INPUT]
    ) -> AcceptAnswerPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("answerId", input.answer_id, "Answer")
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            answer, space = await writes.target(
                ctx.caller, ctx.loaders.answer.load, ref, "answerId"
            )
            question = await ctx.loaders.question.load((ref.store, answer.question_id))
            if question is None:
                raise refuse(ErrorCode.NOT_FOUND, "not found", "answerId")
            write = Write(
                "acceptAnswer",
                Action.ACCEPT,
                space,
                arguments(input),
                {"answer": input.answer_id},
                key,
            )
            own = await is_own(ctx, ref.store, question.author_id)
            await writes.authorize(
                ctx.caller,
                write,
                own=own,
                message="only the asker, a space owner or a moderator may accept an answer",
                field="answerId",
            )
            store = ctx.stores[space.store]
            done = await writes.perform(
                ctx.caller,
                write,
                lambda: store.accept_answer(answer.id),
                lambda _q: ids.encode("Answer", answer.store, answer.id),
            )
        except (WriteRefused, StoreDown) as refused:
            return AcceptAnswerPayload(
                errors=await errors_of(ctx, "acceptAnswer", Action.ACCEPT, refused)
            )
        if isinstance(done, Replay):
            accepted = await replayed(ctx, done, "answer")
            if accepted is None:
                return AcceptAnswerPayload()
            now_question = await ctx.loaders.question.load((accepted.store, accepted.question_id))
        else:
            accepted = dataclasses.replace(answer, accepted=True)
            now_question = done
            await activity.accepted(ctx.caller, accepted, space)
        return AcceptAnswerPayload(
            question=Question.of(now_question) if now_question else None, answer=Answer.of(accepted)
        )

    @strawberry.mutation(description="Give feedback on a prototype.")
    async def post_feedback(
        self, info: Info, input: Annotated[PostFeedbackInput, INPUT]
    ) -> PostFeedbackPayload:
        ctx = context_of(info)
        try:
            author = writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("prototypeId", input.prototype_id, "Prototype")
            rating = checks.number("rating", input.rating, 1, 5)
            body = checks.text("body", input.body, maximum=writes.MAX_BODY)
            note: str | None = checks.text(
                "internalNote", input.internal_note or "", maximum=writes.MAX_NOTE, required=False
            )
            note = note or None
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            prototype, space = await writes.target(
                ctx.caller, ctx.loaders.prototype.load, ref, "prototypeId"
            )
            write = Write(
                "postFeedback",
                Action.GIVE_FEEDBACK,
                space,
                arguments(input),
                {"prototype": input.prototype_id, "rating": rating, "note": note is not None},
                key,
            )
            await writes.authorize(
                ctx.caller,
                write,
                message="you may not give feedback in this space",
                field="prototypeId",
            )
            if note is not None:
                await writes.authorize(
                    ctx.caller,
                    write,
                    obj=Resource.FEEDBACK_INTERNAL_NOTE,
                    message="you may not write internal notes in this space",
                    field="internalNote",
                )
            store = ctx.stores[space.store]

            async def run() -> Any:
                author_id = await store.ensure_author(author)
                return await store.add_feedback(
                    prototype.id,
                    author_id,
                    rating=rating,
                    body=body,
                    internal_note=note,
                    now=ctx.now,
                )

            done = await writes.perform(
                ctx.caller, write, run, lambda f: ids.encode("Feedback", f.store, f.id)
            )
        except (WriteRefused, StoreDown) as refused:
            return PostFeedbackPayload(
                errors=await errors_of(ctx, "postFeedback", Action.GIVE_FEEDBACK, refused)
            )
        if isinstance(done, Replay):
            feedback = await replayed(ctx, done, "feedback")
            return PostFeedbackPayload(feedback=Feedback.of(feedback) if feedback else None)
        # Mentions in the body only: an internal note must not make an external look.
        mentions = await mention(ctx, space, ids.encode("Feedback", done.store, done.id), body)
        await activity.reviewed(ctx.caller, done, space)
        return PostFeedbackPayload(feedback=Feedback.of(done), mentions=mentions)
