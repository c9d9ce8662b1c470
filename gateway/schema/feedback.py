"""Feedback on a prototype, and a page of it: the schema's view of domain feedback."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.domain import ids
from gateway.domain import model as domain
from gateway.domain.ids import node_id
from gateway.domain.model import StoreName
from gateway.domain.permissions import Action, Resource
from gateway.schema.context import context_of
from gateway.schema.pagination import COUNTED
from gateway.schema.people import AUTHOR, Person, person_view
from gateway.schema.recognition import gave_kudos, kudos_count
from gateway.stores.cursors import TimePosition

__all__ = ["Feedback", "FeedbackConnection"]


@strawberry.type(description="Feedback on a prototype; the internal note is employee-only.")
class Feedback(relay.Node):
    nid: relay.NodeID[str]
    _feedback: strawberry.Private[domain.Feedback]

    @classmethod
    def of(cls, feedback: domain.Feedback) -> Feedback:
        return cls(nid=node_id(feedback.store, feedback.id), _feedback=feedback)

    def cursor(self) -> str:
        f = self._feedback
        return TimePosition(f.created_at, f.store, f.id).encode()

    @strawberry.field(description="The rating given, 1 (worst) to 5 (best).")
    def rating(self) -> int:
        return self._feedback.rating

    @strawberry.field(description="What they wrote.")
    def body(self) -> str:
        return self._feedback.body

    @strawberry.field(description="When it was given.")
    def created_at(self) -> datetime:
        return self._feedback.created_at

    @strawberry.field(description=AUTHOR)
    async def author(self, info: Info) -> Person | None:
        return await person_view(info, self._feedback.store, self._feedback.author_id)

    @strawberry.field(description="How many people gave it kudos.")
    async def kudos(self, info: Info) -> int:
        f = self._feedback
        return await kudos_count(info, ids.encode("Feedback", f.store, f.id))

    @strawberry.field(description="Whether you gave it kudos.")
    async def viewer_gave_kudos(self, info: Info) -> bool:
        f = self._feedback
        return await gave_kudos(info, ids.encode("Feedback", f.store, f.id))

    @strawberry.field(description="Only for callers the policy allows in this space.")
    async def internal_note(self, info: Info) -> str | None:
        ctx = context_of(info)
        space = await ctx.loaders.space.load((self._feedback.store, self._feedback.space_id))
        if space is None:
            return None
        allowed = ctx.authorizer.allows(
            Resource.FEEDBACK_INTERNAL_NOTE.value, space.key, Action.READ.value
        )
        return self._feedback.internal_note if allowed else None


@strawberry.type(description="A page of a prototype's feedback, newest first.")
class FeedbackConnection(relay.Connection[Feedback]):
    parent: strawberry.Private[tuple[StoreName, str]]

    @strawberry.field(description=COUNTED)
    async def total_count(self, info: Info) -> int:
        return await context_of(info).loaders.feedback_count.load(self.parent)
