"""People as the API shows them: a profile, with its email and department guarded."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.domain import model as domain
from gateway.domain.ids import node_id
from gateway.domain.model import StoreName
from gateway.domain.permissions import PEOPLE, Action, Resource
from gateway.schema.context import context_of
from gateway.schema.recognition import Badge, badges_of

AUTHOR = "Who wrote it; null when their profile is gone. `node` answers their id for you too."


@strawberry.type(
    description="A profile in one store (the same person may have one in each); email and "
    "department are shown only where policy allows."
)
class Person(relay.Node):
    nid: relay.NodeID[str]
    _person: strawberry.Private[domain.Person]

    @classmethod
    def of(cls, person: domain.Person) -> Person:
        return cls(
            nid=node_id(person.store, person.id),
            _person=person,
            display_name=person.display_name,
            handle=person.handle,
            organisation=person.organisation,
            title=person.title,
        )

    display_name: str = strawberry.field(description="The name shown for them.")

    handle: str = strawberry.field(description="What others @mention them by (without the @).")

    organisation: str | None = strawberry.field(
        description="The organisation they belong to, if their profile says."
    )

    title: str | None = strawberry.field(description="Their job title, if their profile says.")

    def _may_see(self, info: Info, field: Resource) -> bool:
        ctx = context_of(info)
        own = ctx.owns(self._person.email)
        dom = f"{PEOPLE}/{self._person.store.value}"
        return ctx.authorizer.allows(field.value, dom, Action.READ.value, own=own)

    @strawberry.field(description="Only for callers the policy allows (and always your own).")
    def email(self, info: Info) -> str | None:
        return self._person.email if self._may_see(info, Resource.PERSON_EMAIL) else None

    @strawberry.field(description="Only for callers the policy allows.")
    def department(self, info: Info) -> str | None:
        if not self._may_see(info, Resource.PERSON_DEPARTMENT):
            return None
        return self._person.department

    @strawberry.field(
        description="Their badges, oldest first by when they were earned: each counted only "
        "from activity you may read, dated by the readable activity that completed it."
    )
    async def badges(self, info: Info) -> list[Badge]:
        return await badges_of(info, self._person)


async def person_view(info: Info, store: StoreName, person_id: str | None) -> Person | None:
    """The profile behind an author or sponsor id, as the caller is shown it."""
    if person_id is None:
        return None
    found = await context_of(info).loaders.person.load((store, person_id))
    return Person.of(found) if found is not None else None
