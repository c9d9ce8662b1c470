"""Kudos: thanking someone for an answer or a piece of prototype feedback.

Anyone who may read a post (and has a verified email) may give it kudos, once; never to
their own post. A post the caller may not read is answered exactly like one that does not
exist. The kudos lives in the gateway's records (by global id), audited like every write
(operations ``giveKudos`` and ``giveFeedbackKudos``, action ``read``: it needs no grant
beyond reading the post), and counts towards the author's kudos badges.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from gateway import writes
from gateway.domain import ids
from gateway.domain.badges import Activity
from gateway.domain.errors import StoreDown
from gateway.domain.permissions import Action
from gateway.records import Replay
from gateway.schema.context import context_of
from gateway.schema.payloads import ERRORS, INPUT, KEY_DESCRIPTION, UserError, arguments, errors_of
from gateway.schema.types import Answer, Feedback
from gateway.stores.guard import STORE_FAILURES
from gateway.stores.interface import WriteConflict
from gateway.writes import Checks, ErrorCode, Write, WriteRefused, refuse
from gateway.writes.notices import email_of
from gateway.writes.recognition import award_badges

if TYPE_CHECKING:
    from gateway.schema.context import Context

log = logging.getLogger("gateway.recognition")


@strawberry.input(description="The answer to thank.")
class GiveKudosInput:
    answer_id: strawberry.ID = strawberry.field(description="The answer (its node id).")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input(description="The feedback to thank.")
class GiveFeedbackKudosInput:
    feedback_id: strawberry.ID = strawberry.field(description="The feedback (its node id).")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The post thanked, or why not.")
class GiveKudosPayload:
    answer: Answer | None = strawberry.field(
        default=None, description="The answer, with its kudos count; null on errors."
    )
    feedback: Feedback | None = strawberry.field(
        default=None, description="The feedback, with its kudos count; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class RecognitionMutations:
    @strawberry.mutation(
        description="Give kudos to an answer you may read: once per answer, never your own."
    )
    async def give_kudos(
        self, info: Info, input: Annotated[GiveKudosInput, INPUT]
    ) -> GiveKudosPayload:
        ctx = context_of(info)
        found = await _give(ctx, "giveKudos", "Answer", "answerId", input.answer_id, input)
        if isinstance(found, list):
            return GiveKudosPayload(errors=found)
        return GiveKudosPayload(answer=Answer.of(found) if found is not None else None)

    @strawberry.mutation(
        description="Give kudos to prototype feedback you may read: once per post, never your own."
    )
    async def give_feedback_kudos(
        self, info: Info, input: Annotated[GiveFeedbackKudosInput, INPUT]
    ) -> GiveKudosPayload:
        ctx = context_of(info)
        found = await _give(
            ctx, "giveFeedbackKudos", "Feedback", "feedbackId", input.feedback_id, input
        )
        if isinstance(found, list):
            return GiveKudosPayload(errors=found)
        return GiveKudosPayload(feedback=Feedback.of(found) if found is not None else None)


async def _give(
    ctx: Context, operation: str, type_name: str, field: str, post_id: str, input: Any
) -> Any:
    """Give kudos to the post; the post as the caller now sees it (None after a replay of a
    post gone since), or the payload's errors."""
    loader = ctx.loaders.answer if type_name == "Answer" else ctx.loaders.feedback
    try:
        writes.author_of(ctx.caller)
        checks = Checks()
        ref = checks.id(field, post_id, type_name)
        key = checks.key(input.idempotency_key)
        checks.done()
        assert ref is not None
        post, space = await writes.target(ctx.caller, loader.load, ref, field)
        subject = ids.encode(type_name, ref.store, ref.native_id)
        write = Write(
            operation,
            Action.READ,
            space,
            arguments(input),
            {"post": subject},
            key,
        )
        author = await email_of(ctx.caller, ref.store, post.author_id)
        if author is not None and author.lower() == ctx.principal.verified_email:
            raise refuse(
                ErrorCode.INVALID, "you cannot give kudos to your own post", field, write=write
            )
        if author is None:
            raise refuse(
                ErrorCode.INVALID, "this post has no author to thank any more", field, write=write
            )
        space_id = ids.encode("Space", space.store, space.id)

        async def run() -> str:
            given = await ctx.records.record_activity(
                person=author,
                kind=Activity.KUDOS,
                subject=subject,
                space=space_id,
                at=ctx.now,
                actor=ctx.principal.id,
            )
            if not given:
                raise WriteConflict("you already gave kudos to this post")
            return subject

        done = await writes.perform(ctx.caller, write, run, lambda s: s)
    except (WriteRefused, StoreDown) as refused:
        return await errors_of(ctx, operation, Action.READ, refused)
    if not isinstance(done, Replay):
        try:
            await award_badges(
                ctx.records,
                ctx.hub,
                person=author,
                kind=Activity.KUDOS,
                subject=subject,
                space=space_id,
                at=ctx.now,
            )
        except STORE_FAILURES:
            log.exception("could not award the kudos badges of %s", subject)
    return await loader.load((ref.store, ref.native_id))
