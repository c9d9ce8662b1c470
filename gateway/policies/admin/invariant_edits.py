"""Changing the invariants themselves: previewed, refused when the state already breaks a
new one (unless allowed), audited.

Like a policy change, an edit of the invariants is a proposal first: the new text, the
problems of its lines, and which of its invariants the policy in force and the stores
already break. Applying it puts the text in force as the invariants' next version (the
file replaced atomically, or a row of the database) and audits, in the same transaction,
who, the lines added and removed, both texts' sha256, the version and the reason
(``invariants_apply``). A rollback proposes an earlier version's text, checked and
audited the same way (``invariants_rollback``), as a new version. An
invariant that is broken now is refused, unless ``allow_broken`` says the administrator
knows: it is then in force (refusing every change that adds to it) and reported, by
``gateway policy check``, the admin page and ``/readyz``, until fixed.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.policies.admin.changes import ChangeRefused
from gateway.policies.admin.guard import check_state
from gateway.policies.invariants import InvariantError, InvariantKind, Invariants
from gateway.records import AuditEntry, Outcome

if TYPE_CHECKING:
    from gateway.policies.admin.changes import PolicyAdmin
    from gateway.policies.compiler import PolicyIndex
    from gateway.policies.invariants import Broken, InvariantVersion


@dataclass(frozen=True, slots=True)
class InvariantProposal:
    text: str
    invariants: Invariants | None  # None: it does not load
    problems: tuple[str, ...]  # one per bad line
    broken: tuple[Broken, ...]  # of its invariants, those the state in force breaks now
    added: tuple[str, ...]
    removed: tuple[str, ...]
    before: str  # the text in force
    kind: InvariantKind = InvariantKind.APPLY  # ROLLBACK: an earlier version's text

    @property
    def acceptable(self) -> bool:
        return self.invariants is not None and not self.broken


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def propose_invariant_rollback(
    admin: PolicyAdmin, number: int, policy: PolicyIndex
) -> InvariantProposal:
    """What putting version ``number``'s text back in force would mean; nothing changes."""
    if admin.invariants is None:
        raise ChangeRefused(["this gateway has no invariants to roll back"])
    target = await admin.invariants.version(number)
    if target is None:
        raise ChangeRefused([f"there is no invariants version {number}"])
    proposal = await propose_invariants(admin, target.text, policy, source=f"invariants v{number}")
    return dataclasses.replace(proposal, kind=InvariantKind.ROLLBACK)


async def propose_invariants(
    admin: PolicyAdmin, text: str, policy: PolicyIndex, *, source: str = "the new invariants"
) -> InvariantProposal:
    """What putting ``text`` in force as the invariants would mean; nothing changes."""
    if admin.invariants is None:
        raise ChangeRefused(["this gateway has no invariants file to change"])
    await admin.invariants.refresh()  # another replica may have changed them
    try:
        current = admin.invariants.read()
    except InvariantError:
        current = Invariants(())
    before = current.text
    old_lines = {str(i) for i in current.items}
    try:
        new = Invariants.parse(text, source=source)
    except InvariantError as exc:
        return InvariantProposal(text, None, tuple(exc.problems), (), (), (), before)
    broken, _found = await check_state(policy, new, admin.stores, admin.records)
    new_lines = [str(i) for i in new.items]
    return InvariantProposal(
        text,
        new,
        (),
        tuple(broken),
        tuple(x for x in new_lines if x not in old_lines),
        tuple(sorted(old_lines - set(new_lines))),
        before,
    )


async def apply_invariants(
    admin: PolicyAdmin,
    proposal: InvariantProposal,
    *,
    actor: str,
    issuer: str | None = None,
    allow_broken: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
) -> InvariantVersion | None:
    """Put the proposal's invariants in force as their next version (None: they have no
    history), or :class:`ChangeRefused` (audited)."""
    at = now or datetime.now(UTC)

    def entry(outcome: Outcome, **detail: object) -> AuditEntry:
        return AuditEntry(
            at=at,
            actor=actor,
            issuer=issuer,
            action=f"invariants_{proposal.kind.value}",
            outcome=outcome,
            store=None,
            space_key=None,
            target=None,
            detail={
                "before": _sha(proposal.before),
                "after": _sha(proposal.text),
                "added": list(proposal.added),
                "removed": list(proposal.removed),
                **detail,
                "reason": reason,
            },
        )

    assert admin.invariants is not None
    broken = [b.message().replace("breaks invariant", "invariant", 1) for b in proposal.broken]
    refusals = list(proposal.problems)
    if proposal.broken and not allow_broken:
        refusals += [f"{why}: it is broken now (add it with --allow-broken)" for why in broken]
    if proposal.invariants is None or refusals:
        await admin.records.record(entry(Outcome.DENIED, refused=refusals))
        raise ChangeRefused(refusals, [r for r in refusals if r not in proposal.problems])
    audit = entry(Outcome.OK, broken=[b.as_dict() for b in proposal.broken])
    version = await admin.invariants.write(
        proposal.text, actor=actor, kind=proposal.kind, reason=reason, audit=audit
    )
    if version is None:  # no history to hold the audit entry with the version
        await admin.records.record(audit)
    admin.invariants.report(list(proposal.broken))
    return version
