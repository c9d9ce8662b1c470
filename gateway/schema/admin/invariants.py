"""The admin API's invariants: those broken now, and changing them (previewed, refused
when the state already breaks a new one unless allowed, audited)."""

from __future__ import annotations

import strawberry

from gateway.policies.admin.changes import ChangeRefused
from gateway.policies.admin.guard import check_state
from gateway.policies.admin.invariant_edits import (
    InvariantProposal,
    apply_invariants,
    propose_invariants,
)
from gateway.policies.invariants import InvariantError
from gateway.schema.admin.context import AdminInputError, admin_context, user_error
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


@strawberry.type(description="The result of applyInvariants.")
class InvariantsPayload:
    applied: bool = strawberry.field(description="Whether the new invariants are in force.")
    preview: InvariantsPreview | None = strawberry.field(description="What was measured.")
    errors: list[UserError] = strawberry.field(description="Why not, when not applied.")


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
        admin = ctx.services.policy_admin
        proposal = await propose_invariants(admin, input.text, ctx.services.policy)
        try:
            await apply_invariants(
                admin,
                proposal,
                actor=ctx.principal.id,
                issuer=ctx.principal.issuer,
                allow_broken=input.allow_broken,
                reason=input.reason,
            )
        except ChangeRefused as exc:
            errors = [
                user_error(ErrorCode.INVARIANT if p in exc.broken else ErrorCode.INVALID, p, "text")
                for p in exc.problems
            ]
            return InvariantsPayload(applied=False, preview=_preview(proposal), errors=errors)
        return InvariantsPayload(applied=True, preview=_preview(proposal), errors=[])
