"""Stale content: restoring an archived question, and exempting a space from pruning.

``gateway content prune`` archives questions with no activity since a time (natively, in
each store); an archived question vanishes from every list, count, search and lookup for
everyone but the space's moderators (policy action ``moderate``: community managers and
moderators in the community store, a space's owners in their space), who list them with
``questions(archived: true)`` and restore them here. A space whose questions must stay (a
knowledge base) is exempted by those who moderate it.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway import writes
from gateway.domain.errors import StoreDown
from gateway.domain.permissions import Action
from gateway.schema.context import context_of
from gateway.schema.payloads import ERRORS, INPUT, KEY_DESCRIPTION, UserError, arguments, errors_of
from gateway.schema.types import Question, Space
from gateway.writes import Checks, Write, WriteRefused

MODERATE_MESSAGE = "you may not moderate this space"


@strawberry.input(description="The archived question to bring back.")
class RestoreQuestionInput:
    question_id: strawberry.ID = strawberry.field(description="The question (its node id).")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The question, live again, or why not.")
class RestoreQuestionPayload:
    question: Question | None = strawberry.field(
        default=None, description="The question; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="Whether pruning may archive a space's stale questions.")
class SetArchiveExemptInput:
    space_id: strawberry.ID = strawberry.field(description="The space (its node id).")
    exempt: bool = strawberry.field(
        default=True, description="True: never archive its questions; false: prune it too."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The space as it now stands, or why not.")
class SetArchiveExemptPayload:
    space: Space | None = strawberry.field(default=None, description="The space; null on errors.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class ArchiveMutations:
    @strawberry.mutation(
        description="Restore an archived question (moderators of its space): it is listed, "
        "counted and found again. Restoring a live question changes nothing."
    )
    async def restore_question(
        self, info: Info, input: Annotated[RestoreQuestionInput, INPUT]
    ) -> RestoreQuestionPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("questionId", input.question_id, "Question")
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            # Through the read scope: an archived question is found only by its moderators,
            # so anyone else is answered NOT_FOUND, as for a question that does not exist.
            question, space = await writes.target(
                ctx.caller, ctx.loaders.question.load, ref, "questionId"
            )
            write = Write(
                "restoreQuestion",
                Action.MODERATE,
                space,
                arguments(input),
                {"question": input.question_id, "was_archived": question.archived},
                key,
            )
            await writes.authorize(ctx.caller, write, message=MODERATE_MESSAGE, field="questionId")
            store = ctx.stores[space.store]
            await writes.perform(
                ctx.caller,
                write,
                lambda: store.set_archived(question.id, archived=False, now=ctx.now),
                lambda _none: input.question_id,
            )
        except (WriteRefused, StoreDown) as refused:
            return RestoreQuestionPayload(
                errors=await errors_of(ctx, "restoreQuestion", Action.MODERATE, refused)
            )
        return RestoreQuestionPayload(
            question=Question.of(dataclasses.replace(question, archived=False))
        )

    @strawberry.mutation(
        description="Exempt a space from pruning (`gateway content prune` never archives its "
        "questions: a knowledge base that stays), or stop; for those who moderate it."
    )
    async def set_archive_exempt(
        self, info: Info, input: Annotated[SetArchiveExemptInput, INPUT]
    ) -> SetArchiveExemptPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("spaceId", input.space_id, "Space")
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            space = await writes.target_space(ctx.caller, ref.store, ref.native_id, "spaceId")
            write = Write(
                "setArchiveExempt",
                Action.MODERATE,
                space,
                arguments(input),
                {"space": input.space_id, "exempt": input.exempt},
                key,
            )
            await writes.authorize(ctx.caller, write, message=MODERATE_MESSAGE, field="spaceId")
            store = ctx.stores[space.store]
            await writes.perform(
                ctx.caller,
                write,
                lambda: store.set_archive_exempt(space.id, exempt=input.exempt),
                lambda _none: input.space_id,
            )
        except (WriteRefused, StoreDown) as refused:
            return SetArchiveExemptPayload(
                errors=await errors_of(ctx, "setArchiveExempt", Action.MODERATE, refused)
            )
        return SetArchiveExemptPayload(
            space=Space.of(dataclasses.replace(space, archive_exempt=input.exempt))
        )
