"""The admin API's invariants: those broken now, and changing them (previewed, refused
when the state already breaks a new one unless allowed, audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gateway.policies.admin.changes import ChangeRefused
from gateway.policies.admin.guard import check_state
from gateway.policies.admin.invariant_edits import (
    InvariantProposal,
    apply_invariants,
    propose_invariant_rollback,
    propose_invariants,
)
from gateway.policies.invariants import InvariantError, InvariantVersion
from gateway.schema.admin.context import AdminContext, AdminInputError, admin_context, user_error
from gateway.schema.admin.types import BrokenInvariant, broken_of
from gateway.schema.payloads import UserError
from gateway.writes import ErrorCode


@strawberry.type(description="What putting new invariants in force would mean.")
class InvariantsPreview:
    acceptable: bool = strawberry.field(
        description="False: refused (a bad line, or one broken now without allowBroken)."
    )
    problems: list[str] = strawberry.field(description="One per line that does not load.")
    added: list[str] = strawberry.field(description="Invariants it adds.")
    removed: list[str] = strawberry.field(description="Invariants it removes.")
    broken_now: list[BrokenInvariant] = strawberry.field(
        description="Of its invariants, those the policy in force and the stores break now."
    )


@strawberry.input(description="The invariants' new text, as the file would hold it.")
class InvariantsInput:
    text: str = strawberry.field(description="never|always, SUBJECT, DOMAIN, OBJECT, ACTION lines.")
    allow_broken: bool = strawberry.field(
        default=False, description="Accept invariants broken now (then reported until fixed)."
    )
    reason: str | None = strawberry.field(default=None, description="Why: kept in the audit log.")


@strawberry.input(description="Which earlier version of the invariants to put back in force.")
class RollbackInvariantsInput:
    to_version: int = strawberry.field(description="The version number (invariantVersions).")
    allow_broken: bool = strawberry.field(
        default=False, description="Accept invariants broken now (then reported until fixed)."
    )
    reason: str | None = strawberry.field(default=None, description="Why: kept in the audit log.")


@strawberry.type(description="One version of the invariants: every change makes a new one.")
class InvariantsVersion:
    number: int = strawberry.field(description="Its number, from 1.")
    sha256: str = strawberry.field(description="The sha256 of its text.")
    at: datetime = strawberry.field(description="When it was put in force.")
    actor: str = strawberry.field(description="Who put it in force (user:EMAIL, cli:USER, ...).")
    kind: str = strawberry.field(description="initial, apply, rollback or edit (on disk).")
    reason: str | None = strawberry.field(description="Why, as given.")
    text: str = strawberry.field(description="Its text, as written.")


def _version(v: InvariantVersion) -> InvariantsVersion:
    return InvariantsVersion(
        number=v.number,
        sha256=v.sha256,
        at=v.at,
        actor=v.actor,
        kind=v.kind.value,
        reason=v.reason,
        text=v.text,
    )


@strawberry.type(description="The result of applyInvariants and rollbackInvariants.")
class InvariantsPayload:
    applied: bool = strawberry.field(description="Whether the new invariants are in force.")
    preview: InvariantsPreview | None = strawberry.field(description="What was measured.")
    errors: list[UserError] = strawberry.field(description="Why not, when not applied.")
    version: int | None = strawberry.field(
        default=None, description="The version they are in force as, when applied."
    )


def _preview(p: InvariantProposal) -> InvariantsPreview:
    return InvariantsPreview(
        acceptable=p.acceptable,
        problems=list(p.problems),
        added=list(p.added),
        removed=list(p.removed),
        broken_now=[broken_of(b) for b in p.broken],
    )


@strawberry.type
class InvariantQuery:
    @strawberry.field(
        description="Every declared invariant the policy in force and the stores break now "
        "(empty: none); the same as `gateway policy check`."
    )
    async def check_invariants(self, info: strawberry.Info) -> list[BrokenInvariant]:
        services = admin_context(info).services
        try:
            declared = services.invariants.read()
        except InvariantError as exc:
            raise AdminInputError(f"the invariants do not load: {exc}") from None
        broken, _found = await check_state(
            services.policy, declared, services.stores, services.records
        )
        services.invariants.report(broken)
        return [broken_of(b) for b in broken]

    @strawberry.field(
        description="Every version of the invariants, newest first; the latest is in force."
    )
    async def invariant_versions(
        self,
        info: strawberry.Info,
        first: Annotated[int, strawberry.argument(description="How many, 1 to 100.")] = 20,
    ) -> list[InvariantsVersion]:
        services = admin_context(info).services
        if not 1 <= first <= 100:
            raise AdminInputError("first must be between 1 and 100")
        return [_version(v) for v in await services.invariants.versions(first=first)]

    @strawberry.field(description="What putting these invariants in force would mean.")
    async def simulate_invariants(self, info: strawberry.Info, text: str) -> InvariantsPreview:
        services = admin_context(info).services
        admin = services.policy_admin
        return _preview(await propose_invariants(admin, text, services.policy))


@strawberry.type
class InvariantMutation:
    @strawberry.mutation(description="Put new invariants in force: checked, then audited.")
    async def apply_invariants(
        self, info: strawberry.Info, input: InvariantsInput
    ) -> InvariantsPayload:
        ctx = admin_context(info)
        proposal = await propose_invariants(
            ctx.services.policy_admin, input.text, ctx.services.policy
        )
        return await _apply(ctx, proposal, input.allow_broken, input.reason, "text")

    @strawberry.mutation(
        description="Put an earlier version of the invariants back in force, as a new version: "
        "checked and audited like applyInvariants."
    )
    async def rollback_invariants(
        self, info: strawberry.Info, input: RollbackInvariantsInput
    ) -> InvariantsPayload:
        ctx = admin_context(info)
        try:
            proposal = await propose_invariant_rollback(
                ctx.services.policy_admin, input.to_version, ctx.services.policy
            )
        except ChangeRefused as exc:
            error = user_error(ErrorCode.NOT_FOUND, str(exc), "toVersion")
            return InvariantsPayload(applied=False, preview=None, errors=[error])
        return await _apply(ctx, proposal, input.allow_broken, input.reason, "toVersion")


async def _apply(
    ctx: AdminContext,
    proposal: InvariantProposal,
    allow_broken: bool,
    reason: str | None,
    field: str,
) -> InvariantsPayload:
    try:
        version = await apply_invariants(
            ctx.services.policy_admin,
            proposal,
            actor=ctx.principal.id,
            issuer=ctx.principal.issuer,
            allow_broken=allow_broken,
            reason=reason,
        )
    except ChangeRefused as exc:
        errors = [
            user_error(ErrorCode.INVARIANT if p in exc.broken else ErrorCode.INVALID, p, field)
            for p in exc.problems
        ]
        return InvariantsPayload(applied=False, preview=_preview(proposal), errors=errors)
    number = version.number if version is not None else None
    return InvariantsPayload(applied=True, version=number, preview=_preview(proposal), errors=[])
