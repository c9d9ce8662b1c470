"""Checking a policy before it is put in force: errors, and lines that never take effect.

Errors are what :meth:`Policy.parse` refuses (the gateway would not start with the
file). Warnings are lines that load but can never change a decision: they match
no question the gateway asks (:data:`CHECKS`), every request they allow is denied
by a deny line, or they grant a write where nobody holding their subject may read.
Such a line is at best dead weight and at worst a sign that its author meant
something else, so ``gateway policy validate`` names it with its line number.

Everything here is pure (a text or a :class:`Policy` in, problems out), so it is
tested as a table and can serve a pre-commit hook or an admin API alike.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from casbin.util import key_match

from gateway.domain.model import SpaceRole, StoreName, Visibility
from gateway.domain.permissions import (
    ADMIN_DOMAIN,
    EXTERNAL,
    KNOWN_ROLES,
    NEEDS_READ,
    PEOPLE,
    SELF,
    USER_PREFIX,
    Action,
    Persona,
    Resource,
    membership_resource,
)
from gateway.policies.policy import Effect, Policy, PolicyError, Rule, parse_domain, role_closure

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from gateway.policies.policy import RoleLink


class Severity(enum.StrEnum):
    ERROR = "error"  # the gateway refuses to load the policy
    WARNING = "warning"  # it loads, but the line never does what it says


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about one line (``line`` 0: the file as a whole)."""

    line: int
    severity: Severity
    reason: str
    # True when removing the line changes no decision at all (an advisory warning is False).
    dead: bool = False

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.severity.value}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Check:
    """One kind of question the gateway asks the policy: these objects, these actions, in
    people domains (``people/STORE``) or in space keys, asked for whom.

    ``invitee``: asked for someone being invited (roles ``employee`` or ``external``
    only, see ``inviteToSpace``), not for the caller. ``own``: the caller also holds
    ``self`` (their own profile, their own question). ``admin``: asked in the gateway's
    own domain (``*``), neither a space nor people.
    """

    objects: frozenset[str]
    actions: frozenset[str]
    people: bool
    invitee: bool = False
    own: bool = False
    admin: bool = False


def _values(*items: enum.StrEnum) -> frozenset[str]:
    return frozenset(item.value for item in items)


_MEMBERSHIPS = frozenset(membership_resource(role).value for role in SpaceRole)
# Read and every write on a space itself; invite and join are asked of memberships.
_SPACE_ACTIONS = frozenset(a.value for a in Action) - _values(
    Action.INVITE, Action.JOIN, Action.ADMINISTER
)

# Every question the gateway's code asks (Authorizer.scope / allows): kept next to the
# analysis so that a new kind of check is one line here; tests hold every action and
# resource to appear in it.
CHECKS: tuple[Check, ...] = (
    Check(_values(Resource.SPACE), _SPACE_ACTIONS, people=False),
    Check(_values(Resource.SPACE), _values(Action.ACCEPT), people=False, own=True),
    Check(
        _values(Resource.FEEDBACK_INTERNAL_NOTE),
        _values(Action.READ, Action.GIVE_FEEDBACK),
        people=False,
    ),
    Check(_MEMBERSHIPS, _values(Action.INVITE), people=False),
    Check(_MEMBERSHIPS, _values(Action.JOIN), people=False, invitee=True),
    Check(_values(Resource.PERSON), _values(Action.READ), people=True),
    Check(
        _values(Resource.PERSON_EMAIL, Resource.PERSON_DEPARTMENT),
        _values(Action.READ),
        people=True,
        own=True,
    ),
    Check(_values(Resource.POLICY), _values(Action.ADMINISTER), people=False, admin=True),
)

# The visibilities each store's spaces can have (see gateway.domain.model.Visibility): a domain
# naming another pair, such as community/open/*, matches no space there is.
STORE_VISIBILITIES: dict[StoreName, tuple[Visibility, ...]] = {
    StoreName.INTERNAL: (Visibility.OPEN, Visibility.RESTRICTED, Visibility.SHARED),
    StoreName.COMMUNITY: (
        Visibility.PUBLIC,
        Visibility.MEMBERS,
        Visibility.TRUSTED,
        Visibility.PRIVATE,
    ),
}

_NEEDS_READ = frozenset(a.value for a in NEEDS_READ)
_NEVER = "nobody writes where they cannot read, so this line never takes effect"


def check_text(text: str, source: str = "<memory>") -> tuple[Policy | None, list[Problem]]:
    """Parse ``text`` and analyse it: the policy (None when it has errors) and every problem
    in line order."""
    try:
        policy = Policy.parse(text, source=source)
    except PolicyError as exc:
        errors = [Problem(line, Severity.ERROR, reason) for line, reason in exc.located]
        # Warnings about the lines that do load save the author a second round trip; the
        # bad lines are blanked, not removed, so that line numbers stay the file's.
        bad = {line for line, _reason in exc.located}
        rest = "\n".join(
            "" if n in bad else raw for n, raw in enumerate(text.splitlines(), start=1)
        )
        found = errors + analyse(Policy.parse(rest, source=source))
        return None, sorted(found, key=lambda p: p.line)
    return policy, analyse(policy)


def analyse(policy: Policy) -> list[Problem]:
    """Warnings about a policy that loads: lines that never take effect, in line order."""
    analysis = _Analysis(policy)
    found = [*analysis.repeats()]
    for rule in policy.rules:
        never = analysis.never_asked(rule)
        if never is not None:
            found.append(Problem(rule.line, Severity.WARNING, never, dead=True))
            continue
        if rule.eft is Effect.DENY:
            continue
        shadowed = analysis.shadowed(rule)
        if shadowed is not None:
            found.append(Problem(rule.line, Severity.WARNING, shadowed, dead=True))
        unreadable = analysis.unreadable(rule)
        if unreadable is not None:
            reason, dead = unreadable
            found.append(Problem(rule.line, Severity.WARNING, reason, dead=dead))
    return sorted(found, key=lambda p: p.line)


class _Analysis:
    """The policy with what every check needs: role closures and representative domains.

    Domains are infinite (any slug), but a policy only tells apart the slugs it names:
    one space key per store, visibility and named slug, plus one slug it does not name,
    stands for every real space. So "every space in this domain" is a finite loop.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._closures: dict[str, frozenset[str]] = {}
        named = {p.slug for p in (parse_domain(r.dom) for r in policy.rules) if p.slug}
        fresh = "~"
        while fresh in named:
            fresh += "~"
        self.spaces = [
            f"{store.value}/{vis.value}/{slug}"
            for store, visibilities in STORE_VISIBILITIES.items()
            for vis in visibilities
            for slug in (*sorted(named), fresh)
        ]
        self.people = [f"{PEOPLE}/{store.value}" for store in StoreName]
        named_users = [r.sub for r in policy.rules] + [link.role for link in policy.links]
        users = {u for u in named_users if u.startswith(USER_PREFIX)}
        self._sources = sorted(KNOWN_ROLES | users)

    def closure(self, role: str) -> frozenset[str]:
        found = self._closures.get(role)
        if found is None:
            found = self._closures[role] = role_closure(self.policy.links, [role])
        return found

    def holders(self, sub: str) -> list[str]:
        """The roles a request can carry (personas, space roles, self, external, users)
        that give their holder ``sub``."""
        return [src for src in self._sources if sub in self.closure(src)]

    def domains(self, dom: str, check: Check) -> list[str]:
        """The representative domains of ``check``'s kind that ``dom`` matches."""
        candidates = self.people if check.people else self.spaces
        if check.admin:
            candidates = [ADMIN_DOMAIN]
        return [d for d in candidates if key_match(d, dom)]

    # --- the checks ------------------------------------------------------------
    def repeats(self) -> Iterator[Problem]:
        seen: dict[tuple[str, ...], int] = {}
        items: tuple[RoleLink | Rule, ...] = (*self.policy.links, *self.policy.rules)
        for item in items:
            key = (type(item).__name__, *item.casbin())
            first = seen.setdefault(key, item.line)
            if first != item.line:
                yield Problem(item.line, Severity.WARNING, f"repeats line {first}", dead=True)

    def asked(self, rule: Rule) -> list[tuple[Check, str, str]]:
        """Every (check, object, representative domain) at which ``rule`` can match."""
        points: list[tuple[Check, str, str]] = []
        holders = self.holders(rule.sub)
        for check in CHECKS:
            if rule.act not in check.actions or not _may_hold(check, holders):
                continue
            for obj in sorted(check.objects):
                if key_match(obj, rule.obj):
                    points.extend((check, obj, dom) for dom in self.domains(rule.dom, check))
        return points

    def never_asked(self, rule: Rule) -> str | None:
        """Why no request the gateway makes can match ``rule``, or None when one can."""
        if self.asked(rule):
            return None
        pattern = parse_domain(rule.dom)
        if not pattern.people and pattern.store and pattern.visibility:
            known = STORE_VISIBILITIES[pattern.store]
            if pattern.visibility not in known:
                names = ", ".join(v.value for v in known)
                return (
                    f"the {pattern.store.value} store has no {pattern.visibility.value} spaces "
                    f"(its visibilities: {names}): this line never matches"
                )
        by_object = [c for c in CHECKS if any(key_match(o, rule.obj) for o in c.objects)]
        by_action = [c for c in by_object if rule.act in c.actions]
        if not by_action:
            return _wrong_action(rule, by_object)
        by_domain = [c for c in by_action if self.domains(rule.dom, c)]
        if not by_domain:
            if by_action[0].admin:
                return (
                    f"{rule.obj} is asked only in domain '{ADMIN_DOMAIN}' (the gateway as a "
                    f"whole), never in {rule.dom}: this line never matches"
                )
            if by_action[0].people:
                return (
                    f"{rule.obj} is asked only in people/STORE domains, never in a space "
                    f"domain such as {rule.dom}: this line never matches"
                )
            return (
                f"{rule.obj} is asked only in spaces, never in a people/ domain: "
                "this line never matches"
            )
        return self._nobody_holds(rule, by_domain)

    def _nobody_holds(self, rule: Rule, checks: list[Check]) -> str:
        holders = self.holders(rule.sub)
        if rule.act == Action.JOIN.value:
            return (
                f"join is asked for the invitee alone, as {Persona.EMPLOYEE.value} or "
                f"{EXTERNAL} (with the roles those inherit), never as {rule.sub}: "
                "this line never matches"
            )
        if holders == [EXTERNAL]:
            return (
                f"{EXTERNAL} is held only by an invitee when join is asked, never for "
                f"{rule.act}: this line never matches"
            )
        if holders == [SELF]:
            return (
                f"{SELF} is held only for one's own profile fields (Person.email, "
                "Person.department) and for accepting an answer to one's own question: "
                "this line never matches"
            )
        if all(h in _SPACE_ROLES for h in holders) and all(c.people for c in checks):
            return (
                f"{rule.sub} comes from a membership in one space and never holds in a "
                "people/ domain: this line never matches"
            )
        return f"no principal holds {rule.sub} where this line applies: it never matches"

    def shadowed(self, rule: Rule) -> str | None:
        """Why every request ``rule`` allows is denied anyway, or None."""
        denies = [
            d
            for d in self.policy.rules
            if d.eft is Effect.DENY and d.act == rule.act and d.sub in self.closure(rule.sub)
        ]
        if not denies:
            return None
        used: list[int] = []
        for _check, obj, dom in self.asked(rule):
            by = next((d for d in denies if key_match(obj, d.obj) and key_match(dom, d.dom)), None)
            if by is None:
                return None
            used.append(by.line)
        return (
            f"shadowed: every request it allows is denied by {_lines(used)} (deny wins), "
            "so this line never takes effect"
        )

    def unreadable(self, rule: Rule) -> tuple[str, bool] | None:
        """Why a write ``rule`` grants cannot be used for want of read, and whether that
        holds for everyone (rather than for those who read through no other role); None
        when its subject reads there.

        Every write but create_space acts on a space found through the read scope.
        """
        if rule.act not in _NEEDS_READ or rule.sub == SELF:
            # ``self`` is only ever held next to the caller's own roles, which do the reading.
            return None
        spaces = [s for s in self.spaces if key_match(s, rule.dom)]
        reads = [
            r
            for r in self.policy.rules
            if r.act == Action.READ.value and key_match(Resource.SPACE.value, r.obj)
        ]
        allows = [r for r in reads if r.eft is Effect.ALLOW]
        if not any(key_match(d, r.dom) for d in spaces for r in allows):
            return f"no line grants read on any space in {rule.dom}: {_NEVER}", True
        mine = self.closure(rule.sub)
        denies = [r for r in reads if r.eft is Effect.DENY and r.sub in mine]
        denied_by = [next((r for r in denies if key_match(d, r.dom)), None) for d in spaces]
        if spaces and all(denied_by):
            lines = _lines(r.line for r in denied_by if r)
            reason = f"{rule.sub} is denied read on every space in {rule.dom} ({lines}): {_NEVER}"
            return reason, True
        if not any(key_match(d, r.dom) for d in spaces for r in allows if r.sub in mine):
            return (
                f"{rule.sub} (with the roles it inherits) reads no space in {rule.dom}, and "
                "nobody writes where they cannot read: this line takes effect only for "
                "principals who read there through another role",
                False,
            )
        return None


_SPACE_ROLES = frozenset(role.value for role in SpaceRole)
_PERSONAS = frozenset(p.value for p in Persona)


def _may_hold(check: Check, holders: Iterable[str]) -> bool:
    """Whether a request of ``check`` can carry one of ``holders``."""
    for src in holders:
        if check.invitee:
            if src in (Persona.EMPLOYEE.value, EXTERNAL):
                return True
            continue
        if src in _PERSONAS or src.startswith(USER_PREFIX):
            return True
        if src in _SPACE_ROLES and not check.people and not check.admin:
            return True  # memberships hold in their own space only, never in people/ domains
        if src == SELF and check.own:
            return True
    return False


def _wrong_action(rule: Rule, checks: list[Check]) -> str:
    if rule.act in (Action.INVITE.value, Action.JOIN.value):
        return (
            f"{rule.act} is asked only of Membership.ROLE objects (the role an invitation "
            f"hands out), never of {rule.obj}: this line never matches"
        )
    actions = sorted({a for c in checks for a in c.actions})
    either = " or ".join([", ".join(actions[:-1]), actions[-1]] if len(actions) > 1 else actions)
    return f"{rule.obj} is asked only with {either}, never with {rule.act}: this line never matches"


def _lines(numbers: Iterable[int]) -> str:
    unique = sorted(set(numbers))
    return ("line " if len(unique) == 1 else "lines ") + ", ".join(str(n) for n in unique)
