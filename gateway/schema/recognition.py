"""Recognition as the API shows it: kudos counts on posts and the badges on a profile.

Who sees a badge: a caller sees a badge on someone's profile when its rule is met by the
activity **that caller may read** (answers accepted, reviews, kudos received, counted on
posts their read scope shows them, hidden posts only where they moderate), and its date is
that of the readable event that completed it. A partner is never shown a badge that an
employee earned in a space the partner cannot read, nor an earlier date for it: counting
only readable posts is the rule that cannot leak, since whatever it shows the caller could
have counted themselves.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import strawberry
from strawberry.dataloader import DataLoader

from gateway.domain import ids
from gateway.domain.badges import BADGES, BY_KEY, Activity, Earned, Event, earned
from gateway.domain.errors import InvalidId, StoreDown
from gateway.schema.context import context_of

if TYPE_CHECKING:
    from strawberry.types import Info

    from gateway.domain.model import Person
    from gateway.schema.context import Context
    from gateway.schema.loaders import Loaders


@strawberry.type(description="A kind of badge, and what earns it.")
class BadgeDefinition:
    key: str = strawberry.field(description="Its stable key, e.g. `first-accepted-answer`.")
    name: str = strawberry.field(description="Its name.")
    description: str = strawberry.field(description="What earns it.")


@strawberry.type(
    description="A badge someone earned, as you are shown it: counted only from activity "
    "you may read."
)
class Badge:
    key: str = strawberry.field(description="Its stable key, e.g. `first-accepted-answer`.")
    name: str = strawberry.field(description="Its name.")
    description: str = strawberry.field(description="What earns it.")
    earned_at: datetime = strawberry.field(
        description="When the activity that completed it happened (of the activity you may read)."
    )

    @classmethod
    def of(cls, found: Earned) -> Badge:
        b = found.badge
        return cls(key=b.key, name=b.name, description=b.description, earned_at=found.at)


def badge_definitions() -> list[BadgeDefinition]:
    """The table of badges (gateway.domain.badges.BADGES)."""
    return [BadgeDefinition(key=b.key, name=b.name, description=b.description) for b in BADGES]


def definition(key: str) -> BadgeDefinition | None:
    badge = BY_KEY.get(key)
    if badge is None:
        return None
    return BadgeDefinition(key=badge.key, name=badge.name, description=badge.description)


class _RecognitionLoaders:
    """The records lookups of one request, batched like the stores' (one statement for
    every post or profile of a page)."""

    def __init__(self, ctx: Context) -> None:
        records = ctx.records
        me = ctx.principal.id

        async def counts(subjects: list[str]) -> list[int]:
            found = await records.kudos_counts(subjects)
            return [found.get(s, 0) for s in subjects]

        async def given(subjects: list[str]) -> list[bool]:
            found = await records.kudos_given(me, subjects)
            return [s in found for s in subjects]

        async def activity(people: list[str]) -> list[list[tuple[Event, str]]]:
            found = await records.activity_of(people)
            return [found.get(p, []) for p in people]

        self.kudos: DataLoader[str, int] = DataLoader(counts)
        self.given: DataLoader[str, bool] = DataLoader(given)
        self.activity: DataLoader[str, list[tuple[Event, str]]] = DataLoader(activity)


# Per request: the request's Loaders object is dropped with it, and these with it.
_PER_REQUEST: WeakKeyDictionary[Loaders, _RecognitionLoaders] = WeakKeyDictionary()


def _loaders(ctx: Context) -> _RecognitionLoaders:
    found = _PER_REQUEST.get(ctx.loaders)
    if found is None:
        found = _PER_REQUEST[ctx.loaders] = _RecognitionLoaders(ctx)
    return found


async def kudos_count(info: Info, subject: str) -> int:
    """Kudos on a post the caller already holds (so reads in scope)."""
    return await _loaders(context_of(info)).kudos.load(subject)


async def gave_kudos(info: Info, subject: str) -> bool:
    """Whether the caller gave kudos to this post (false for guests)."""
    ctx = context_of(info)
    if ctx.principal.verified_email is None:
        return False
    return await _loaders(ctx).given.load(subject)


async def badges_of(info: Info, person: Person) -> list[Badge]:
    """The person's badges as the caller is shown them (see the module's docstring)."""
    if not person.email:
        return []
    ctx = context_of(info)
    events = await _loaders(ctx).activity.load(person.email.lower())
    readable = await asyncio.gather(*(_readable(ctx, event, space) for event, space in events))
    shown = [event for (event, _space), ok in zip(events, readable, strict=True) if ok]
    return [Badge.of(found) for found in sorted(earned(shown), key=lambda e: e.at)]


async def _readable(ctx: Context, event: Event, space_gid: str) -> bool:
    """Whether the caller may read the post an event is about (found through their read
    scope, hidden ones only where they moderate; an accepted answer only while it is still
    the accepted one)."""
    try:
        space_ref = ids.decode(space_gid, "Space")
        ref = ids.decode(event.subject)
    except InvalidId:
        return False
    loader: Any = {"Answer": ctx.loaders.answer, "Feedback": ctx.loaders.feedback}.get(
        ref.type_name
    )
    if loader is None or ref.store is not space_ref.store:
        return False
    try:
        post = await loader.load((ref.store, ref.native_id))
    except StoreDown:
        return False  # that store's content is not shown either
    if post is None or post.space_id != space_ref.native_id:
        return False
    return event.kind is not Activity.ACCEPTED_ANSWER or bool(getattr(post, "accepted", False))
