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
from gateway.domain.errors import InvalidArgument, InvalidCursor, InvalidId
from gateway.records import Notification as Record
from gateway.schema.context import context_of
from gateway.schema.nodes import resolve_node
from gateway.schema.pagination import connection, page_size
from gateway.schema.payloads import UserError
from gateway.schema.types import Space
from gateway.writes import ErrorCode

if TYPE_CHECKING:
    from gateway.schema.context import Context

# How often a subscriber looks for notifications written by other replicas.
POLL_SECONDS = 1.0
MAX_MARK = 100


def _notification_id(record_id: int) -> str:
    return str(GlobalID("Notification", str(record_id)))


def _record_id(value: str, field: str = "ids") -> int:
    try:
        gid = GlobalID.from_id(value)
        if gid.type_name != "Notification":
            raise ValueError(gid.type_name)
        return int(gid.node_id)
    except (GlobalIDValueError, ValueError, UnicodeDecodeError):
        raise InvalidId(value, "Notification") from None


@strawberry.type(description="Something that happened that concerns you: a mention, so far.")
class Notification:
    id: strawberry.ID
    kind: str
    created_at: datetime
    read: bool
    actor_name: str = strawberry.field(description="Who did it, as they were named then.")
    _record: strawberry.Private[Record]

    @classmethod
    def of(cls, record: Record) -> Notification:
        return cls(
            id=strawberry.ID(_notification_id(record.id)),
            kind=record.kind,
            created_at=record.created_at,
            read=record.read_at is not None,
            actor_name=record.actor_name,
            _record=record,
        )

    def cursor(self) -> str:
        return str(self._record.id)

    @strawberry.field(description="What it is about; null when you may no longer see it.")
    async def subject(self, info: Info) -> relay.Node | None:
        return await resolve_node(info, self._record.subject)

    @strawberry.field(description="Where it happened; null when you may no longer see it.")
    async def space(self, info: Info) -> Space | None:
        ref = ids.decode(self._record.space, "Space")
        found = await context_of(info).loaders.space.load((ref.store, ref.native_id))
        return Space.of(found) if found is not None else None


@strawberry.type
class NotificationQueries:
    @strawberry.field(description="Your notifications, newest first (none for guests).")
    async def notifications(
        self,
        info: Info,
        unread_only: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[Notification]:  # type: ignore[type-var]  # not a Node: see pagination.N
        ctx = context_of(info)
        limit = page_size(first, ctx.settings)
        before = None
        if after is not None:
            # ASCII digits only ('¹' is a digit to str.isdigit), and no more than a row id
            # can have (a larger number overflows the database's integer).
            if not (after.isascii() and after.isdigit() and len(after) <= 18):
                raise InvalidCursor(after)
            before = int(after)
        if ctx.principal.verified_email is None:
            return connection([], False, Notification.cursor, has_previous=False)
        found = await ctx.records.notifications_for(
            ctx.principal.id, unread_only=unread_only, before_id=before, limit=limit + 1
        )
        page = found[:limit]
        # Only what they can read now: access may have ended, or their token says less
        # than the mention assumed. Subjects load in one batch per store (DataLoader).
        subjects = await asyncio.gather(*(resolve_node(info, n.subject) for n in page))
        nodes = [Notification.of(n) for n, s in zip(page, subjects, strict=True) if s]
        # The cursor is the last notification looked at, shown or not, so pages move on.
        end = str(page[-1].id) if page else None
        return connection(
            nodes,
            len(found) > limit,
            Notification.cursor,
            has_previous=after is not None,
            end_cursor=end,
        )


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="These notifications; leave out to mark all of yours read."
    )


@strawberry.type
class MarkNotificationsReadPayload:
    marked: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Mark your notifications read (others' are not yours).")
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
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


@strawberry.type
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
                description="Resume after this notification's cursor (a reconnecting client "
                "passes the last one it saw); without it, only what arrives from now on."
            ),
        ] = None,
    ) -> AsyncGenerator[Notification, None]:
        ctx = context_of(info)
        if ctx.principal.verified_email is None:
            raise InvalidArgument("log in with a verified email address to subscribe")
        recipient = ctx.principal.id
        if after is not None:
            # ASCII digits only ('¹' is a digit to str.isdigit), and no more than a row id
            # can have (a larger number overflows the database's integer).
            if not (after.isascii() and after.isdigit() and len(after) <= 18):
                raise InvalidCursor(after)
            last = int(after)
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
                if await resolve_node(info, record.subject) is None:
                    continue  # not theirs to see (any more): not delivered
                yield Notification.of(record)


async def _refresh(ctx: Context) -> None:
    """Re-read the subscriber's grants (memberships end, policies change) in place: the
    subscription's resolvers hold this context for the whole connection."""
    await ctx.refresh()
