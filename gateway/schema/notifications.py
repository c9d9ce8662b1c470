"""Notifications: the query, marking them read, and the ``notificationAdded`` subscription.

A notification names its subject by id; the subject is resolved through the
recipient's read scope when they look, and a notification whose subject they
cannot read (any more) is left out. The subscription delivers only notifications whose subject the
recipient can read at that moment, re-checking their grants before each delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator  # strawberry reads the annotation at runtime
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.relay import GlobalID, GlobalIDValueError
from strawberry.types import Info

from gateway.domain import ids
from gateway.domain.errors import InvalidArgument, InvalidId
from gateway.domain.permissions import USER_PREFIX
from gateway.records import Notification as Record
from gateway.schema.context import context_of
from gateway.schema.nodes import resolve_node
from gateway.schema.pagination import AFTER, BEFORE, FIRST, LAST, connection, page_size
from gateway.schema.payloads import ERRORS, INPUT, UserError
from gateway.schema.recognition import BadgeDefinition, definition
from gateway.schema.types import Space
from gateway.stores.cursors import SequencePosition
from gateway.writes import ErrorCode
from gateway.writes.hidden import KIND_POST_HIDDEN
from gateway.writes.notices import KIND_BADGE

if TYPE_CHECKING:
    from gateway.schema.context import Context

# How often a subscriber looks for notifications written by other replicas.
POLL_SECONDS = 1.0
MAX_MARK = 100


def _record_id(value: str, field: str = "ids") -> int:
    try:
        gid = GlobalID.from_id(value)
        if gid.type_name != "Notification":
            raise ValueError(gid.type_name)
        return int(gid.node_id)
    except (GlobalIDValueError, ValueError, UnicodeDecodeError):
        raise InvalidId(value, "Notification") from None


@strawberry.type(
    description="Something that happened that concerns you: a mention, an answer, a badge, "
    "an invitation. Only its recipient sees it (node answers null for anyone else)."
)
class Notification(relay.Node):
    nid: relay.NodeID[str]
    kind: str = strawberry.field(
        description="What happened: `mention`; `answer` (your question got one); `accepted` "
        "(your answer was); `badge` (you earned one: see `badge`); `invited` (to a space); "
        "`expiring` (an invitation of yours, or one you sponsor, ends soon); `post_hidden` "
        "(moderators hid your post; `reason` says why, never who flagged it)."
    )
    created_at: datetime = strawberry.field(description="When it happened.")
    read: bool = strawberry.field(description="Whether you marked it read.")
    actor_name: str = strawberry.field(description="Who did it, as they were named then.")
    reason: str | None = strawberry.field(
        default=None, description="Why, for a kind that says (post_hidden); else null."
    )
    _record: strawberry.Private[Record]

    @classmethod
    def of(cls, record: Record) -> Notification:
        return cls(
            nid=str(record.id),
            kind=record.kind,
            created_at=record.created_at,
            read=record.read_at is not None,
            actor_name=record.actor_name,
            reason=record.reason,
            _record=record,
        )

    @strawberry.field(
        description="Where it stands in your notifications: resume after it with "
        "notificationAdded(after:) or notifications(after:) (its edge's cursor too)."
    )
    def cursor(self) -> str:
        return self.position()

    def position(self) -> str:
        return SequencePosition(self._record.id).encode()

    @strawberry.field(description="What it is about; null when you may no longer see it.")
    async def subject(self, info: Info) -> relay.Node | None:
        return await resolve_node(info, self._record.subject)

    @strawberry.field(
        description="For post_hidden: the id of your post that was hidden (which only "
        "moderators can read now); else null."
    )
    def hidden_post_id(self) -> strawberry.ID | None:
        if self._record.kind != KIND_POST_HIDDEN:
            return None
        return strawberry.ID(self._record.subject)

    @strawberry.field(description="The badge earned, for a `badge` notification; else null.")
    async def badge(self, info: Info) -> BadgeDefinition | None:
        if self._record.kind != KIND_BADGE:
            return None
        ctx = context_of(info)
        person = self._record.recipient.removeprefix(USER_PREFIX)
        found = await ctx.records.awards_for(person, [self._record.subject])
        keys = found.get(self._record.subject, [])
        return definition(keys[0]) if keys else None

    @strawberry.field(description="Where it happened; null when you may no longer see it.")
    async def space(self, info: Info) -> Space | None:
        ref = ids.decode(self._record.space, "Space")
        found = await context_of(info).loaders.space.load((ref.store, ref.native_id))
        return Space.of(found) if found is not None else None


async def shown(info: Info, record: Record) -> bool:
    """Whether the recipient may see this notification now: while they can read its
    subject, or, for a hidden post (which only moderators read), its space."""
    if record.kind == KIND_POST_HIDDEN:
        ref = ids.decode(record.space, "Space")
        return await context_of(info).loaders.space.load((ref.store, ref.native_id)) is not None
    return await resolve_node(info, record.subject) is not None


async def notification_node(info: Info, number: int) -> Notification | None:
    """``node(id)`` for a notification: the caller's own only, while they can read its
    subject (as their list shows it)."""
    ctx = context_of(info)
    if ctx.principal.verified_email is None:
        return None
    found = await ctx.records.notifications_for(ctx.principal.id, before_id=number + 1, limit=1)
    if not found or found[0].id != number:
        return None  # not theirs, or none: answered alike
    if not await shown(info, found[0]):
        return None
    return Notification.of(found[0])


def notification_number(value: str) -> int | None:
    """The row number of a Notification global id; None when it names another type."""
    try:
        gid = GlobalID.from_id(value)
    except (GlobalIDValueError, ValueError, UnicodeDecodeError):
        return None
    if gid.type_name != "Notification":
        return None
    return _record_id(value)


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        description="Your notifications, newest first (none for guests): forward with "
        "first/after, backward with last/before."
    )
    async def notifications(
        self,
        info: Info,
        unread_only: Annotated[
            bool, strawberry.argument(description="Only those you have not marked read.")
        ] = False,
        first: FIRST = None,
        after: AFTER = None,
        last: LAST = None,
        before: BEFORE = None,
    ) -> relay.Connection[Notification]:
        ctx = context_of(info)
        backward = last is not None or before is not None
        if backward and (first is not None or after is not None):
            raise InvalidArgument("page with first/after or with last/before, not both")
        limit = (
            page_size(last, ctx.settings, "last") if backward else page_size(first, ctx.settings)
        )
        cursor = before if backward else after
        at = SequencePosition.decode(cursor).number if cursor is not None else None
        if ctx.principal.verified_email is None:
            return connection([], False, Notification.position, has_previous=False)
        if backward:
            # Newer than the cursor, nearest first: the page just before it in the list.
            found = await ctx.records.notifications_for(
                ctx.principal.id, unread_only=unread_only, after_id=at or 0, limit=limit + 1
            )
            page = found[:limit][::-1]
        else:
            found = await ctx.records.notifications_for(
                ctx.principal.id, unread_only=unread_only, before_id=at, limit=limit + 1
            )
            page = found[:limit]
        # Only what they can read now: access may have ended, or their token says less
        # than the mention assumed. Subjects load in one batch per store (DataLoader).
        subjects = await asyncio.gather(*(shown(info, n) for n in page))
        nodes = [Notification.of(n) for n, s in zip(page, subjects, strict=True) if s]
        # The cursors are the first and last notifications looked at, shown or not, so
        # pages move on either way.
        more = len(found) > limit
        return connection(
            nodes,
            has_next=cursor is not None if backward else more,
            cursor_of=Notification.position,
            has_previous=more if backward else cursor is not None,
            start_cursor=SequencePosition(page[0].id).encode() if page else None,
            end_cursor=SequencePosition(page[-1].id).encode() if page else None,
        )


@strawberry.input(description="Which of your notifications to mark read.")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="These notifications; leave out to mark all of yours read."
    )


@strawberry.type(description="How many were marked, or why not.")
class MarkNotificationsReadPayload:
    marked: int = strawberry.field(
        default=0, description="How many of yours were unread and are now read."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Mark your notifications read (others' are not yours).")
    async def mark_notifications_read(
        self, info: Info, input: Annotated[MarkNotificationsReadInput, INPUT]
    ) -> MarkNotificationsReadPayload:
        ctx = context_of(info)
        if ctx.principal.verified_email is None:
            error = UserError(
                code=ErrorCode.UNAUTHENTICATED,
                message="log in with a verified email address first",
                field=None,
            )
            return MarkNotificationsReadPayload(errors=[error])
        wanted = None
        if input.ids is not None:
            if len(input.ids) > MAX_MARK:
                raise InvalidArgument(f"at most {MAX_MARK} ids at once")
            try:
                wanted = [_record_id(i) for i in input.ids]
            except InvalidId as exc:
                error = UserError(code=ErrorCode.INVALID, message=str(exc), field="ids")
                return MarkNotificationsReadPayload(errors=[error])
        # Scoped to the caller: someone else's notification id simply marks nothing.
        marked = await ctx.records.mark_read(ctx.principal.id, wanted, ctx.now)
        return MarkNotificationsReadPayload(marked=marked)


@strawberry.type(description="Events pushed over a websocket (graphql-transport-ws on /graphql).")
class Subscription:
    @strawberry.subscription(
        description="Your new notifications as they arrive (graphql-transport-ws on /graphql; "
        'authenticate in connection_init: {"Authorization": "Bearer TOKEN"}).'
    )
    async def notification_added(
        self,
        info: Info,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Resume after this cursor (a reconnecting client passes the "
                "`cursor` of the last notification it saw); without it, only what arrives "
                "from now on."
            ),
        ] = None,
    ) -> AsyncGenerator[Notification, None]:
        ctx = context_of(info)
        if ctx.principal.verified_email is None:
            raise InvalidArgument("log in with a verified email address to subscribe")
        recipient = ctx.principal.id
        if after is not None:
            last = SequencePosition.decode(after).number
        else:
            last = await ctx.records.latest_notification_id(recipient)
        while True:
            found = await ctx.records.notifications_for(recipient, after_id=last, limit=100)
            if not found:
                await ctx.hub.wait(recipient, POLL_SECONDS)
                continue
            last = found[-1].id
            await _refresh(ctx)
            for record in found:
                if not await shown(info, record):
                    continue  # not theirs to see (any more): not delivered
                yield Notification.of(record)


async def _refresh(ctx: Context) -> None:
    """Re-read the subscriber's grants (memberships end, policies change) in place: the
    subscription's resolvers hold this context for the whole connection."""
    await ctx.refresh()
