"""Who may act on which space, and why: the policy line and the membership behind it.

For administrators: ``gateway access-report --who``, the admin GraphQL field
``whoCanAccess(space, action)`` and the admin page all ask :func:`who_can`::

    report = who_can(services.policy, population.subjects, population.spaces, now)
    for subject, space, decision in report.allowed():
        print(subject.name, space.key, decision.rule.line, decision.via)

The decision is the compiled one (``Authorizer.scope``), exactly what a request of that
principal would get; a write also needs read on the space. The reason is the line
Casbin's ``enforce_ex`` names for the same request (what ``gateway policy explain``
prints): the first matching deny line, else the last matching allow line, in file
order. It is found over the index's rules, not by an enforcer per call (about a
millisecond each), so a report costs what compiling each subject costs plus a scan of
a handful of candidate lines per space. ``tests/policies/test_whocan.py`` holds it equal
to ``explain()``.

Pure: no store or file is opened here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from casbin.util import key_match

from gateway.domain.permissions import NEEDS_READ, Action, Resource
from gateway.policies.compiler import Authorizer
from gateway.policies.explain import ended_text
from gateway.policies.policy import Effect, parse_domain

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import datetime

    from gateway.domain.model import Membership, Space
    from gateway.policies.admin.impact import Subject
    from gateway.policies.compiler import PolicyIndex
    from gateway.policies.explain import Revocation
    from gateway.policies.policy import DomainPattern, Rule
    from gateway.stores.scope import Scope

__all__ = [
    "SPACE_ACTIONS",
    "Decision",
    "Row",
    "Verdict",
    "WhoCan",
    "membership_text",
    "who_can",
]

# The actions asked of a space itself. ``invite`` and ``join`` are asked of the role an
# invitation hands out (``Membership.ROLE``), never of ``space``: nobody holds them here.
SPACE_ACTIONS: tuple[Action, ...] = tuple(
    a for a in Action if a not in (Action.INVITE, Action.JOIN)
)
_NEEDS_READ = frozenset(a.value for a in NEEDS_READ)


class Verdict(enum.StrEnum):
    """A cell of the access matrix."""

    ALLOWED = "allowed"  # by a persona, a role it inherits, or the principal's own line
    MEMBERSHIP = "membership"  # allowed through a membership in the space
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Decision:
    """One subject's decision on one space, and the line behind it.

    ``rule``: when allowed, the allow line that grants the action; when denied, the deny
    line that wins, or None (no line grants it: default deny). ``via``: the membership
    through which ``rule`` applies (its subject is the membership's role, or a role that
    role inherits), None when the subject's personas or own ``user:`` line reach it.
    ``unreadable``: a write refused only because the space is not readable (nobody writes
    where they cannot read); ``rule`` and ``via`` are then those of the read decision.
    ``ended``: when denied, the access the subject had there and no longer has
    ("membership space_guest in internal/shared/aurora expired on 2026-11-20"), or an
    invitation that grants nothing yet; None when there is none.
    """

    allowed: bool
    rule: Rule | None = None
    via: Membership | None = None
    unreadable: bool = False
    ended: str | None = None

    @property
    def verdict(self) -> Verdict:
        if not self.allowed:
            return Verdict.DENIED
        return Verdict.ALLOWED if self.via is None else Verdict.MEMBERSHIP

    def why(self, source: str) -> str:
        """The reason in one line, e.g. ``allowed by policies.csv:31: p, employee, ...``
        (``source`` names the policy file)."""
        if self.rule is None and self.ended is not None:
            what = f"{self.ended}; no other line of {source} grants it"
        elif self.rule is None:
            what = f"no line of {source} grants it (default deny)"
        else:
            effect = "allowed by" if self.rule.eft is Effect.ALLOW else "denied by"
            what = f"{effect} {source}:{self.rule.line}: {self.rule}"
        if self.via is not None:
            what += f" via {membership_text(self.via)}"
        elif self.rule is not None and self.ended is not None:
            what += f" ({self.ended})"
        return f"cannot read the space: {what}" if self.unreadable else what


def membership_text(membership: Membership) -> str:
    """``space_guest in internal/shared/aurora, expires 2026-12-24``."""
    expiry = membership.expires_at
    until = f", expires {expiry:%Y-%m-%d %H:%M UTC}" if expiry is not None else ""
    return f"{membership.role.value} in {membership.space_key}{until}"


@dataclass(frozen=True, slots=True)
class Row:
    """One subject's decisions: ``decisions[i]`` is on the report's ``spaces[i]``."""

    subject: Subject
    decisions: tuple[Decision, ...]


@dataclass(frozen=True, slots=True)
class WhoCan:
    """Every subject's decision on every space for one action, under one policy version."""

    action: str
    source: str  # the policy file, as loaded
    version: str  # PolicyIndex.version: the sha256 every decision was made under
    spaces: tuple[Space, ...]
    rows: tuple[Row, ...]

    def allowed(self) -> Iterator[tuple[Subject, Space, Decision]]:
        """The allowed pairs, in subject then space order."""
        for row in self.rows:
            for space, decision in zip(self.spaces, row.decisions, strict=True):
                if decision.allowed:
                    yield row.subject, space, decision


def who_can(
    index: PolicyIndex,
    subjects: Sequence[Subject],
    spaces: Sequence[Space],
    now: datetime,
    *,
    action: str = Action.READ,
) -> WhoCan:
    """Each subject's decision, with its reason, on each space for ``action`` (one of
    :data:`SPACE_ACTIONS`) at ``now`` (memberships expire)."""
    if action not in SPACE_ACTIONS:
        known = ", ".join(SPACE_ACTIONS)
        raise ValueError(f"{action!r} is not an action on a space (known: {known})")
    # Each space's key and its store/visibility, worked out once for every subject.
    keyed = [
        (space, space.key, f"{space.store.value}/{space.visibility.value}") for space in spaces
    ]
    order = _Order(index)
    rows = []
    for subject in subjects:
        authorizer = Authorizer(index, subject.principal, now)
        decide = _Subject(order, authorizer, action, subject, now)
        rows.append(Row(subject, tuple(decide.decide(keyed))))
    return WhoCan(str(action), index.policy.source, index.version, tuple(spaces), tuple(rows))


class _Order:
    """The policy's lines as Casbin's model holds them: a repeated line once (its first
    copy, the one ``explain`` reports), in file order."""

    def __init__(self, index: PolicyIndex) -> None:
        self.index = index
        self.position: dict[tuple[str, ...], int] = {}
        self.first: dict[tuple[str, ...], Rule] = {}
        for rule in index.policy.rules:
            key = tuple(rule.casbin())
            if key not in self.position:
                self.position[key] = len(self.position)
                self.first[key] = rule

    def sort(self, rules: Iterable[Rule]) -> list[Rule]:
        """``rules`` as first copies, each once, in the model's order."""
        unique = {self.first[key] for key in (tuple(r.casbin()) for r in rules)}
        return sorted(unique, key=lambda r: self.position[tuple(r.casbin())])


class _Lines:
    """The lines that may decide ``action`` on a space for one authorizer's subject, in
    the order Casbin's model holds them, and the reason they give on each space."""

    def __init__(
        self,
        order: _Order,
        authorizer: Authorizer,
        action: str,
        all_memberships: Sequence[Membership],
        now: datetime,
        revocations: Sequence[Revocation] = (),
    ) -> None:
        index = order.index
        self._order = order
        self._index = index
        self._action = action
        self._global = authorizer.roles
        self._memberships: dict[str, list[tuple[Membership, frozenset[str]]]] = {}
        for m in authorizer.memberships:
            roles = index.closure({m.role.value})
            self._memberships.setdefault(m.space_key, []).append((m, roles))
        # Memberships that ended and invitations not bound yet: what a denial says ended.
        self._ended: dict[str, str] = {}
        held: dict[str, list[Membership]] = {}
        for m in all_memberships:
            held.setdefault(m.space_key, []).append(m)
        for key, ms in held.items():
            text = ended_text(ms, now)
            if text is not None:
                self._ended[key] = text
        for revoked in revocations:
            if revoked.space_key in self._memberships:
                continue  # they hold access there again
            was = self._ended.get(revoked.space_key)
            self._ended[revoked.space_key] = f"{was}; {revoked}" if was else str(revoked)
        self._everywhere = self._candidates(self._global)
        # The spaces a membership or a line names one by one are decided one by one; the
        # others alike per store and visibility, so a report costs little per space.
        self._named = (
            set(self._memberships)
            | set(self._ended)
            | {_slug_key(p) for _, p in self._everywhere if p.slug is not None}
        )
        self._cache: dict[tuple[str, bool], Decision] = {}

    def _candidates(self, roles: frozenset[str]) -> list[tuple[Rule, DomainPattern]]:
        rules = self._index.rules(self._action, roles)
        found = [
            (rule, parse_domain(rule.dom))
            for rule in self._order.sort(rules)
            if key_match(Resource.SPACE.value, rule.obj)
        ]
        return [(rule, pattern) for rule, pattern in found if not pattern.people]

    def reason(self, space: Space, key: str, group: str, allowed: bool) -> Decision:
        """The reason for the decision ``allowed`` on ``space`` (its ``key``, and its
        ``group``: store/visibility)."""
        cached = (key if key in self._named else group, allowed)
        found = self._cache.get(cached)
        if found is None:
            found = self._cache[cached] = self._reason(space, key, allowed)
        return found

    def _reason(self, space: Space, key: str, allowed: bool) -> Decision:
        held = self._memberships.get(key, ())
        lines = self._everywhere
        if held:
            extra = frozenset().union(*(roles for _, roles in held)) - self._global
            if extra:
                position = self._order.position
                lines = sorted(
                    [*lines, *self._candidates(extra)],
                    key=lambda item: position[tuple(item[0].casbin())],
                )
        matching = [rule for rule, pattern in lines if _covers(pattern, space)]
        if allowed:
            # enforce_ex names the last matching line when no deny line matches.
            allows = [r for r in matching if r.eft is Effect.ALLOW]
            rule = allows[-1] if allows else None
        else:
            rule = next((r for r in matching if r.eft is Effect.DENY), None)
        via = None
        if rule is not None and rule.sub not in self._global:
            via = next((m for m, roles in held if rule.sub in roles), None)
        return Decision(allowed, rule, via, ended=None if allowed else self._ended.get(key))


class _Subject:
    """One subject's decisions for one action: the compiled scope decides, the lines say why."""

    def __init__(
        self,
        order: _Order,
        authorizer: Authorizer,
        action: str,
        subject: Subject,
        now: datetime,
    ) -> None:
        self._scope = authorizer.scope(action)
        memberships, revoked = subject.principal.memberships, subject.revoked
        self._lines = _Lines(order, authorizer, action, memberships, now, revoked)
        self._read: tuple[Scope, _Lines] | None = None
        if action in _NEEDS_READ:
            read = Action.READ.value
            self._read = (
                authorizer.scope(read),
                _Lines(order, authorizer, read, memberships, now, revoked),
            )
        self._unreadable: dict[int, Decision] = {}  # by the read decision (shared) it wraps

    def decide(self, spaces: Sequence[tuple[Space, str, str]]) -> Iterator[Decision]:
        for space, key, group in spaces:
            allowed = self._scope.admits(space)
            if allowed and self._read is not None:
                read_scope, read_lines = self._read
                if not read_scope.admits(space):
                    # Nobody writes where they cannot read: the read decision is the reason.
                    refused = read_lines.reason(space, key, group, False)
                    found = self._unreadable.get(id(refused))
                    if found is None:
                        found = self._unreadable[id(refused)] = Decision(
                            False, refused.rule, refused.via, True, refused.ended
                        )
                    yield found
                    continue
            yield self._lines.reason(space, key, group, allowed)


def _covers(pattern: DomainPattern, space: Space) -> bool:
    """keyMatch of a space key against a parsed (space) domain pattern."""
    return (
        (pattern.store is None or pattern.store == space.store)
        and (pattern.visibility is None or pattern.visibility == space.visibility)
        and (pattern.slug is None or pattern.slug == space.slug)
    )


def _slug_key(pattern: DomainPattern) -> str:
    return f"{pattern.store}/{pattern.visibility}/{pattern.slug}"
