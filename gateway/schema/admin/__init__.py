"""The admin GraphQL API (``/admin/graphql``): the policy, its changes, the audit log.

It is a schema of its own on an endpoint of its own, answered only for principals the
policy lets ``administer`` the policy (``security_admin`` by default): anyone else gets
a 401 or 403 before any GraphQL runs, so not even its field names leak, and the public
schema on ``/graphql`` has none of them. Everything here goes through
:class:`gateway.policies.admin.changes.PolicyAdmin`, as the CLI and the ``/admin`` page do.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.scalars import JSON

from gateway.domain.errors import ClientError
from gateway.domain.permissions import USER_PREFIX, Action
from gateway.domain.principal import Principal
from gateway.identity.offboarding import Offboarding, OffboardingRefused, principal_key
from gateway.policies import explain as explaining
from gateway.policies.admin import lines as policy_lines
from gateway.policies.admin import population
from gateway.policies.admin.changes import ChangeRefused, Proposal
from gateway.policies.admin.whocan import SPACE_ACTIONS, who_can
from gateway.policies.store import StaleVersion, VersionKind
from gateway.records import Outcome
from gateway.schema.payloads import UserError
from gateway.writes import ErrorCode

if TYPE_CHECKING:
    from gateway.domain.model import Space
    from gateway.policies.store import Version
    from gateway.services import Services

MAX_CHANGES = 500  # impact details listed per preview (the summary always counts all)
MAX_AUDIT_PAGE = 200


@dataclasses.dataclass
class AdminContext:
    services: Services
    principal: Principal

    @property
    def now(self) -> datetime:
        return datetime.now(UTC)


def _ctx(info: strawberry.Info) -> AdminContext:
    return info.context


class AdminInputError(ClientError):
    """A bad argument: shown to the admin as it is (never masked)."""


# --- types ---------------------------------------------------------------------
@strawberry.type(description="One line of the policy, as the file or table holds it.")
class PolicyLine:
    line: int = strawberry.field(description="Its line number in the policy's text.")
    kind: str = strawberry.field(description="p (a rule) or g (a role link).")
    subject: str
    domain: str
    object: str | None
    action: str | None
    effect: str | None
    text: str


def _line(line: policy_lines.Line) -> PolicyLine:
    return PolicyLine(**dataclasses.asdict(line))


@strawberry.type(description="One version of the policy: every change makes a new one.")
class PolicyVersion:
    number: int
    sha256: str
    at: datetime
    actor: str
    kind: str = strawberry.field(description="initial, apply, rollback or edit.")
    reason: str | None
    source: str
    text: str


def _version(v: Version) -> PolicyVersion:
    return PolicyVersion(
        number=v.number,
        sha256=v.sha256,
        at=v.at,
        actor=v.actor,
        kind=v.kind.value,
        reason=v.reason,
        source=v.source,
        text=v.text,
    )


@strawberry.input(description="Lines whose fields contain these texts (all given must match).")
class PolicyLineFilter:
    subject: str | None = None
    domain: str | None = None
    object: str | None = None
    action: str | None = None
    effect: str | None = None
    text: str | None = strawberry.field(default=None, description="Anywhere in the line.")


@strawberry.type(description="A validator finding: an error refuses the change, a warning not.")
class Finding:
    line: int
    severity: str
    reason: str


@strawberry.type(description="A group of decisions the change turns (the impact summary).")
class ImpactGroup:
    text: str
    roles: str
    action: str
    object: str
    store: str | None
    change: str
    principals: int
    targets: int


@strawberry.type(description="One decision the change turns, for one principal.")
class ImpactChange:
    principal: str
    roles: str
    store: str | None
    target: str
    action: str
    object: str
    change: str


@strawberry.type(description="What a change would do, before it is applied.")
class PolicyChangePreview:
    base_version: int = strawberry.field(description="The version it was measured against.")
    acceptable: bool = strawberry.field(description="False: applying it would be refused.")
    refusals: list[str]
    findings: list[Finding]
    added: list[str]
    removed: list[str]
    principals: int = strawberry.field(description="Principals the impact was computed over.")
    spaces: int
    summary: list[ImpactGroup]
    changes: list[ImpactChange] = strawberry.field(
        description=f"Each turned decision (the first {MAX_CHANGES})."
    )
    changes_total: int


def _preview(p: Proposal) -> PolicyChangePreview:
    impact = p.impact
    groups = impact.summary() if impact else []
    turns = impact.turns if impact else ()
    return PolicyChangePreview(
        base_version=p.base.number,
        acceptable=p.acceptable,
        refusals=list(p.refusals),
        findings=[
            Finding(line=f.line, severity=f.severity.value, reason=f.reason) for f in p.findings
        ],
        added=list(p.added),
        removed=list(p.removed),
        principals=impact.subjects if impact else 0,
        spaces=impact.spaces if impact else 0,
        summary=[
            ImpactGroup(
                text=str(g),
                roles=g.label,
                action=g.action,
                object=g.obj,
                store=g.store.value if g.store else None,
                change=g.change.value,
                principals=len(g.who),
                targets=len(g.targets),
            )
            for g in groups
        ],
        changes=[
            ImpactChange(
                principal=t.who,
                roles=t.label,
                store=t.store.value if t.store else None,
                target=t.target,
                action=t.action,
                object=t.obj,
                change=t.change.value,
            )
            for t in turns[:MAX_CHANGES]
        ],
        changes_total=len(turns),
    )


@strawberry.type(description="The result of applyPolicyChange or rollbackPolicy.")
class PolicyChangePayload:
    version: PolicyVersion | None = strawberry.field(description="The new version, if applied.")
    preview: PolicyChangePreview | None
    errors: list[UserError]


@strawberry.input
class PolicyChangeInput:
    add: list[str] = strawberry.field(default_factory=list, description="Lines to add.")
    remove: list[str] = strawberry.field(default_factory=list, description="Lines to remove.")
    expected_version: int = strawberry.field(
        description="The version the change was reviewed against: if another landed since, "
        "the change is refused (CONFLICT), never applied over it."
    )
    reason: str | None = None


@strawberry.input
class RollbackPolicyInput:
    to_version: int
    expected_version: int
    reason: str | None = None


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


@strawberry.type(description="Someone who may do the action on the space, and why.")
class Access:
    principal: str
    roles: list[str]
    line: PolicyLine | None
    via: Via | None


@strawberry.input
class AuditFilter:
    actor: str | None = None
    action: str | None = strawberry.field(default=None, description="e.g. policy_apply, answer.")
    outcome: str | None = strawberry.field(default=None, description="ok, failed, denied, pending.")
    since: datetime | None = None


@strawberry.type
class AuditLogEntry:
    id: int
    at: datetime
    actor: str
    action: str
    outcome: str
    store: str | None
    space_key: str | None
    target: str | None
    detail: JSON


@strawberry.type
class AuditLogPage:
    entries: list[AuditLogEntry]
    end_cursor: str | None
    has_next_page: bool


# --- helpers -------------------------------------------------------------------
async def _space(services: Services, value: str) -> Space:
    try:
        return await population.find_space(services.stores, value)
    except population.NoSuchSpace as exc:
        raise AdminInputError(str(exc)) from None


async def _principal(services: Services, who: str, roles: list[str] | None) -> Principal:
    """A principal the gateway has seen (``user:EMAIL`` or EMAIL), with the roles of their
    last token, or a hypothetical one holding ``roles``; with their memberships."""
    pid = who if who.startswith(USER_PREFIX) else f"{USER_PREFIX}{who}"
    principal = await services.records.known_principal(pid)
    if roles is not None:
        email = pid.removeprefix(USER_PREFIX)
        base = principal or Principal(None, email, email, True, email, frozenset())
        principal = dataclasses.replace(base, roles=frozenset(roles))
    if principal is None:
        raise AdminInputError(
            f"the gateway has not seen {pid}: pass roles to explain a principal holding them"
        )
    return await population.with_memberships(services.stores, principal)


def _via(m: Any) -> Via | None:
    if m is None:
        return None
    return Via(role=m.role.value, space=m.space_key, expires_at=m.expires_at)


def _user_error(code: ErrorCode, message: str, field: str | None = None) -> UserError:
    return UserError(code=code, message=message, field=field)


# --- operations ----------------------------------------------------------------
@strawberry.type
class AdminQuery:
    @strawberry.field(description="The version in force on this replica, and its lines.")
    async def policy(self, info: strawberry.Info) -> PolicyVersion:
        ctx = _ctx(info)
        number = ctx.services.policy.number
        version = await ctx.services.policy_store.version(number) if number else None
        if version is None:
            version = await ctx.services.policy_admin.latest()
        return _version(version)

    @strawberry.field(description="The lines of the policy in force, filtered.")
    def policy_lines(
        self, info: strawberry.Info, filter: PolicyLineFilter | None = None
    ) -> list[PolicyLine]:
        lines = policy_lines.policy_lines(_ctx(info).services.policy.policy)
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
        return [_line(x) for x in lines]

    @strawberry.field(description="Every version, newest first.")
    async def policy_versions(
        self, info: strawberry.Info, first: int = 20, before: int | None = None
    ) -> list[PolicyVersion]:
        if not 1 <= first <= MAX_AUDIT_PAGE:
            raise AdminInputError(f"first must be between 1 and {MAX_AUDIT_PAGE}")
        versions = await _ctx(info).services.policy_store.versions(first=first, before=before)
        return [_version(v) for v in versions]

    @strawberry.field(description="What adding and removing these lines would do; nothing changes.")
    async def simulate_policy_change(
        self, info: strawberry.Info, add: list[str] | None = None, remove: list[str] | None = None
    ) -> PolicyChangePreview:
        admin = _ctx(info).services.policy_admin
        return _preview(await admin.propose_edit(add or [], remove or []))

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
        ctx = _ctx(info)
        found = await _principal(ctx.services, principal, roles)
        key = (await _space(ctx.services, space)).key
        index = ctx.services.policy
        result = explaining.explain(index.policy, found, key, object, action, ctx.now)
        return AccessExplanation(
            allowed=result.allowed,
            principal=found.id,
            roles=sorted(found.roles),
            domain=key,
            object=object,
            action=action,
            line=_line(policy_lines.rule_line(result.rule)) if result.rule else None,
            via=_via(result.via),
            policy_version=index.describe(),
            text=str(result),
        )

    @strawberry.field(
        description="Everyone who may do the action on the space (everyone the gateway has "
        "seen, with their memberships, and one newcomer per persona), and the line and "
        "membership that say so."
    )
    async def who_can_access(
        self, info: strawberry.Info, space: str, action: str = Action.READ.value
    ) -> list[Access]:
        ctx = _ctx(info)
        if action not in {a.value for a in SPACE_ACTIONS}:
            known = ", ".join(a.value for a in SPACE_ACTIONS)
            raise AdminInputError(f"action must be one asked of a space: {known}")
        target = await _space(ctx.services, space)
        found = await population.gather(ctx.services.stores, ctx.services.records)
        report = who_can(ctx.services.policy, found.subjects, [target], ctx.now, action=action)
        return [
            Access(
                principal=subject.name,
                roles=sorted(subject.principal.roles),
                line=_line(policy_lines.rule_line(decision.rule)) if decision.rule else None,
                via=_via(decision.via),
            )
            for subject, _space_, decision in report.allowed()
        ]

    @strawberry.field(
        description="The live browser sessions, newest first (optionally one "
        "principal's: user:EMAIL or the email)."
    )
    async def sessions(
        self, info: strawberry.Info, principal: str | None = None
    ) -> list[BrowserSession]:
        ctx = _ctx(info)
        try:
            key = principal_key(principal) if principal is not None else None
        except OffboardingRefused as exc:
            raise AdminInputError(str(exc)) from None
        found = await _offboarding(ctx).sessions.live(ctx.now, key)
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

    @strawberry.field(description="The audit log, newest first: writes, refusals, policy changes.")
    async def audit_log(
        self,
        info: strawberry.Info,
        filter: AuditFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditLogPage:
        if not 1 <= first <= MAX_AUDIT_PAGE:
            raise AdminInputError(f"first must be between 1 and {MAX_AUDIT_PAGE}")
        before = None
        if after is not None:
            # ASCII digits only ('¹' is a digit to str.isdigit), and no more than a row id
            # can have (a larger number overflows the database's integer).
            if not (after.isascii() and after.isdigit() and len(after) <= 18):
                raise AdminInputError(f"after: not a cursor of this log: {after!r}")
            before = int(after)
        f = filter or AuditFilter()
        if f.outcome is not None and f.outcome not in Outcome.__members__.values():
            raise AdminInputError(f"outcome must be one of {', '.join(Outcome)}")
        entries = await _ctx(info).services.records.entries(
            actor=f.actor,
            action=f.action,
            outcome=Outcome(f.outcome) if f.outcome else None,
            since=f.since,
            before_id=before,
            limit=first + 1,
        )
        page = entries[:first]
        return AuditLogPage(
            entries=[
                AuditLogEntry(
                    id=e.id or 0,
                    at=e.at,
                    actor=e.actor,
                    action=e.action,
                    outcome=e.outcome.value,
                    store=e.store,
                    space_key=e.space_key,
                    target=e.target,
                    detail=json.loads(json.dumps(e.detail)),
                )
                for e in page
            ],
            end_cursor=str(page[-1].id) if page else None,
            has_next_page=len(entries) > first,
        )


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


def _offboarding(ctx: AdminContext) -> Offboarding:
    settings = ctx.services.settings
    return Offboarding(
        ctx.services.stores, ctx.services.records, idle_timeout=settings.session_idle_timeout
    )


def _refusal(exc: OffboardingRefused) -> list[UserError]:
    code = ErrorCode.NOT_FOUND if exc.unknown else ErrorCode.INVALID
    return [_user_error(code, str(exc), "principal")]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Offboarding: end every session of the principal, refuse their bearer "
        "tokens issued before now, revoke their pending invitations and end their internal "
        "memberships. Audited, refusals included; an unknown principal changes nothing."
    )
    async def revoke_principal_access(
        self, info: strawberry.Info, input: PrincipalAccessInput
    ) -> RevokePrincipalAccessPayload:
        ctx = _ctx(info)
        try:
            done = await _offboarding(ctx).revoke(
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
        errors = [_user_error(ErrorCode.UNAVAILABLE, f) for f in done.failures]
        return RevokePrincipalAccessPayload(revoked=revoked, errors=errors)

    @strawberry.mutation(
        description="Lift a revoke: the principal's older bearer tokens are accepted again "
        "(ended sessions, invitations and memberships stay ended). Audited."
    )
    async def restore_principal_access(
        self, info: strawberry.Info, input: PrincipalAccessInput
    ) -> RestorePrincipalAccessPayload:
        ctx = _ctx(info)
        try:
            lifted = await _offboarding(ctx).restore(
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

    @strawberry.mutation(description="Add and remove policy lines, against expectedVersion.")
    async def apply_policy_change(
        self, info: strawberry.Info, input: PolicyChangeInput
    ) -> PolicyChangePayload:
        ctx = _ctx(info)
        admin = ctx.services.policy_admin
        proposal = await admin.propose_edit(input.add, input.remove)
        return await _apply(ctx, proposal, input.expected_version, input.reason, VersionKind.APPLY)

    @strawberry.mutation(description="Put an earlier version back in force, as a new version.")
    async def rollback_policy(
        self, info: strawberry.Info, input: RollbackPolicyInput
    ) -> PolicyChangePayload:
        ctx = _ctx(info)
        try:
            proposal = await ctx.services.policy_admin.propose_rollback(input.to_version)
        except ChangeRefused as exc:
            error = _user_error(ErrorCode.NOT_FOUND, str(exc), "toVersion")
            return PolicyChangePayload(version=None, preview=None, errors=[error])
        return await _apply(
            ctx, proposal, input.expected_version, input.reason, VersionKind.ROLLBACK
        )


async def _apply(
    ctx: AdminContext, proposal: Proposal, expected: int, reason: str | None, kind: VersionKind
) -> PolicyChangePayload:
    preview = _preview(proposal)
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
        errors = [_user_error(ErrorCode.INVALID, p) for p in exc.problems]
        return PolicyChangePayload(version=None, preview=preview, errors=errors)
    except StaleVersion as exc:
        error = _user_error(ErrorCode.CONFLICT, str(exc), "expectedVersion")
        return PolicyChangePayload(version=None, preview=preview, errors=[error])
    return PolicyChangePayload(version=_version(version), preview=preview, errors=[])
