"""The admin API's policy changes: adding and removing lines, and rolling back to an
earlier version, each applied against the version it was reviewed on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from gateway.policies.admin.changes import ChangeRefused
from gateway.policies.store import StaleVersion, VersionKind
from gateway.schema.admin.context import admin_context, user_error
from gateway.schema.admin.types import (
    PolicyChangeInput,
    PolicyChangePayload,
    RollbackPolicyInput,
    preview_of,
    version_of,
)
from gateway.writes import ErrorCode

if TYPE_CHECKING:
    from gateway.policies.admin.changes import Proposal
    from gateway.schema.admin.context import AdminContext


@strawberry.type
class PolicyChangeMutation:
    @strawberry.mutation(description="Add and remove policy lines, against expectedVersion.")
    async def apply_policy_change(
        self, info: strawberry.Info, input: PolicyChangeInput
    ) -> PolicyChangePayload:
        ctx = admin_context(info)
        admin = ctx.services.policy_admin
        proposal = await admin.propose_edit(input.add, input.remove)
        return await _apply(ctx, proposal, input.expected_version, input.reason, VersionKind.APPLY)

    @strawberry.mutation(description="Put an earlier version back in force, as a new version.")
    async def rollback_policy(
        self, info: strawberry.Info, input: RollbackPolicyInput
    ) -> PolicyChangePayload:
        ctx = admin_context(info)
        try:
            proposal = await ctx.services.policy_admin.propose_rollback(input.to_version)
        except ChangeRefused as exc:
            error = user_error(ErrorCode.NOT_FOUND, str(exc), "toVersion")
            return PolicyChangePayload(version=None, preview=None, errors=[error])
        return await _apply(
            ctx, proposal, input.expected_version, input.reason, VersionKind.ROLLBACK
        )


async def _apply(
    ctx: AdminContext, proposal: Proposal, expected: int, reason: str | None, kind: VersionKind
) -> PolicyChangePayload:
    preview = preview_of(proposal)
    try:
        version = await ctx.services.policy_admin.apply(
            proposal,
            expected=expected,
            actor=ctx.principal.id,
            issuer=ctx.principal.issuer,
            reason=reason,
            kind=kind,
        )
    except ChangeRefused as exc:
        errors = [
            user_error(ErrorCode.INVARIANT if p in exc.broken else ErrorCode.INVALID, p)
            for p in exc.problems
        ]
        return PolicyChangePayload(version=None, preview=preview, errors=errors)
    except StaleVersion as exc:
        error = user_error(ErrorCode.CONFLICT, str(exc), "expectedVersion")
        return PolicyChangePayload(version=None, preview=preview, errors=[error])
    return PolicyChangePayload(version=version_of(version), preview=preview, errors=[])
