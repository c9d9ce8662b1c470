"""Invitations as the API shows them: to the space's managers and in write payloads."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from gateway.domain import ids
from gateway.domain.model import Invitation as DomainInvitation
from gateway.domain.model import InvitationStatus
from gateway.schema.context import context_of
from gateway.schema.types import Person, Space


@strawberry.enum(description="The role an invitation gives in a space.")
class MemberRole(enum.Enum):
    OWNER = "space_owner"
    MEMBER = "space_member"
    GUEST = "space_guest"


# Registered in place (see gateway.schema.types.Store); the alias is the type annotations use.
strawberry.enum(InvitationStatus, name="InvitationState", description="Where an invitation stands.")
InvitationState = InvitationStatus


@strawberry.type(description="An invitation of one email address to one space.")
class Invitation:
    id: strawberry.ID
    _invitation: strawberry.Private[DomainInvitation]

    @classmethod
    def of(cls, invitation: DomainInvitation) -> Invitation:
        return cls(
            id=strawberry.ID(ids.encode("Invitation", invitation.store, invitation.id)),
            _invitation=invitation,
        )

    @strawberry.field
    def email(self) -> str:
        return self._invitation.email

    @strawberry.field
    def role(self) -> MemberRole:
        return MemberRole(self._invitation.role.value)

    @strawberry.field
    def status(self, info: Info) -> InvitationState:
        return self._invitation.status(context_of(info).now)

    @strawberry.field
    def created_at(self) -> datetime:
        return self._invitation.created_at

    @strawberry.field
    def expires_at(self) -> datetime | None:
        return self._invitation.expires_at

    @strawberry.field(description="Who invited: the sponsor of this access.")
    async def sponsor(self, info: Info) -> Person | None:
        if self._invitation.sponsor_id is None:
            return None
        found = await context_of(info).loaders.person.load(
            (self._invitation.store, self._invitation.sponsor_id)
        )
        return Person.of(found) if found is not None else None

    @strawberry.field
    async def space(self, info: Info) -> Space | None:
        found = await context_of(info).loaders.space.load(
            (self._invitation.store, self._invitation.space_id)
        )
        return Space.of(found) if found is not None else None
