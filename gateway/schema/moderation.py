"""Moderation: hide a question or an answer from everyone but moderators, feature a question.

Policy action ``moderate`` (moderators in the community store, a space's owners in
their space). Hidden content vanishes from every list, count and lookup for everyone
else, in SQL; moderators keep seeing it, marked ``hidden: true``, and can show it again.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway import writes
from gateway.domain import ids
from gateway.domain.errors import InvalidId, StoreDown
from gateway.domain.permissions import Action
from gateway.records import Replay
from gateway.schema.context import context_of
from gateway.schema.payloads import ERRORS, INPUT, KEY_DESCRIPTION, UserError, arguments, errors_of
from gateway.schema.types import Answer, Question
from gateway.writes import Checks, ErrorCode, Write, WriteRefused
from gateway.writes.hidden import notify_hidden

_POST_TYPES = ("Question", "Answer")
MAX_REASON = 500
DEFAULT_REASON = "hidden by the moderators"


@strawberry.input(description="The post to hide or show.")
class HidePostInput:
    post_id: strawberry.ID = strawberry.field(description="A question or an answer.")
    hidden: bool = strawberry.field(default=True, description="False shows it again.")
    reason: str | None = strawberry.field(
        default=None,
        description=f"Why (at most {MAX_REASON} characters): its author is told, with this "
        "reason, that it was hidden.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The post as it now stands, or why not.")
class HidePostPayload:
    question: Question | None = strawberry.field(
        default=None, description="The question, when the post was one."
    )
    answer: Answer | None = strawberry.field(
        default=None, description="The answer, when the post was one."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="The question to feature or stop featuring.")
class FeaturePostInput:
    question_id: strawberry.ID = strawberry.field(description="The question (its node id).")
    featured: bool = strawberry.field(default=True, description="False stops featuring it.")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The question as it now stands, or why not.")
class FeaturePostPayload:
    question: Question | None = strawberry.field(
        default=None, description="The question; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class ModerationMutations:
    @strawberry.mutation(description="Hide a post from everyone but moderators, or show it.")
    async def hide_post(
        self, info: Info, input: Annotated[HidePostInput, INPUT]
    ) -> HidePostPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = None
            try:
                ref = ids.decode(input.post_id)
            except InvalidId as exc:
                checks.problems.append(writes.Problem(ErrorCode.INVALID, str(exc), "postId"))
            if ref is not None and ref.type_name not in _POST_TYPES:
                checks.problems.append(
                    writes.Problem(ErrorCode.INVALID, "not a question or answer id", "postId")
                )
            reason = checks.text("reason", input.reason or "", maximum=MAX_REASON, required=False)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            is_answer = ref.type_name == "Answer"
            loader = ctx.loaders.answer if is_answer else ctx.loaders.question
            post, space = await writes.target(ctx.caller, loader.load, ref, "postId")
            write = Write(
                "hidePost",
                Action.MODERATE,
                space,
                arguments(input),
                {"post": input.post_id, "hidden": input.hidden, "reason_chars": len(reason)},
                key,
            )
            await writes.authorize(
                ctx.caller, write, message="you may not moderate this space", field="postId"
            )
            store = ctx.stores[space.store]
            done = await writes.perform(
                ctx.caller,
                write,
                lambda: store.set_hidden(
                    post.id, answer=is_answer, hidden=input.hidden, now=ctx.now
                ),
                lambda _none: input.post_id,
            )
        except (WriteRefused, StoreDown) as refused:
            return HidePostPayload(
                errors=await errors_of(ctx, "hidePost", Action.MODERATE, refused)
            )
        if isinstance(done, Replay):
            post = await loader.load((ref.store, ref.native_id)) or post
        elif input.hidden and not post.hidden:
            await notify_hidden(
                ctx.caller, space, input.post_id, post.author_id, reason or DEFAULT_REASON
            )
        now_post = dataclasses.replace(post, hidden=input.hidden)
        if is_answer:
            return HidePostPayload(answer=Answer.of(now_post))
        return HidePostPayload(question=Question.of(now_post))

    @strawberry.mutation(description="Feature a question (listed by `featured: true`), or stop.")
    async def feature_post(
        self, info: Info, input: Annotated[FeaturePostInput, INPUT]
    ) -> FeaturePostPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("questionId", input.question_id, "Question")
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            question, space = await writes.target(
                ctx.caller, ctx.loaders.question.load, ref, "questionId"
            )
            write = Write(
                "featurePost",
                Action.MODERATE,
                space,
                arguments(input),
                {"question": input.question_id, "featured": input.featured},
                key,
            )
            await writes.authorize(
                ctx.caller, write, message="you may not moderate this space", field="questionId"
            )
            store = ctx.stores[space.store]
            await writes.perform(
                ctx.caller,
                write,
                lambda: store.set_featured(question.id, featured=input.featured, now=ctx.now),
                lambda _none: input.question_id,
            )
        except (WriteRefused, StoreDown) as refused:
            return FeaturePostPayload(
                errors=await errors_of(ctx, "featurePost", Action.MODERATE, refused)
            )
        return FeaturePostPayload(
            question=Question.of(dataclasses.replace(question, featured=input.featured))
        )
