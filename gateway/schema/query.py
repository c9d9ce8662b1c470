"""The query root: one scoped view over both stores."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.domain import ids
from gateway.domain.errors import InvalidArgument
from gateway.domain.model import StoreName
from gateway.schema.context import context_of
from gateway.schema.nodes import resolve_node
from gateway.schema.notifications import NotificationQueries
from gateway.schema.pagination import connection, page_size
from gateway.schema.types import (
    Question,
    Space,
    SpaceKind,
    Store,
    Viewer,
    questions_connection,
)
from gateway.stores import federation
from gateway.stores.cursors import NamePosition

MAX_SEARCH_TEXT = 200


@strawberry.type
class Query(NotificationQueries):
    @strawberry.field(description="Who you are to the gateway.")
    def viewer(self, info: Info) -> Viewer:
        p = context_of(info).principal
        return Viewer(
            id=p.id,
            display_name=p.display_name,
            roles=sorted(p.roles),
            issuer=p.issuer,
            email=p.verified_email,
            organisation=p.organisation,
            is_guest=p.is_guest,
        )

    @strawberry.field(description="Any object by global id; null when absent or not yours to see.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="Spaces you may read, by store and name.")
    async def spaces(
        self,
        info: Info,
        store: Store | None = None,
        kind: SpaceKind | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[Space]:
        ctx = context_of(info)
        limit = page_size(first, ctx.settings)
        merged = await federation.list_spaces(
            ctx.stores,
            ctx.read_scope,
            only=StoreName(store) if store else None,
            kind=kind,
            after=NamePosition.decode(after) if after else None,
            limit=limit,
        )
        ctx.report(merged.failures, info.path.as_list())
        nodes = [Space.of(s) for s in merged.page.items]
        return connection(
            nodes,
            merged.page.has_next,
            Space.cursor,
            has_previous=bool(after),
        )

    @strawberry.field(description="One space by id; null when absent or not yours to see.")
    async def space(self, info: Info, id: strawberry.ID) -> Space | None:
        ref = ids.decode(id, "Space")
        found = await context_of(info).loaders.space.load((ref.store, ref.native_id))
        return Space.of(found) if found else None

    @strawberry.field(description="Questions newest first, in one space or across both stores.")
    async def questions(
        self,
        info: Info,
        space_id: strawberry.ID | None = None,
        unanswered: bool = False,
        tag: str | None = None,
        first: int | None = None,
        after: str | None = None,
        featured: bool = False,
    ) -> relay.Connection[Question]:
        space_ids = None
        if space_id is not None:
            ref = ids.decode(space_id, "Space")
            space_ids = {ref.store: [ref.native_id]}
        return await questions_connection(info, space_ids, first, after, unanswered, tag, featured)

    @strawberry.field(description="One question by id; null when absent or not yours to see.")
    async def question(self, info: Info, id: strawberry.ID) -> Question | None:
        ref = ids.decode(id, "Question")
        found = await context_of(info).loaders.question.load((ref.store, ref.native_id))
        return Question.of(found) if found else None

    @strawberry.field(description="Questions whose title or body contains the text, both stores.")
    async def search(self, info: Info, text: str, first: int | None = None) -> list[Question]:
        ctx = context_of(info)
        text = text.strip()
        if not text or len(text) > MAX_SEARCH_TEXT:
            raise InvalidArgument(f"text must be 1 to {MAX_SEARCH_TEXT} characters")
        limit = page_size(first, ctx.settings)
        merged = await federation.search_questions(ctx.stores, ctx.read_scope, text, limit)
        ctx.report(merged.failures, info.path.as_list())
        return [Question.of(q) for q in merged.page.items]
