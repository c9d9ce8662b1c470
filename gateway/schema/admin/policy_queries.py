"""The admin API's policy queries: the version in force, its lines, the versions before it,
and what a change would do (nothing changes)."""

from __future__ import annotations

import strawberry

from gateway.policies.admin import lines as policy_lines
from gateway.schema.admin.context import MAX_AUDIT_PAGE, AdminInputError, admin_context
from gateway.schema.admin.types import (
    PolicyChangePreview,
    PolicyLine,
    PolicyLineFilter,
    PolicyVersion,
    line_of,
    preview_of,
    version_of,
)


@strawberry.type
class PolicyQuery:
    @strawberry.field(description="The version in force on this replica, and its lines.")
    async def policy(self, info: strawberry.Info) -> PolicyVersion:
        ctx = admin_context(info)
        number = ctx.services.policy.number
        version = await ctx.services.policy_store.version(number) if number else None
        if version is None:
            version = await ctx.services.policy_admin.latest()
        return version_of(version)

    @strawberry.field(description="The lines of the policy in force, filtered.")
    def policy_lines(
        self, info: strawberry.Info, filter: PolicyLineFilter | None = None
    ) -> list[PolicyLine]:
        lines = policy_lines.policy_lines(admin_context(info).services.policy.policy)
        if filter is not None:
            lines = policy_lines.matching(
                lines,
                subject=filter.subject,
                domain=filter.domain,
                object=filter.object,
                action=filter.action,
                effect=filter.effect,
                text=filter.text,
            )
        return [line_of(x) for x in lines]

    @strawberry.field(description="Every version, newest first.")
    async def policy_versions(
        self, info: strawberry.Info, first: int = 20, before: int | None = None
    ) -> list[PolicyVersion]:
        if not 1 <= first <= MAX_AUDIT_PAGE:
            raise AdminInputError(f"first must be between 1 and {MAX_AUDIT_PAGE}")
        versions = await admin_context(info).services.policy_store.versions(
            first=first, before=before
        )
        return [version_of(v) for v in versions]

    @strawberry.field(description="What adding and removing these lines would do; nothing changes.")
    async def simulate_policy_change(
        self, info: strawberry.Info, add: list[str] | None = None, remove: list[str] | None = None
    ) -> PolicyChangePreview:
        admin = admin_context(info).services.policy_admin
        return preview_of(await admin.propose_edit(add or [], remove or []))
