"""Mutations on spaces and who is in them: create a space, invite, revoke, remove a member.

Invitations carry no free text (nothing for a phisher to write), name their sponsor,
expire, and are rate-limited per inviter. Which roles an invitee may receive is
policy: ``join`` lines for ``employee`` (the organisation's email domains) and
``external`` (everyone else).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from gateway import writes
from gateway.domain import ids
from gateway.domain.errors import StoreDown
from gateway.domain.model import Invitation as DomainInvitation
from gateway.domain.model import Space as DomainSpace
from gateway.domain.model import SpaceKind as DomainSpaceKind
from gateway.domain.model import StoreName
from gateway.domain.permissions import EXTERNAL, Action, Persona, membership_resource
from gateway.domain.principal import Principal
from gateway.policies.compiler import Authorizer
from gateway.records import Replay
from gateway.schema.context import context_of
from gateway.schema.enums import SpaceKind, SpaceRole, Store, Visibility
from gateway.schema.invariant_checks import check_invitation, check_new_space, check_removal
from gateway.schema.invitations import Invitation
from gateway.schema.payloads import (
    ERRORS,
    INPUT,
    KEY_DESCRIPTION,
    UserError,
    arguments,
    errors_of,
)
from gateway.schema.types import Space
from gateway.stores.guard import STORE_FAILURES, guarded
from gateway.writes import Checks, ErrorCode, Write, WriteRefused, activity, refuse

log = logging.getLogger("gateway.writes")

if TYPE_CHECKING:
    from gateway.schema.context import Context

MAX_NAME = 120
MAX_DESCRIPTION = 2_000
INVITE_WINDOW = timedelta(hours=1)


@strawberry.input(description="A new space.")
class CreateSpaceInput:
    store: Store = strawberry.field(description="The store to create it in.")
    kind: SpaceKind = strawberry.field(description="What it is for.")
    name: str = strawberry.field(description="Its name (its address is made from it).")
    visibility: Visibility = strawberry.field(
        description="Who may find it: OPEN, RESTRICTED or SHARED (internal); PUBLIC, "
        "MEMBERS, TRUSTED or PRIVATE (community); the policy decides who may create which."
    )
    description: str = strawberry.field(default="", description="What it is about.")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The space created, or why not.")
class CreateSpacePayload:
    space: Space | None = strawberry.field(
        default=None, description="The new space, with you as its owner; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="Whom to invite, where, as what.")
class InviteToSpaceInput:
    space_id: strawberry.ID = strawberry.field(description="The space (its node id).")
    email: str = strawberry.field(description="The address to invite.")
    role: SpaceRole = strawberry.field(
        description="The role it gives; the policy decides which each kind of invitee may get."
    )
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="Required for externals; at most invitations.max_days ahead.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="The invitation written, or why not.")
class InvitationPayload:
    invitation: Invitation | None = strawberry.field(
        default=None, description="The invitation as it now stands; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="The invitation to withdraw.")
class RevokeInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="Its node id.")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input(description="Whom to remove from which space.")
class RemoveMemberInput:
    space_id: strawberry.ID = strawberry.field(description="The space (its node id).")
    person_id: strawberry.ID = strawberry.field(
        description="The member (a Person id, from either store: one person spans both)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type(description="Whether a membership ended, or why not.")
class RemoveMemberPayload:
    removed: bool = strawberry.field(
        default=False, description="True when they were a member and are no more."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


def slug_of(name: str) -> str:
    """A space's address from its name: lower-case words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80]


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1]


def _check_invitee(ctx: Context, checks: Checks, email: str) -> bool:
    """Apply the domain lists; True when the invitee is staff (an organisation domain)."""
    settings = ctx.settings
    domain = _domain(email)
    staff = domain in settings.organisation_domains
    if domain in settings.invite_denied_domains or (
        settings.invite_allowed_domains
        and not staff
        and domain not in settings.invite_allowed_domains
    ):
        checks.problems.append(
            writes.Problem(
                ErrorCode.INVALID, f"invitations to {domain} addresses are not allowed", "email"
            )
        )
    return staff


@strawberry.type
class SpaceMutations:
    @strawberry.mutation(
        description="Create a space; you become its owner. Employees create internal spaces, "
        "community managers community ones (policy action create_space)."
    )
    async def create_space(
        self, info: Info, input: Annotated[CreateSpaceInput, INPUT]
    ) -> CreateSpacePayload:
        ctx = context_of(info)
        try:
            author = writes.author_of(ctx.caller)
            checks = Checks()
            name = checks.text("name", input.name, maximum=MAX_NAME)
            description = checks.text(
                "description", input.description, maximum=MAX_DESCRIPTION, required=False
            )
            slug = slug_of(name)
            if name and not slug:
                checks.problems.append(
                    writes.Problem(ErrorCode.INVALID, "name needs a letter or digit", "name")
                )
            visibility = input.visibility
            key = checks.key(input.idempotency_key)
            checks.done()
            store_name = StoreName(input.store)
            # The space to be: the policy decides on its key (store/visibility/slug).
            prospective = DomainSpace(
                store_name, "", slug, DomainSpaceKind(input.kind), name, description, visibility
            )
            write = Write(
                "createSpace",
                Action.CREATE_SPACE,
                prospective,
                arguments(input),
                {"slug": slug, "kind": input.kind.value, "visibility": visibility.value},
                key,
            )
            await writes.authorize(
                ctx.caller,
                write,
                message="you may not create this kind of space here",
                field="store",
            )
            await check_new_space(ctx, write, prospective)
            store = ctx.stores[store_name]

            async def run() -> Any:
                owner_id = await store.ensure_author(author)
                return await store.create_space(
                    slug=slug,
                    name=name,
                    description=description,
                    kind=DomainSpaceKind(input.kind),
                    visibility=visibility,
                    owner_id=owner_id,
                    now=ctx.now,
                )

            done = await writes.perform(
                ctx.caller, write, run, lambda s: ids.encode("Space", s.store, s.id)
            )
        except (WriteRefused, StoreDown) as refused:
            return CreateSpacePayload(
                errors=await errors_of(ctx, "createSpace", Action.CREATE_SPACE, refused)
            )
        if isinstance(done, Replay):
            ref = ids.decode(done.result["id"])
            found = await ctx.loaders.space.load((ref.store, ref.native_id))
            return CreateSpacePayload(space=Space.of(found) if found else None)
        # Its owner membership is new: re-read the caller's grants, so that the payload says
        # what a fresh query would (viewerRole OWNER, the space in scope).
        try:
            await ctx.refresh()
        except STORE_FAILURES:
            log.warning("grants not re-read after createSpace; the payload shows the old ones")
        return CreateSpacePayload(space=Space.of(done))

    @strawberry.mutation(
        description="Invite an email address to a space with a role (space owners; policy "
        "action invite). Binds when that person logs in with the verified email."
    )
    async def invite_to_space(
        self, info: Info, input: Annotated[InviteToSpaceInput, INPUT]
    ) -> InvitationPayload:
        ctx = context_of(info)
        try:
            author = writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("spaceId", input.space_id, "Space")
            email = checks.email("email", input.email)
            staff = _check_invitee(ctx, checks, email) if not checks.problems else True
            expires_at = input.expires_at
            latest = ctx.now + timedelta(days=ctx.settings.invite_max_days)
            if expires_at is not None and expires_at.tzinfo is None:
                checks.problems.append(
                    writes.Problem(ErrorCode.INVALID, "expiresAt needs a time zone", "expiresAt")
                )
            elif expires_at is not None and not ctx.now < expires_at <= latest:
                checks.problems.append(
                    writes.Problem(
                        ErrorCode.INVALID,
                        f"expiresAt must be in the future and at most "
                        f"{ctx.settings.invite_max_days} days ahead",
                        "expiresAt",
                    )
                )
            elif expires_at is None and not staff:
                checks.problems.append(
                    writes.Problem(
                        ErrorCode.INVALID, "invitations of externals need an expiry", "expiresAt"
                    )
                )
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            role = SpaceRole(input.role.value)
            space = await writes.target_space(ctx.caller, ref.store, ref.native_id, "spaceId")
            write = Write(
                "inviteToSpace",
                Action.INVITE,
                space,
                arguments(input),
                {"invitee_domain": _domain(email), "role": role.value, "staff": staff},
                key,
            )
            await writes.authorize(
                ctx.caller,
                write,
                obj=membership_resource(role),
                message=f"you may not invite people to this space as {role.value}",
                field="role",
            )
            # Who the invitee will log in as is not known yet: staff or external, by domain.
            invitee = Principal(
                issuer=None,
                subject=email,
                email=None,
                email_verified=False,
                display_name=email,
                roles=frozenset({Persona.EMPLOYEE.value if staff else EXTERNAL}),
            )
            may_join = Authorizer(ctx.authorizer.index, invitee, ctx.now).allows(
                membership_resource(role).value, space.key, Action.JOIN.value
            )
            if not may_join:
                who = "a member of staff" if staff else "an external"
                raise refuse(
                    ErrorCode.INVALID,
                    f"{who} may not be given the role {role.value} in this space",
                    "role",
                    write=write,
                )
            await check_invitation(ctx, write, email, staff, space, role, expires_at)
            sent = await ctx.records.count(
                actor=ctx.principal.id,
                actions=[Action.INVITE.value],
                since=ctx.now - INVITE_WINDOW,
            )
            if sent >= ctx.settings.invite_rate_per_hour:
                raise refuse(
                    ErrorCode.RATE_LIMITED,
                    f"you sent {sent} invitations in the last hour, the most allowed; "
                    "try again later",
                    write=write,
                )
            store = ctx.stores[space.store]

            async def run() -> Any:
                sponsor_id = await store.ensure_author(author)
                return await store.invite(
                    space.id, email, role, sponsor_id, expires_at=expires_at, now=ctx.now
                )

            done = await writes.perform(
                ctx.caller, write, run, lambda i: ids.encode("Invitation", i.store, i.id)
            )
        except (WriteRefused, StoreDown) as refused:
            return InvitationPayload(
                errors=await errors_of(ctx, "inviteToSpace", Action.INVITE, refused)
            )
        if isinstance(done, Replay):
            now_invitation = await _invitation(ctx, done.result["id"])
        else:
            now_invitation = done
            await activity.invited(ctx.caller, done, space)
        return InvitationPayload(
            invitation=Invitation.of(now_invitation) if now_invitation else None
        )

    @strawberry.mutation(
        description="Revoke an invitation (policy action manage_members); if it was accepted, "
        "the membership it made ends with the person's next request."
    )
    async def revoke_invitation(
        self, info: Info, input: Annotated[RevokeInvitationInput, INPUT]
    ) -> InvitationPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("invitationId", input.invitation_id, "Invitation")
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None
            found = await _invitation(ctx, input.invitation_id)
            if found is None:
                raise refuse(ErrorCode.NOT_FOUND, "not found", "invitationId")
            space = await writes.target_space(ctx.caller, ref.store, found.space_id, "invitationId")
            write = Write(
                "revokeInvitation",
                Action.MANAGE_MEMBERS,
                space,
                arguments(input),
                {"invitation": input.invitation_id},
                key,
            )
            await writes.authorize(
                ctx.caller,
                write,
                message="you may not manage this space's members",
                field="invitationId",
            )
            store = ctx.stores[space.store]
            done = await writes.perform(
                ctx.caller,
                write,
                lambda: store.revoke_invitation(found.id, ctx.now),
                lambda i: ids.encode("Invitation", i.store, i.id),
            )
        except (WriteRefused, StoreDown) as refused:
            return InvitationPayload(
                errors=await errors_of(ctx, "revokeInvitation", Action.MANAGE_MEMBERS, refused)
            )
        if isinstance(done, Replay):
            now_invitation = await _invitation(ctx, done.result["id"])
        else:
            now_invitation = done
        return InvitationPayload(
            invitation=Invitation.of(now_invitation) if now_invitation else None
        )

    @strawberry.mutation(
        description="End someone's membership of a space (policy action manage_members); it "
        "takes effect on their next request."
    )
    async def remove_member(
        self, info: Info, input: Annotated[RemoveMemberInput, INPUT]
    ) -> RemoveMemberPayload:
        ctx = context_of(info)
        try:
            writes.author_of(ctx.caller)
            checks = Checks()
            ref = checks.id("spaceId", input.space_id, "Space")
            person_ref = checks.id("personId", input.person_id, "Person")
            key = checks.key(input.idempotency_key)
            checks.done()
            assert ref is not None and person_ref is not None
            space = await writes.target_space(ctx.caller, ref.store, ref.native_id, "spaceId")
            write = Write(
                "removeMember",
                Action.MANAGE_MEMBERS,
                space,
                arguments(input),
                {"person": input.person_id},
                key,
            )
            await writes.authorize(
                ctx.caller,
                write,
                message="you may not manage this space's members",
                field="spaceId",
            )
            person_id, email = await _native_person(ctx, person_ref, space.store)
            if person_id is None:
                raise refuse(ErrorCode.NOT_FOUND, "not found", "personId")
            await check_removal(ctx, write, email, space)
            store = ctx.stores[space.store]
            done = await writes.perform(
                ctx.caller,
                write,
                lambda: store.remove_member(space.id, person_id),
                lambda _removed: input.person_id,
            )
        except (WriteRefused, StoreDown) as refused:
            return RemoveMemberPayload(
                errors=await errors_of(ctx, "removeMember", Action.MANAGE_MEMBERS, refused)
            )
        return RemoveMemberPayload(removed=True if isinstance(done, Replay) else bool(done))


async def _invitation(ctx: Context, global_id: str) -> DomainInvitation | None:
    ref = ids.decode(global_id, "Invitation")
    store = ctx.stores[ref.store]
    found = await guarded(ref.store, store.invitations_by_ids([ref.native_id]))
    return found.get(ref.native_id)


async def _native_person(
    ctx: Context, ref: ids.NodeRef, store: StoreName
) -> tuple[str | None, str | None]:
    """The person's profile id in ``store`` (one person spans both stores by email), and
    their email (what the invariants are checked for)."""
    people = await guarded(ref.store, ctx.stores[ref.store].people_by_ids([ref.native_id]))
    person = people.get(ref.native_id)
    if ref.store == store:
        return ref.native_id, person.email if person is not None else None
    if person is None or not person.email:
        return None, None
    there = await guarded(store, ctx.stores[store].people_by_emails([person.email]))
    linked = there.get(person.email.lower())
    return (linked.id if linked is not None else None), person.email
