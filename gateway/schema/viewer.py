"""``viewer``: who is asking, as the gateway authenticated them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from gateway.domain import model as domain
from gateway.schema.context import context_of
from gateway.schema.enums import SpaceRole
from gateway.schema.types import Space


@strawberry.type(description="A role you hold in a space, from the store's memberships.")
class ViewerMembership:
    role: SpaceRole = strawberry.field(description="The role you hold there.")
    expires_at: datetime | None = strawberry.field(
        description="When it ends (an invited external's does); null: it does not."
    )
    _membership: strawberry.Private[domain.Membership]

    @strawberry.field(description="Null when the policy does not let you read it.")
    async def space(self, info: Info) -> Space | None:
        m = self._membership
        found = await context_of(info).loaders.space.load((m.store, m.space_id))
        return Space.of(found) if found is not None else None


@strawberry.type(description="Who is asking: the principal the request was authenticated as.")
class Viewer:
    id: strawberry.ID = strawberry.field(
        description="Your principal id, as the policy and the audit log name you (e.g. "
        "`user:ada@corp.example`; `anonymous` for a guest). Not a node: Viewer is who "
        "asks, not an object to fetch again."
    )
    display_name: str = strawberry.field(description="The name your credentials give.")
    roles: list[str] = strawberry.field(
        description="Your roles, the policy's subjects (e.g. employee, partner), sorted."
    )
    issuer: str | None = strawberry.field(
        description="Who issued your credentials; null for a guest."
    )
    email: str | None = strawberry.field(
        description="Your verified email address; null when none was verified."
    )
    organisation: str | None = strawberry.field(description="Your organisation, if known.")
    is_guest: bool = strawberry.field(description="True when the request had no credentials.")

    @strawberry.field(description="Your unexpired memberships, in both stores.")
    def memberships(self, info: Info) -> list[ViewerMembership]:
        return [
            ViewerMembership(role=m.role, expires_at=m.expires_at, _membership=m)
            for m in context_of(info).authorizer.memberships
        ]
