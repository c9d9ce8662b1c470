"""Invitations as the API shows them: to the space's managers and in write payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.domain.ids import node_id
from gateway.domain.model import Invitation as DomainInvitation
from gateway.schema.context import context_of
from gateway.schema.enums import InvitationState, SpaceRole
from gateway.schema.people import Person, person_view
from gateway.schema.types import Space


@strawberry.type(
    description="An invitation of one email address to one space: seen only by those who "
    "may manage the space's members."
)
class Invitation(relay.Node):
    nid: relay.NodeID[str]
    _invitation: strawberry.Private[DomainInvitation]

    @classmethod
    def of(cls, invitation: DomainInvitation) -> Invitation:
        return cls(nid=node_id(invitation.store, invitation.id), _invitation=invitation)

    @strawberry.field(description="The address invited; whoever logs in with it accepts.")
    def email(self) -> str:
        return self._invitation.email

    @strawberry.field(description="The role it gives in the space.")
    def role(self) -> SpaceRole:
        return self._invitation.role

    @strawberry.field(description="Where it stands now.")
    def status(self, info: Info) -> InvitationState:
        return self._invitation.status(context_of(info).now)

    @strawberry.field(description="When it was sent.")
    def created_at(self) -> datetime:
        return self._invitation.created_at

    @strawberry.field(description="When it (and the access it gives) ends; null: it does not.")
    def expires_at(self) -> datetime | None:
        return self._invitation.expires_at

    @strawberry.field(description="Who invited: the sponsor of this access.")
    async def sponsor(self, info: Info) -> Person | None:
        return await person_view(info, self._invitation.store, self._invitation.sponsor_id)

    @strawberry.field(description="The space it invites to.")
    async def space(self, info: Info) -> Space | None:
        found = await context_of(info).loaders.space.load(
            (self._invitation.store, self._invitation.space_id)
        )
        return Space.of(found) if found is not None else None
