"""The admin API's policy types: the policy's lines and versions, a change's preview and
its payload, and the converters from what :mod:`gateway.policies` holds."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from gateway.policies.invariants import MAX_EXAMPLES
from gateway.schema.payloads import UserError

if TYPE_CHECKING:
    from gateway.policies.admin import lines as policy_lines
    from gateway.policies.admin.changes import Proposal
    from gateway.policies.invariants import Broken
    from gateway.policies.store import Version

MAX_CHANGES = 500  # impact details listed per preview (the summary always counts all)


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


def line_of(line: policy_lines.Line) -> PolicyLine:
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


def version_of(v: Version) -> PolicyVersion:
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


@strawberry.type(description="A declared access invariant that is broken, by whom and where.")
class BrokenInvariant:
    invariant: str = strawberry.field(description="The invariant, as its file has it.")
    line: int = strawberry.field(description="Its line in the invariants' file.")
    message: str = strawberry.field(description="It, and one principal and space breaking it.")
    breaches: int = strawberry.field(description="(principal, space) pairs that break it.")
    principals: list[str] = strawberry.field(description=f"Who (the first {MAX_EXAMPLES}).")
    targets: list[str] = strawberry.field(
        description=f"Where: space keys, people/STORE, * (the first {MAX_EXAMPLES})."
    )


def broken_of(b: Broken) -> BrokenInvariant:
    return BrokenInvariant(
        invariant=str(b.invariant),
        line=b.invariant.line,
        message=b.message(),
        breaches=b.total,
        principals=b.principals[:MAX_EXAMPLES],
        targets=b.targets[:MAX_EXAMPLES],
    )


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
    broken_invariants: list[BrokenInvariant] = strawberry.field(
        description="The invariants it would break that the policy in force does not (it is "
        "refused for each, with code INVARIANT)."
    )


def preview_of(p: Proposal) -> PolicyChangePreview:
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
        broken_invariants=[broken_of(b) for b in p.broken],
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
