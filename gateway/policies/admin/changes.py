"""Changing the policy safely: a proposal, its consequences, then apply or roll back.

Every way of changing the policy (``gateway policy apply``, the admin GraphQL API, the
``/admin`` page) goes through :class:`PolicyAdmin`:

1. **Propose** a whole new text, or lines to add and remove from the latest version.
   The proposal carries the validator's findings, the impact over the real population
   (:mod:`gateway.policies.admin.population`) and the reasons it would be refused.
2. **Refused**, changing nothing: a line that does not load, a policy under which
   nobody could administer it any more (no persona or user holds ``administer`` on
   ``policy``, or every security admin the gateway has seen would lose it), or one
   that breaks a declared invariant (:mod:`gateway.policies.invariants`) the version in
   force does not already break.
3. **Apply** against the version it was reviewed on (``expected``): if another change
   landed since, :class:`~gateway.policies.store.StaleVersion`, never a silent
   overwrite. The version, the audit entry (who, the diff, versions before and after)
   and the source are one transaction; this replica enforces it at once, the others
   within a second (:mod:`gateway.policies.admin.reload`).
4. **Roll back** to any earlier version: a new version with that version's text, proposed,
   checked and audited like any change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.domain.permissions import ADMIN_DOMAIN, USER_PREFIX, Action, Resource
from gateway.domain.principal import Principal
from gateway.policies.admin import population
from gateway.policies.admin.edit_check import check_edit
from gateway.policies.admin.guard import as_bound, subjects_of
from gateway.policies.admin.impact import Impact, Subject, diff, persona_subjects
from gateway.policies.compiler import Authorizer, PolicyIndex
from gateway.policies.export import digest, line_diff
from gateway.policies.invariants import Broken, InvariantError, evaluate, worsened
from gateway.policies.store import Version, VersionKind
from gateway.policies.validate import Problem, Severity, check_text
from gateway.records import AuditEntry, Outcome

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from gateway.domain.model import StoreName
    from gateway.policies.invariants import InvariantSource
    from gateway.policies.policy import Policy
    from gateway.policies.store import PolicyStore
    from gateway.records import Records
    from gateway.stores.interface import Store


class ChangeRefused(Exception):
    """The change would not be safe to apply; ``problems`` says why, one a line.

    ``broken``: those of the problems that are invariants the change would break (the
    admin API answers them with code ``INVARIANT``)."""

    def __init__(self, problems: Sequence[str], broken: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        self.broken = list(broken)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class Proposal:
    """A candidate policy measured against the version it would replace."""

    base: Version
    text: str  # what was proposed (a file's text, or the base with the edit)
    policy: Policy | None  # None when it does not load
    findings: tuple[Problem, ...]  # the validator's, errors and warnings
    refusals: tuple[str, ...]  # why it cannot be applied; empty when it can
    impact: Impact | None
    added: tuple[str, ...] = field(default=())
    removed: tuple[str, ...] = field(default=())
    # The invariants it would break (with only the breaches it adds): among the refusals.
    broken: tuple[Broken, ...] = field(default=())

    @property
    def acceptable(self) -> bool:
        return not self.refusals

    @property
    def unchanged(self) -> bool:
        return self.policy is not None and digest(self.policy) == self.base.sha256


def is_administrator(policy: Policy | PolicyIndex, principal: Principal) -> bool:
    """Whether ``principal`` may administer the policy (the admin API, page and tools)."""
    index = policy if isinstance(policy, PolicyIndex) else PolicyIndex(policy)
    authorizer = Authorizer(index, principal, datetime.now(UTC))
    return authorizer.allows(Resource.POLICY.value, ADMIN_DOMAIN, Action.ADMINISTER.value)


def lockout(old: Policy, new: Policy, known: Sequence[Principal]) -> str | None:
    """Why ``new`` would leave nobody able to administer the policy, or None.

    Someone must hold ``administer``: a persona (a newcomer with it), or a ``user:``
    subject named in the policy; and when security admins have been seen, at least one
    of them must keep it (a persona nobody holds yet is no help to them)."""
    old_index, new_index = PolicyIndex(old), PolicyIndex(new)
    candidates = [s.principal for s in persona_subjects()]
    named = {r.sub for r in new.rules if r.sub.startswith(USER_PREFIX)}
    candidates += [_user(sub) for sub in sorted(named)]
    if not any(is_administrator(new_index, p) for p in candidates):
        return (
            "no persona or user would hold administer on policy: nobody could change the "
            "policy again (keep a line such as 'p, security_admin, *, policy, administer, allow')"
        )
    admins = [p for p in known if is_administrator(old_index, p)]
    if admins and not any(is_administrator(new_index, p) for p in admins):
        names = ", ".join(sorted(p.id for p in admins))
        return f"every security admin the gateway knows ({names}) would lose administer on policy"
    return None


def _user(sub: str) -> Principal:
    email = sub.removeprefix(USER_PREFIX)
    return Principal(None, email, email, True, email, frozenset())


def edit_text(base: Policy, add: Sequence[str], remove: Sequence[str]) -> tuple[str, list[str]]:
    """``base``'s text with the ``remove`` lines taken out and the ``add`` lines appended
    (comments and the other lines stay as written); and the problems of the edit itself
    (a line to remove that is not there, a bad line to add), each naming its place as
    ``add[i]`` or ``remove[i]``. The same check the admin page runs as one types."""
    problems = [
        f"{box}[{i}]: one policy line, not {raw!r}"
        for box, items in (("remove", remove), ("add", add))
        for i, raw in enumerate(items)
        if "\n" in raw.strip() or not raw.strip()
    ]
    checked = check_edit(base, add, remove)
    for box, found in (("remove", checked.remove), ("add", checked.add)):
        problems += [
            f"{box}[{p.line - 1}]: {p.reason}" for p in found if p.severity is Severity.ERROR
        ]
    return checked.text, problems


class PolicyAdmin:
    """Proposals, changes and rollbacks of the policy, over the real population."""

    def __init__(
        self,
        store: PolicyStore,
        stores: dict[StoreName, Store],
        records: Records,
        install: Callable[[PolicyIndex], None],
        invariants: InvariantSource | None = None,
    ) -> None:
        self.store = store
        self.stores = stores
        self.records = records
        self.install = install  # puts a version in force on this replica at once
        self.invariants = invariants  # None: none declared (the lockout rule still holds)

    async def latest(self) -> Version:
        """The latest version; the source's policy is recorded first when there is none."""
        latest = await self.store.latest()
        if latest is None:
            latest = await self.store.record(await self.store.read_source(), actor="gateway")
        return latest

    async def propose(
        self, text: str, *, source: str, base: Version | None = None, now: datetime | None = None
    ) -> Proposal:
        base = base or await self.latest()
        policy, findings = check_text(text, source=source)
        refusals = [p.format(source) for p in findings if p.severity is Severity.ERROR]
        impact = None
        added: list[str] = []
        removed: list[str] = []
        broken: list[Broken] = []
        if policy is not None:
            old = base.policy()
            found = await population.gather(self.stores, self.records)
            locked = lockout(old, policy, known_subjects(found.subjects))
            if locked is not None:
                refusals.append(locked)
            at = now or datetime.now(UTC)
            try:
                broken = await self.breaks(old, policy, found, at)
            except InvariantError as exc:
                refusals.append(f"the invariants do not load, so nothing can be checked: {exc}")
            refusals += [b.message() for b in broken]
            impact = diff(old, policy, found.subjects, found.spaces, at)
            added, removed = line_diff(old, policy)
        return Proposal(
            base,
            text,
            policy,
            tuple(findings),
            tuple(refusals),
            impact,
            tuple(added),
            tuple(removed),
            tuple(broken),
        )

    async def breaks(
        self, old: Policy, new: Policy, found: population.Population, now: datetime
    ) -> list[Broken]:
        """The invariants ``new`` would break that ``old`` does not already (with only the
        breaches it adds), over ``found``; :class:`InvariantError` when they do not load."""
        if self.invariants is None:
            return []
        await self.invariants.refresh()  # another replica may have changed them
        declared = self.invariants.read()
        subjects = as_bound(await subjects_of(self.stores, declared, found))
        after = evaluate(new, declared, subjects, found.spaces, now)
        if not after:
            return []
        return worsened(evaluate(old, declared, subjects, found.spaces, now), after)

    async def breaks_now(self, old: Policy, new: Policy) -> list[Broken]:
        """:meth:`breaks` over the population now (for a source edited by hand)."""
        found = await population.gather(self.stores, self.records)
        return await self.breaks(old, new, found, datetime.now(UTC))

    async def propose_edit(
        self, add: Sequence[str], remove: Sequence[str], *, now: datetime | None = None
    ) -> Proposal:
        base = await self.latest()
        text, problems = edit_text(base.policy(), add, remove)
        if problems:
            findings = tuple(Problem(0, Severity.ERROR, p) for p in problems)
            return Proposal(base, text, None, findings, tuple(problems), None)
        return await self.propose(text, source="the edited policy", base=base, now=now)

    async def apply(
        self,
        proposal: Proposal,
        *,
        expected: int,
        actor: str,
        issuer: str | None = None,
        reason: str | None = None,
        kind: VersionKind = VersionKind.APPLY,
        now: datetime | None = None,
    ) -> Version:
        """Put an acceptable proposal in force as the version after ``expected``."""
        at = now or datetime.now(UTC)

        def entry(outcome: Outcome, **detail: object) -> AuditEntry:
            before = {"version": proposal.base.number, "sha256": proposal.base.sha256}
            return AuditEntry(
                at=at,
                actor=actor,
                issuer=issuer,
                action=f"policy_{kind.value}",
                outcome=outcome,
                store=None,
                space_key=None,
                target=None,
                detail={"before": before, **detail, "reason": reason},
            )

        if proposal.policy is None or proposal.refusals:
            invariants = [b.as_dict() for b in proposal.broken]
            await self.records.record(
                entry(Outcome.DENIED, refused=list(proposal.refusals), invariants=invariants)
            )
            raise ChangeRefused(proposal.refusals, [b.message() for b in proposal.broken])
        if proposal.unchanged:
            raise ChangeRefused(["the policy would not change: it is already in force"])
        summary = [str(g) for g in proposal.impact.summary()] if proposal.impact else []
        audit = entry(
            Outcome.OK,
            added=list(proposal.added),
            removed=list(proposal.removed),
            impact=summary,
        )
        version = await self.store.commit(
            proposal.policy,
            expected=expected,
            actor=actor,
            kind=kind,
            reason=reason,
            audit=audit,
            now=at,
        )
        self.install(PolicyIndex(version.policy(), number=version.number))
        return version

    async def propose_rollback(self, number: int, *, now: datetime | None = None) -> Proposal:
        target = await self.store.version(number)
        if target is None:
            raise ChangeRefused([f"there is no policy version {number}"])
        return await self.propose(target.text, source=f"policy v{number}", now=now)


def known_subjects(subjects: Sequence[Subject]) -> list[Principal]:
    """The principals the gateway has seen (not the one-per-persona newcomers)."""
    return [s.principal for s in subjects if not s.name.startswith("persona:")]
