"""Post-moderation: flagging a post, the moderation queue, and resolving a post's flags.

Anyone who may read a post may flag it, once (a reason from :class:`FlagReason`, and a
note); a post flagged by ``moderation.hide_after_flags`` distinct people is hidden pending
review, and its author told why (never by whom). The space's moderators (policy action
``moderate``: community managers and moderators in the community store, a space's owners
in their space) see its flagged posts in ``moderationQueue`` and resolve them: KEEP shows
the post (again), HIDE hides it. Nobody else learns that a post was flagged: the queue
is empty for them, and a post they cannot read is answered like one that does not exist.
The flags live in the gateway's records (:mod:`gateway.records.flags`); a post's hidden
state stays native, in its store.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway import writes
from gateway.domain import ids
from gateway.domain.errors import InvalidCursor, InvalidId, StoreDown
from gateway.domain.permissions import Action, Resource
from gateway.records import Replay
from gateway.schema.context import context_of
from gateway.schema.pagination import connection, page_size
from gateway.schema.payloads import ERRORS, INPUT, KEY_DESCRIPTION, UserError, arguments, errors_of
from gateway.schema.types import AFTER, FIRST, Answer, Question
from gateway.stores.admin_rows import HiddenPost
from gateway.stores.cursors import SequencePosition, TimePosition
from gateway.stores.interface import WriteConflict
from gateway.writes import Checks, ErrorCode, Problem, Write, WriteRefused
from gateway.writes.hidden import notify_hidden

if TYPE_CHECKING:
    from gateway.domain.model import Space
    from gateway.records.flags import Flag
    from gateway.schema.context import Context

MAX_NOTE = 500
AUTO_HIDDEN = "flagged by several members of the community; hidden until a moderator reviews it"
HIDDEN_AFTER_REVIEW = "hidden by the moderators after review"
_POST_TYPES = ("Question", "Answer")


class FlagReason(enum.Enum):
    SPAM = "spam"
    ABUSIVE = "abusive"
    OFF_TOPIC = "off_topic"
    INAPPROPRIATE = "inappropriate"
    CONFIDENTIAL = "confidential"
    OTHER = "other"


class FlagResolution(enum.Enum):
    KEEP = "keep"
    HIDE = "hide"


def _described(cls: type[enum.Enum], description: str, values: dict[str, str]) -> None:
    """Register an enum with a description on it and on every value (as gateway.schema.enums
    does for the domain's enums)."""
    strawberry.enum(cls, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]  # set just above
    assert set(values) == {v.name for v in cls}, f"{cls.__name__}: describe every value"
    for value in definition.values:
        value.description = values[value.name]


_described(
    FlagReason,
    "Why a post is flagged.",
    {
        "SPAM": "Advertising or junk.",
        "ABUSIVE": "Harassment, insults or hate.",
        "OFF_TOPIC": "Not about this space's subject.",
        "INAPPROPRIATE": "Against the community's rules in another way.",
        "CONFIDENTIAL": "Shares what should not be shared here.",
        "OTHER": "Something else: say what in the note.",
    },
)
_described(
    FlagResolution,
    "What a moderator decides about a flagged post.",
    {
        "KEEP": "It stays (and is shown again if it was hidden).",
        "HIDE": "It is hidden; its author is told why.",
    },
)


@strawberry.input(description="The post to flag for the moderators, and why.")
class FlagPostInput:
    post_id: strawberry.ID = strawberry.field(description="A question or an answer you can read.")
    reason: FlagReason = strawberry.field(description="Why, from a fixed list.")
    note: str | None = strawberry.field(
        default=None, description=f"More for the moderators (at most {MAX_NOTE} characters)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="Whether the flag was recorded, or why not.")
class FlagPostPayload:
    flagged: bool = strawberry.field(
        default=False, description="True once your flag is recorded (once per post)."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="A moderator's decision on a flagged post.")
class ResolveFlagsInput:
    post_id: strawberry.ID = strawberry.field(description="The flagged question or answer.")
    action: FlagResolution = strawberry.field(description="Keep it or hide it.")
    note: str | None = strawberry.field(
        default=None,
        description=f"Why (at most {MAX_NOTE} characters); with HIDE its author is told this.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The post as it now stands, or why not.")
class ResolveFlagsPayload:
    question: Question | None = strawberry.field(
        default=None, description="The question, when the post was one."
    )
    answer: Answer | None = strawberry.field(
        default=None, description="The answer, when the post was one."
    )
    resolved: int = strawberry.field(default=0, description="How many open flags this closed.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type(description="One person's flag on a post (who flagged is not shown).")
class PostFlag:
    reason: FlagReason = strawberry.field(description="Why.")
    note: str | None = strawberry.field(description="What they added, if anything.")
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def of(cls, flag: Flag) -> PostFlag:
        return cls(reason=FlagReason(flag.reason), note=flag.note, created_at=flag.created_at)


@strawberry.type(
    description="A post waiting for a moderator: flagged (with its open flags), or hidden."
)
class ModerationItem:
    post: relay.Node = strawberry.field(description="The question or answer.")
    hidden: bool = strawberry.field(description="Hidden now (by enough flags, or a moderator).")
    flags: list[PostFlag] = strawberry.field(
        description="Its open flags, oldest first (none for a post hidden without any)."
    )
    _cursor: strawberry.Private[str]

    def cursor(self) -> str:
        return self._cursor


# The queue lists posts with open flags first (by their oldest open flag), then the
# space's other hidden posts (by when hidden): a cursor says which part it points into.
_KINDS = {"q": False, "a": True}


def _hidden_cursor(space: Space, post: HiddenPost) -> str:
    kind = "a" if post.answer else "q"
    return TimePosition(post.hidden_at, space.store, f"{kind}:{post.id}").encode()


def _queue_position(after: str | None) -> tuple[int | None, HiddenPost | None]:
    """Where the queue stopped: after a flagged post (its oldest open flag), or after a
    hidden one (then every flagged post came before)."""
    if after is None:
        return None, None
    try:
        return SequencePosition.decode(after).number, None
    except InvalidCursor:
        position = TimePosition.decode(after)
    kind, _, native = position.id.partition(":")
    if kind not in _KINDS or not native:
        raise InvalidCursor(after)
    return None, HiddenPost(_KINDS[kind], native, position.created_at)


def _post_ref(checks: Checks, value: str) -> ids.NodeRef | None:
    try:
        ref = ids.decode(value)
    except InvalidId as exc:
        checks.problems.append(Problem(ErrorCode.INVALID, str(exc), "postId"))
        return None
    if ref.type_name not in _POST_TYPES:
        checks.problems.append(Problem(ErrorCode.INVALID, "not a question or answer id", "postId"))
        return None
    return ref


def _loader(ctx: Context, ref: ids.NodeRef) -> Any:
    return ctx.loaders.answer if ref.type_name == "Answer" else ctx.loaders.question


@strawberry.type
class FlagQueries:
    @strawberry.field(
        description="A space's flagged posts, oldest flag first, then its other hidden "
        "posts, by when hidden, for its moderators (empty for everyone else): forward with "
        "first/after."
    )
    async def moderation_queue(
        self,
        info: Info,
        space_id: Annotated[strawberry.ID, strawberry.argument(description="The space.")],
        first: FIRST = None,
        after: AFTER = None,
    ) -> relay.Connection[ModerationItem]:  # type: ignore[type-var]  # see pagination.N
        ctx = context_of(info)
        limit = page_size(first, ctx.settings)
        flag_after, hidden_after = _queue_position(after)
        ref = ids.decode(space_id, "Space")
        space = await ctx.loaders.space.load((ref.store, ref.native_id))
        moderate = Action.MODERATE.value
        if space is None or not ctx.authorizer.allows(Resource.SPACE.value, space.key, moderate):
            return connection([], False, ModerationItem.cursor, has_previous=after is not None)
        page: list[tuple[str, str]] = []  # (post's global id, its cursor)
        more = False
        if hidden_after is None:
            found = await ctx.records.flagged_posts(
                ids.encode("Space", space.store, space.id), after=flag_after, limit=limit + 1
            )
            more = len(found) > limit
            page += [(f.post, SequencePosition(f.first_flag).encode()) for f in found[:limit]]
        if not more:
            hidden, more = await _hidden_posts(ctx, space, hidden_after, limit - len(page))
            page += hidden
        flags = await ctx.records.open_flags([post for post, _ in page])
        items = []
        for post_id, cursor in page:
            post_ref = ids.decode(post_id)
            post = await _loader(ctx, post_ref).load((post_ref.store, post_ref.native_id))
            if post is None:
                continue  # gone from its store since it was flagged
            view = Answer.of(post) if post_ref.type_name == "Answer" else Question.of(post)
            items.append(
                ModerationItem(
                    post=view,
                    hidden=post.hidden,
                    flags=[PostFlag.of(f) for f in flags.get(post_id, [])],
                    _cursor=cursor,
                )
            )
        return connection(
            items,
            more,
            ModerationItem.cursor,
            has_previous=after is not None,
            end_cursor=page[-1][1] if page else None,
        )


async def _hidden_posts(
    ctx: Context, space: Space, after: HiddenPost | None, wanted: int
) -> tuple[list[tuple[str, str]], bool]:
    """Up to ``wanted`` of the space's hidden posts the caller's scope shows that have no
    open flag (those came before, with the flagged), after ``after``; whether more follow.
    A statement or two per page of the store, and one of the records."""
    scope = ctx.authorizer.read_scope().for_store(space.store)
    store = ctx.stores[space.store]
    found: list[tuple[str, str]] = []
    while True:
        batch = await store.hidden_posts(space.id, scope, after=after, limit=wanted)
        named = [
            (ids.encode("Answer" if p.answer else "Question", space.store, p.id), p) for p in batch
        ]
        flagged = await ctx.records.open_flags([post for post, _ in named])
        found += [(post, _hidden_cursor(space, p)) for post, p in named if post not in flagged]
        if len(found) > wanted:
            return found[:wanted], True
        if len(batch) <= wanted:
            return found, False
        after = batch[-1]


@strawberry.type
class FlagMutations:
    @strawberry.mutation(
        description="Flag a post you can read for the moderators (once per post). Flagged "
        "by enough people (moderation.hide_after_flags), it is hidden pending review."
    )
    async def flag_post(
        self, info: Info, input: Annotated[FlagPostInput, INPUT]
    ) -> FlagPostPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = _post_ref(checks, input.post_id)
            note = checks.text("note", input.note or "", maximum=MAX_NOTE, required=False)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            post, space = await writes.target(ctx.caller, _loader(ctx, ref).load, ref, "postId")
            write = Write(
                "flagPost",
                Action.READ,  # anyone who may read a post may flag it
                space,
                arguments(input),
                {"post": input.post_id, "reason": input.reason.value, "note_chars": len(note)},
                key,
            )
            await writes.authorize(ctx.caller, write, message="not found", field="postId")
            store = ctx.stores[space.store]

            async def flag() -> bool:
                count = await ctx.records.add_flag(
                    post=input.post_id,
                    space=ids.encode("Space", space.store, space.id),
                    flagger=ctx.principal.id,
                    reason=input.reason.value,
                    note=note or None,
                    now=ctx.now,
                )
                if count is None:
                    raise WriteConflict("you have flagged this post already")
                if count < ctx.settings.hide_after_flags or post.hidden:
                    return False
                answer = ref.type_name == "Answer"
                await store.set_hidden(post.id, answer=answer, hidden=True, now=ctx.now)
                return True

            done = await writes.perform(ctx.caller, write, flag, lambda _hid: input.post_id)
        except (WriteRefused, StoreDown) as refused:
            return FlagPostPayload(errors=await errors_of(ctx, "flagPost", Action.READ, refused))
        if done is True:
            await notify_hidden(ctx.caller, space, input.post_id, post.author_id, AUTO_HIDDEN)
        return FlagPostPayload(flagged=True)

    @strawberry.mutation(
        description="Resolve a post's open flags (its space's moderators): KEEP shows it, "
        "HIDE hides it and tells its author why. Repeating it changes nothing more."
    )
    async def resolve_flags(
        self, info: Info, input: Annotated[ResolveFlagsInput, INPUT]
    ) -> ResolveFlagsPayload:
        ctx = context_of(info)
        hide = input.action is FlagResolution.HIDE
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = _post_ref(checks, input.post_id)
            note = checks.text("note", input.note or "", maximum=MAX_NOTE, required=False)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            loader = _loader(ctx, ref)
            post, space = await writes.target(ctx.caller, loader.load, ref, "postId")
            write = Write(
                "resolveFlags",
                Action.MODERATE,
                space,
                arguments(input),
                {"post": input.post_id, "action": input.action.value, "note_chars": len(note)},
                key,
            )
            await writes.authorize(
                ctx.caller, write, message="you may not moderate this space", field="postId"
            )
            store = ctx.stores[space.store]

            async def resolve() -> int:
                closed = await ctx.records.resolve_flags(
                    input.post_id,
                    by=ctx.principal.id,
                    resolution=input.action.value,
                    note=note or None,
                    now=ctx.now,
                )
                if post.hidden != hide:
                    answer = ref.type_name == "Answer"
                    await store.set_hidden(post.id, answer=answer, hidden=hide, now=ctx.now)
                return closed

            done = await writes.perform(ctx.caller, write, resolve, lambda _n: input.post_id)
        except (WriteRefused, StoreDown) as refused:
            return ResolveFlagsPayload(
                errors=await errors_of(ctx, "resolveFlags", Action.MODERATE, refused)
            )
        resolved = 0
        if isinstance(done, Replay):
            post = await loader.load((ref.store, ref.native_id)) or post
        else:
            resolved = done
            if hide and not post.hidden:
                reason = note or HIDDEN_AFTER_REVIEW
                await notify_hidden(ctx.caller, space, input.post_id, post.author_id, reason)
        now_post = dataclasses.replace(post, hidden=hide)
        if ref.type_name == "Answer":
            return ResolveFlagsPayload(answer=Answer.of(now_post), resolved=resolved)
        return ResolveFlagsPayload(question=Question.of(now_post), resolved=resolved)
