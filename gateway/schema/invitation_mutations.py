"""Extending access: an invitation's expiry, or a member's, within the limits of inviting.

Who may: the invitation's sponsor or someone who manages the space's members, and only if
they may still hand out that role (the policy's ``invite`` line for it), the invitee may
still be given it (``join``), and the new expiry is in the future and at most
``invitations.max_days`` ahead: everything inviting that person again would check. An
invitation or a space the caller may not see is answered like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from gateway import writes
from gateway.domain import ids
from gateway.domain.errors import StoreDown
from gateway.domain.permissions import EXTERNAL, Action, Persona, Resource, membership_resource
from gateway.domain.principal import Principal
from gateway.policies.compiler import Authorizer
from gateway.records import Replay
from gateway.schema.context import context_of
from gateway.schema.invitations import Invitation
from gateway.schema.payloads import (
    ERRORS,
    INPUT,
    KEY_DESCRIPTION,
    UserError,
    arguments,
    errors_of,
    is_own,
)
from gateway.stores.guard import guarded
from gateway.writes import Checks, ErrorCode, Problem, Write, WriteRefused, refuse

if TYPE_CHECKING:
    from gateway.domain.model import Space, SpaceRole, StoreName
    from gateway.schema.context import Context


@strawberry.input(description="The invitation to extend, and its new expiry.")
class ExtendInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="Its node id.")
    expires_at: datetime = strawberry.field(
        description="The new expiry: in the future, at most invitations.max_days ahead."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The invitation extended, or why not.")
class ExtendInvitationPayload:
    invitation: Invitation | None = strawberry.field(
        default=None, description="The invitation as it now stands; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="Whose membership of which space to extend, and until when.")
class ExtendMembershipInput:
    space_id: strawberry.ID = strawberry.field(description="The space (its node id).")
    person_id: strawberry.ID = strawberry.field(
        description="The member (a Person id, from either store: one person spans both)."
    )
    expires_at: datetime = strawberry.field(
        description="The new expiry: in the future, at most invitations.max_days ahead."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="Whether a membership was extended, or why not.")
class ExtendMembershipPayload:
    extended: bool = strawberry.field(
        default=False, description="True when they were a member and their expiry moved."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="Their membership's expiry now; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


def _check_expiry(ctx: Context, checks: Checks, expires_at: datetime) -> None:
    latest = ctx.now + timedelta(days=ctx.settings.invite_max_days)
    if expires_at.tzinfo is None:
        checks.problems.append(
            Problem(ErrorCode.INVALID, "expiresAt needs a time zone", "expiresAt")
        )
    elif not ctx.now < expires_at <= latest:
        checks.problems.append(
            Problem(
                ErrorCode.INVALID,
                f"expiresAt must be in the future and at most "
                f"{ctx.settings.invite_max_days} days ahead",
                "expiresAt",
            )
        )


async def _within_inviting(
    ctx: Context, write: Write, *, role: SpaceRole, email: str, sponsor: bool, field: str
) -> None:
    """Refuse unless the caller could invite this person with this role now: the sponsor
    or a manager of the space's members, allowed to hand out the role, to someone who may
    be given it."""
    space = write.space
    manages = ctx.authorizer.allows(Resource.SPACE.value, space.key, Action.MANAGE_MEMBERS.value)
    if not (sponsor or manages):
        raise WriteRefused(
            Problem(
                ErrorCode.FORBIDDEN, "only its sponsor or the space's owners may extend it", field
            ),
            write=write,
        )
    await writes.authorize(
        ctx.caller,
        write,
        obj=membership_resource(role),
        message=f"you may not give the role {role.value} in this space",
        field=field,
    )
    staff = email.rsplit("@", 1)[-1] in ctx.settings.organisation_domains
    invitee = Principal(
        issuer=None,
        subject=email,
        email=None,
        email_verified=False,
        display_name=email,
        roles=frozenset({Persona.EMPLOYEE.value if staff else EXTERNAL}),
    )
    if not Authorizer(ctx.authorizer.index, invitee, ctx.now).allows(
        membership_resource(role).value, space.key, Action.JOIN.value
    ):
        who = "a member of staff" if staff else "an external"
        raise refuse(
            ErrorCode.INVALID,
            f"{who} may no longer be given the role {role.value} in this space",
            field,
            write=write,
        )


@strawberry.type
class InvitationMutations:
    @strawberry.mutation(
        description="Move an invitation's expiry (and, once accepted, that of the access it "
        "gave): its sponsor or the space's owners, within the limits of inviting."
    )
    async def extend_invitation(
        self, info: Info, input: Annotated[ExtendInvitationInput, INPUT]
    ) -> ExtendInvitationPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("invitationId", input.invitation_id, "Invitation")
            _check_expiry(ctx, checks, input.expires_at)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            store = ctx.stores[ref.store]
            found = (await guarded(ref.store, store.invitations_by_ids([ref.native_id]))).get(
                ref.native_id
            )
            if found is None:
                raise refuse(ErrorCode.NOT_FOUND, "not found", "invitationId")
            space = await writes.target_space(ctx.caller, ref.store, found.space_id, "invitationId")
            if not _may_see_invitations(ctx, space):
                raise refuse(ErrorCode.NOT_FOUND, "not found", "invitationId")
            write = Write(
                "extendInvitation",
                Action.INVITE,
                space,
                arguments(input),
                {"invitation": input.invitation_id, "expires_at": input.expires_at.isoformat()},
                key,
            )
            sponsor = await is_own(ctx, ref.store, found.sponsor_id)
            await _within_inviting(
                ctx,
                write,
                role=found.role,
                email=found.email,
                sponsor=sponsor,
                field="invitationId",
            )
            done = await writes.perform(
                ctx.caller,
                write,
                lambda: store.extend_invitation(found.id, input.expires_at),
                lambda i: ids.encode("Invitation", i.store, i.id),
            )
        except (WriteRefused, StoreDown) as refused:
            return ExtendInvitationPayload(
                errors=await errors_of(ctx, "extendInvitation", Action.INVITE, refused)
            )
        if isinstance(done, Replay):
            ref = ids.decode(done.result["id"], "Invitation")
            again = await guarded(
                ref.store, ctx.stores[ref.store].invitations_by_ids([ref.native_id])
            )
            now = again.get(ref.native_id)
            return ExtendInvitationPayload(invitation=Invitation.of(now) if now else None)
        return ExtendInvitationPayload(invitation=Invitation.of(done))

    @strawberry.mutation(
        description="Move a member's expiry in a space: the sponsor of their invitation or the "
        "space's owners, within the limits of inviting (re-inviting a member is a CONFLICT)."
    )
    async def extend_membership(
        self, info: Info, input: Annotated[ExtendMembershipInput, INPUT]
    ) -> ExtendMembershipPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("spaceId", input.space_id, "Space")
            person_ref = checks.id("personId", input.person_id, "Person")
            _check_expiry(ctx, checks, input.expires_at)
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None and person_ref is not None
            space = await writes.target_space(ctx.caller, ref.store, ref.native_id, "spaceId")
            write = Write(
                "extendMembership",
                Action.INVITE,
                space,
                arguments(input),
                {"person": input.person_id, "expires_at": input.expires_at.isoformat()},
                key,
            )
            if not _may_see_invitations(ctx, space):
                # Before any lookup: who is a member is not a reader's business.
                raise WriteRefused(
                    Problem(
                        ErrorCode.FORBIDDEN, "you may not manage this space's members", "spaceId"
                    ),
                    write=write,
                )
            member = await _member(ctx, person_ref, space)
            if member is None:
                raise refuse(
                    ErrorCode.NOT_FOUND, "not a member of this space", "personId", write=write
                )
            person_id, email, role = member
            sponsored = await _sponsored(ctx, space, email)
            await _within_inviting(
                ctx, write, role=role, email=email, sponsor=sponsored, field="personId"
            )
            store = ctx.stores[space.store]
            done: Any = await writes.perform(
                ctx.caller,
                write,
                lambda: store.extend_membership(space.id, person_id, input.expires_at),
                lambda _extended: input.person_id,
            )
        except (WriteRefused, StoreDown) as refused:
            return ExtendMembershipPayload(
                errors=await errors_of(ctx, "extendMembership", Action.INVITE, refused)
            )
        extended = True if isinstance(done, Replay) else bool(done)
        return ExtendMembershipPayload(
            extended=extended, expires_at=input.expires_at if extended else None
        )


def _may_see_invitations(ctx: Context, space: Space) -> bool:
    """Invitations are shown to those who may manage the space's members, or who may
    invite to it (a sponsor); anyone else is answered as if there were none."""
    return any(
        ctx.authorizer.allows(obj, space.key, act)
        for obj, act in (
            (Resource.SPACE.value, Action.MANAGE_MEMBERS.value),
            (Resource.MEMBERSHIP_GUEST.value, Action.INVITE.value),
            (Resource.MEMBERSHIP_MEMBER.value, Action.INVITE.value),
            (Resource.MEMBERSHIP_OWNER.value, Action.INVITE.value),
        )
    )


async def _member(
    ctx: Context, person_ref: ids.NodeRef, space: Space
) -> tuple[str, str, SpaceRole] | None:
    """The member's profile id in the space's store, email and role there; None when they
    hold no membership in it (or their profile has no verified email)."""
    store_name: StoreName = space.store
    people = await guarded(
        person_ref.store, ctx.stores[person_ref.store].people_by_ids([person_ref.native_id])
    )
    person = people.get(person_ref.native_id)
    if person is None or not person.email:
        return None
    there = await guarded(store_name, ctx.stores[store_name].people_by_emails([person.email]))
    linked = there.get(person.email.lower())
    if linked is None:
        return None
    held = await guarded(store_name, ctx.stores[store_name].memberships_for(person.email))
    roles = [m.role for m in held if m.space_id == space.id and not m.pending]
    if not roles:
        return None
    return linked.id, person.email.lower(), roles[0]


async def _sponsored(ctx: Context, space: Space, email: str) -> bool:
    """Whether the caller sponsored the invitation that made this person a member."""
    found = await guarded(space.store, ctx.stores[space.store].invitations_for_spaces([space.id]))
    for invitation in found.get(space.id, []):
        if invitation.email == email and invitation.accepted_at is not None:
            return await is_own(ctx, space.store, invitation.sponsor_id)
    return False
