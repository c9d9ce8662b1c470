"""The admin API's access queries: one decision and the line behind it, and everyone who
may do an action on a space. Both ask the compiled policy in force, as the ``/admin``
page and ``gateway access-report`` do."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from gateway.domain.permissions import USER_PREFIX, Action
from gateway.domain.principal import Principal
from gateway.policies import explain as explaining
from gateway.policies.admin import lines as policy_lines
from gateway.policies.admin import population
from gateway.policies.admin.judged import Judge
from gateway.policies.admin.whocan import SPACE_ACTIONS, who_can
from gateway.schema.admin.context import AdminInputError, admin_context
from gateway.schema.admin.types import PolicyLine, line_of

if TYPE_CHECKING:
    from gateway.domain.model import Space
    from gateway.runtime.services import Services


@strawberry.type(description="A membership a decision came through.")
class Via:
    role: str
    space: str
    expires_at: datetime | None


@strawberry.type(description="One decision and the policy line behind it.")
class AccessExplanation:
    allowed: bool
    principal: str
    roles: list[str]
    domain: str
    object: str
    action: str
    line: PolicyLine | None = strawberry.field(
        description="The deciding line (None: default deny)."
    )
    via: Via | None
    policy_version: str
    text: str
    judged: str | None = strawberry.field(
        default=None,
        description="For someone the gateway has never seen (never logged in) and no roles "
        "were passed for: how their roles were judged, as whoCanAccess judges them; null "
        "otherwise.",
    )


@strawberry.type(description="Someone who may do the action on the space, and why.")
class Access:
    principal: str
    roles: list[str]
    line: PolicyLine | None
    via: Via | None
    judged: str | None = strawberry.field(
        default=None,
        description="For someone a store holds who never logged in to the gateway: how "
        "their roles were judged (e.g. never logged in; judged as employee by their "
        "email's domain (corp.example)); null for principals the gateway has seen.",
    )


async def _space(services: Services, value: str) -> Space:
    try:
        return await population.find_space(services.stores, value)
    except population.NoSuchSpace as exc:
        raise AdminInputError(str(exc)) from None


async def _principal(
    services: Services, who: str, roles: list[str] | None
) -> tuple[Principal, str | None]:
    """A principal the gateway has seen (``user:EMAIL`` or EMAIL), with the roles of their
    last token, or a hypothetical one holding ``roles``, or someone never seen judged as
    who-can judges them (and how); with their memberships."""
    pid = who if who.startswith(USER_PREFIX) else f"{USER_PREFIX}{who}"
    email = pid.removeprefix(USER_PREFIX)
    if "@" not in email:
        raise AdminInputError(f"principal must be user:EMAIL or an email, not {who!r}")
    principal = await services.records.known_principal(pid)
    how = None
    if roles is not None:
        base = principal or Principal(None, email, email, True, email, frozenset())
        principal = dataclasses.replace(base, roles=frozenset(roles))
    if principal is None:
        judge = Judge.for_settings(services.settings)
        principal, how = await population.judged(services.stores, email, judge)
    return await population.with_memberships(services.stores, principal), how


def _via(m: Any) -> Via | None:
    if m is None:
        return None
    return Via(role=m.role.value, space=m.space_key, expires_at=m.expires_at)


@strawberry.type
class AccessQuery:
    @strawberry.field(description="One decision, and the line (and membership) behind it.")
    async def explain_access(
        self,
        info: strawberry.Info,
        principal: str,
        space: str,
        action: str = Action.READ.value,
        object: str = "space",
        roles: list[str] | None = None,
    ) -> AccessExplanation:
        ctx = admin_context(info)
        found, how = await _principal(ctx.services, principal, roles)
        target = await _space(ctx.services, space)
        key = target.key
        index = ctx.services.policy
        revoked = await population.revoked_in(
            ctx.services.stores, ctx.services.records, found, target
        )
        result = explaining.explain(
            index.policy, found, key, object, action, ctx.now, revoked=revoked
        )
        return AccessExplanation(
            allowed=result.allowed,
            principal=found.id,
            roles=sorted(found.roles),
            domain=key,
            object=object,
            action=action,
            line=line_of(policy_lines.rule_line(result.rule)) if result.rule else None,
            via=_via(result.via),
            policy_version=index.describe(),
            text=str(result),
            judged=how,
        )

    @strawberry.field(
        description="Everyone who may do the action on the space (everyone the gateway has "
        "seen, with their memberships; everyone else holding a membership or invitation in a "
        "store, with the roles judged for them; and one newcomer per persona), and the line "
        "and membership that say so."
    )
    async def who_can_access(
        self, info: strawberry.Info, space: str, action: str = Action.READ.value
    ) -> list[Access]:
        ctx = admin_context(info)
        if action not in {a.value for a in SPACE_ACTIONS}:
            known = ", ".join(a.value for a in SPACE_ACTIONS)
            raise AdminInputError(f"action must be one asked of a space: {known}")
        target = await _space(ctx.services, space)
        judge = Judge.for_settings(ctx.services.settings)
        found = await population.gather(ctx.services.stores, ctx.services.records, judge=judge)
        report = who_can(ctx.services.policy, found.subjects, [target], ctx.now, action=action)
        return [
            Access(
                principal=subject.name,
                roles=sorted(subject.principal.roles),
                line=line_of(policy_lines.rule_line(decision.rule)) if decision.rule else None,
                via=_via(decision.via),
                judged=subject.judged,
            )
            for subject, _space_, decision in report.allowed()
        ]
