"""The query root: one scoped view over both stores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.domain import ids
from gateway.domain.errors import InvalidArgument
from gateway.domain.model import StoreName
from gateway.schema.context import context_of
from gateway.schema.experts import ExpertQueries
from gateway.schema.flags import FlagQueries
from gateway.schema.nodes import resolve_node
from gateway.schema.notifications import (
    NotificationQueries,
    notification_node,
    notification_number,
)
from gateway.schema.pagination import AFTER, BEFORE, FIRST, LAST, connection, slice_of
from gateway.schema.prefetch import prefetch_questions
from gateway.schema.types import (
    ARCHIVED,
    FEATURED,
    TAG,
    UNANSWERED,
    Question,
    Space,
    SpaceKind,
    Store,
)
from gateway.schema.viewer import Viewer
from gateway.stores import federation
from gateway.stores.cursors import NamePosition, TimePosition

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

MAX_SEARCH_TEXT = 200


ID_ARG = Annotated[strawberry.ID, strawberry.argument(description="Its global id.")]
STORE_ARG = Annotated[Store | None, strawberry.argument(description="Only this store's.")]
KIND_ARG = Annotated[SpaceKind | None, strawberry.argument(description="Only this kind.")]
SPACE_ARG = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="Only in this space (its node id); else both stores."),
]


@strawberry.type(
    description="Reads: one scoped view over both stores. Whatever you may not see is "
    "absent (null, or left out of lists), answered as if it did not exist."
)
class Query(NotificationQueries, FlagQueries, ExpertQueries):
    @strawberry.field(description="Who you are to the gateway.")
    def viewer(self, info: Info) -> Viewer:
        p = context_of(info).principal
        return Viewer(
            id=strawberry.ID(p.id),
            display_name=p.display_name,
            roles=sorted(p.roles),
            issuer=p.issuer,
            email=p.verified_email,
            organisation=p.organisation,
            is_guest=p.is_guest,
        )

    @strawberry.field(description="Any object by global id; null when absent or not yours to see.")
    async def node(self, info: Info, id: ID_ARG) -> relay.Node | None:
        number = notification_number(id)
        if number is not None:
            return await notification_node(info, number)
        return await resolve_node(info, id)

    @strawberry.field(description="Spaces you may read, by store and name.")
    async def spaces(
        self,
        info: Info,
        store: STORE_ARG = None,
        kind: KIND_ARG = None,
        first: FIRST = None,
        after: AFTER = None,
        last: LAST = None,
        before: BEFORE = None,
    ) -> relay.Connection[Space]:
        ctx = context_of(info)
        asked = slice_of(ctx.settings, first, after, last, before)
        merged = await federation.list_spaces(
            ctx.stores,
            ctx.read_scope,
            only=StoreName(store) if store else None,
            kind=kind,
            after=NamePosition.decode(asked.after) if asked.after else None,
            before=NamePosition.decode(asked.before) if asked.before else None,
            backward=asked.backward,
            limit=asked.limit,
        )
        ctx.report(merged.failures, info.path.as_list())
        nodes = [Space.of(s) for s in merged.page.items]
        more = merged.page.has_next
        return connection(
            nodes, asked.has_next(more), Space.cursor, has_previous=asked.has_previous(more)
        )

    @strawberry.field(description="One space by id; null when absent or not yours to see.")
    async def space(self, info: Info, id: ID_ARG) -> Space | None:
        ref = ids.decode(id, "Space")
        found = await context_of(info).loaders.space.load((ref.store, ref.native_id))
        return Space.of(found) if found else None

    @strawberry.field(description="Questions newest first, in one space or across both stores.")
    async def questions(
        self,
        info: Info,
        space_id: SPACE_ARG = None,
        unanswered: UNANSWERED = False,
        tag: TAG = None,
        first: FIRST = None,
        after: AFTER = None,
        featured: FEATURED = False,
        archived: ARCHIVED = False,
        last: LAST = None,
        before: BEFORE = None,
    ) -> relay.Connection[Question]:
        space_ids = None
        if space_id is not None:
            ref = ids.decode(space_id, "Space")
            space_ids = {ref.store: [ref.native_id]}
        return await questions_connection(
            info,
            space_ids,
            first,
            after,
            unanswered,
            tag,
            featured,
            archived,
            last=last,
            before=before,
        )

    @strawberry.field(description="One question by id; null when absent or not yours to see.")
    async def question(self, info: Info, id: ID_ARG) -> Question | None:
        ref = ids.decode(id, "Question")
        found = await context_of(info).loaders.question.load((ref.store, ref.native_id))
        return Question.of(found) if found else None

    @strawberry.field(
        description="Questions whose title or body contains the text, newest first, in both stores."
    )
    async def search(
        self,
        info: Info,
        text: Annotated[
            str,
            strawberry.argument(
                description=f"Matched literally, case-insensitively; 1 to {MAX_SEARCH_TEXT} "
                "characters."
            ),
        ],
        first: FIRST = None,
        after: AFTER = None,
        last: LAST = None,
        before: BEFORE = None,
    ) -> relay.Connection[Question]:
        ctx = context_of(info)
        text = text.strip()
        if not text or len(text) > MAX_SEARCH_TEXT:
            raise InvalidArgument(f"text must be 1 to {MAX_SEARCH_TEXT} characters")
        asked = slice_of(ctx.settings, first, after, last, before)
        merged = await federation.search_questions(
            ctx.stores,
            ctx.read_scope,
            text,
            asked.limit,
            TimePosition.decode(asked.after) if asked.after else None,
            before=TimePosition.decode(asked.before) if asked.before else None,
            backward=asked.backward,
        )
        ctx.report(merged.failures, info.path.as_list())
        nodes = [Question.of(q) for q in merged.page.items]
        await prefetch_questions(info, nodes)
        more = merged.page.has_next
        return connection(
            nodes, asked.has_next(more), Question.cursor, has_previous=asked.has_previous(more)
        )


async def questions_connection(
    info: Info,
    space_ids: Mapping[StoreName, Sequence[str]] | None,
    first: int | None,
    after: str | None,
    unanswered: bool,
    tag: str | None,
    featured: bool = False,
    archived: bool = False,
    *,
    last: int | None = None,
    before: str | None = None,
) -> relay.Connection[Question]:
    """Questions newest first, across stores or in the given spaces, as a connection."""
    ctx = context_of(info)
    asked = slice_of(ctx.settings, first, after, last, before)
    merged = await federation.list_questions(
        ctx.stores,
        ctx.read_scope,
        space_ids=space_ids,
        unanswered=unanswered,
        tag=tag,
        after=TimePosition.decode(asked.after) if asked.after else None,
        before=TimePosition.decode(asked.before) if asked.before else None,
        backward=asked.backward,
        limit=asked.limit,
        featured=featured,
        archived=archived,
    )
    ctx.report(merged.failures, info.path.as_list())
    nodes = [Question.of(q) for q in merged.page.items]
    await prefetch_questions(info, nodes)
    more = merged.page.has_next
    return connection(
        nodes, asked.has_next(more), Question.cursor, has_previous=asked.has_previous(more)
    )
