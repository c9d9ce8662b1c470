"""The admin API's sessions and offboarding: the live browser sessions, and revoking (and
restoring) one person's access, the action :mod:`gateway.identity.offboarding` carries out
for the CLI and the ``/admin`` page too."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.identity.offboarding import OffboardingRefused, principal_key
from gateway.schema.admin.context import AdminInputError, admin_context, user_error
from gateway.schema.payloads import UserError
from gateway.writes import ErrorCode


@strawberry.type(description="A live browser session (login state and tokens are never shown).")
class BrowserSession:
    principal: str
    provider: str | None
    created_at: datetime
    last_seen: datetime
    expires_at: datetime


@strawberry.input
class PrincipalAccessInput:
    principal: str = strawberry.field(description="user:EMAIL, or the email.")
    reason: str | None = None


@strawberry.type(description="What revokePrincipalAccess ended.")
class PrincipalAccessRevoked:
    principal: str
    not_before: datetime = strawberry.field(
        description="Bearer tokens of the principal issued (iat) before this are refused."
    )
    sessions_ended: int
    invitations_revoked: list[str] = strawberry.field(description="Their global ids.")
    memberships_ended: list[str] = strawberry.field(description="Internal spaces, by key.")
    failures: list[str] = strawberry.field(
        description="What could not be done (a store down): run the revoke again."
    )


@strawberry.type
class RevokePrincipalAccessPayload:
    revoked: PrincipalAccessRevoked | None
    errors: list[UserError]


@strawberry.type
class RestorePrincipalAccessPayload:
    principal: str | None
    lifted_not_before: datetime | None
    errors: list[UserError]


def _refusal(exc: OffboardingRefused) -> list[UserError]:
    code = ErrorCode.NOT_FOUND if exc.unknown else ErrorCode.INVALID
    return [user_error(code, str(exc), "principal")]


@strawberry.type
class OffboardingQuery:
    @strawberry.field(
        description="The live browser sessions, newest first (optionally one "
        "principal's: user:EMAIL or the email)."
    )
    async def sessions(
        self, info: strawberry.Info, principal: str | None = None
    ) -> list[BrowserSession]:
        ctx = admin_context(info)
        try:
            key = principal_key(principal) if principal is not None else None
        except OffboardingRefused as exc:
            raise AdminInputError(str(exc)) from None
        found = await ctx.services.offboarding.sessions.live(ctx.now, key)
        return [
            BrowserSession(
                principal=s.principal or "",
                provider=s.provider,
                created_at=s.created_at,
                last_seen=s.last_seen,
                expires_at=s.expires_at,
            )
            for s in found
        ]


@strawberry.type
class OffboardingMutation:
    @strawberry.mutation(
        description="Offboarding: end every session of the principal, refuse their bearer "
        "tokens issued before now, revoke their pending invitations and end their internal "
        "memberships. Audited, refusals included; an unknown principal changes nothing."
    )
    async def revoke_principal_access(
        self, info: strawberry.Info, input: PrincipalAccessInput
    ) -> RevokePrincipalAccessPayload:
        ctx = admin_context(info)
        try:
            done = await ctx.services.offboarding.revoke(
                input.principal,
                actor=ctx.principal.id,
                issuer=ctx.principal.issuer,
                reason=input.reason,
                now=ctx.now,
            )
        except OffboardingRefused as exc:
            return RevokePrincipalAccessPayload(revoked=None, errors=_refusal(exc))
        revoked = PrincipalAccessRevoked(
            principal=done.principal,
            not_before=done.not_before,
            sessions_ended=done.sessions,
            invitations_revoked=list(done.invitations),
            memberships_ended=list(done.memberships),
            failures=list(done.failures),
        )
        errors = [user_error(ErrorCode.UNAVAILABLE, f) for f in done.failures]
        return RevokePrincipalAccessPayload(revoked=revoked, errors=errors)

    @strawberry.mutation(
        description="Lift a revoke: the principal's older bearer tokens are accepted again "
        "(ended sessions, invitations and memberships stay ended). Audited."
    )
    async def restore_principal_access(
        self, info: strawberry.Info, input: PrincipalAccessInput
    ) -> RestorePrincipalAccessPayload:
        ctx = admin_context(info)
        try:
            lifted = await ctx.services.offboarding.restore(
                input.principal,
                actor=ctx.principal.id,
                issuer=ctx.principal.issuer,
                reason=input.reason,
                now=ctx.now,
            )
        except OffboardingRefused as exc:
            return RestorePrincipalAccessPayload(
                principal=None, lifted_not_before=None, errors=_refusal(exc)
            )
        return RestorePrincipalAccessPayload(
            principal=principal_key(input.principal), lifted_not_before=lifted, errors=[]
        )
