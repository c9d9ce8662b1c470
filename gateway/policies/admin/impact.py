"""What a new policy would change: every decision it turns, for real principals and spaces.

Before a policy is put in force, an administrator wants to know who gains or loses
what, on the spaces that exist, not in the abstract. :func:`diff` takes principals
and spaces (the command reads them from the records database and the stores) and
compares the compiled decisions of the old and the new policy:

* on each space: every action on the space itself, through ``Authorizer.scope``
  (a write counts only where the space is readable too, as in the gateway: nobody
  writes where they cannot read), which roles one may ``invite`` to it, and the
  internal notes of its prototype feedback (internal spaces);
* per store: reading people, their email and their department;
* for invitees (``invitee:employee``, ``invitee:external``): which roles they may
  be given (``join``), since that is asked of the invitee, not of the inviter.

A field rule on a space (``Feedback.internalNote``) turns only where the principal can read
the space (under that policy): a note in a space they cannot see is nothing they gain or lose.

It is pure: no store or file is opened here.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.domain.model import SpaceRole, StoreName
from gateway.domain.permissions import (
    ADMIN_DOMAIN,
    EXTERNAL,
    NEEDS_READ,
    PEOPLE,
    Action,
    Persona,
    Resource,
    membership_resource,
)
from gateway.domain.principal import Principal
from gateway.policies.compiler import Authorizer, PolicyIndex
from gateway.policies.export import digest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime

    from gateway.domain.model import Space
    from gateway.policies.explain import Revocation
    from gateway.policies.policy import Policy


@dataclass(frozen=True, slots=True)
class Subject:
    """Someone whose decisions are compared: a name for the report, and the principal."""

    name: str  # user:EMAIL, persona:NAME, invitee:employee
    principal: Principal
    label: str  # what the summary groups by: the role set ("partner", "employee+moderator")
    # For someone the stores hold who never logged in: how their roles were judged
    # ("never logged in; judged as employee by their email's domain (corp.example)").
    judged: str | None = None
    # Their revoked invitations, newest first: what a denial there says ended.
    revoked: tuple[Revocation, ...] = ()

    @classmethod
    def known(cls, principal: Principal) -> Subject:
        """A principal the gateway has seen, with the roles its last token carried."""
        return cls(principal.id, principal, _label(principal.roles))

    @classmethod
    def never_logged_in(cls, principal: Principal, how: str) -> Subject:
        """Someone the stores hold who never logged in, with the roles judged for them."""
        return cls(principal.id, principal, _label(principal.roles), how)


def persona_subjects() -> list[Subject]:
    """One principal per persona holding nothing else: what a new user of that persona
    would get, whether or not one has been seen yet."""
    subjects = []
    for persona in Persona:
        principal = Principal.guest()
        if persona is not Persona.GUEST:
            roles = frozenset({persona.value})
            principal = Principal(None, None, None, False, persona.value, roles)
        subjects.append(Subject(f"persona:{persona.value}", principal, persona.value))
    return subjects


def invitee_subjects() -> list[Subject]:
    """The invitee of an invitation as ``inviteToSpace`` asks about them: a member of staff
    (``employee``) or anyone else (``external``); who they will log in as is not known."""
    return [
        Subject(
            f"invitee:{role}",
            Principal(None, f"invitee:{role}", None, False, role, frozenset({role})),
            f"invited {role}",
        )
        for role in (Persona.EMPLOYEE.value, EXTERNAL)
    ]


class Change(enum.StrEnum):
    GAINED = "gained"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Turn:
    """One decision the new policy turns: ``who`` gains or loses ``action`` on ``obj``
    in ``target`` (a space key, or ``people/STORE``)."""

    who: str
    label: str
    store: StoreName | None  # None: the gateway as a whole (administer)
    target: str
    action: str
    obj: str
    change: Change

    def as_dict(self) -> dict[str, str]:
        return {
            "principal": self.who,
            "roles": self.label,
            "store": self.store.value if self.store else "",
            "target": self.target,
            "action": self.action,
            "object": self.obj,
            "change": self.change.value,
        }


@dataclass(frozen=True, slots=True)
class Group:
    """Turns alike but for who and where: the summary's line."""

    label: str
    action: str
    obj: str
    store: StoreName | None
    change: Change
    who: frozenset[str]
    targets: frozenset[str]

    def __str__(self) -> str:
        n = len(self.who)
        if self.change is Change.GAINED:
            verb = "gains" if n == 1 else "gain"
        else:
            verb = "loses" if n == 1 else "lose"
        if self.obj == Resource.POLICY.value:
            return f"{n} {_noun(self.label, n)} {verb} {self.action} of the policy"
        what = self.action if self.obj == Resource.SPACE.value else f"{self.action} {self.obj}"
        if self.store is None or all(t.startswith(f"{PEOPLE}/") for t in self.targets):
            where = ", ".join(sorted(self.targets))
        else:
            where = _count(len(self.targets), f"{self.store.value} space")
        return f"{n} {_noun(self.label, n)} {verb} {what} on {where}"


@dataclass(frozen=True, slots=True)
class Impact:
    """Every decision a new policy turns, over these subjects and spaces."""

    old: Policy
    new: Policy
    subjects: int
    spaces: int
    turns: tuple[Turn, ...]

    def summary(self) -> list[Group]:
        groups: dict[tuple[str, str, str, StoreName | None, Change], list[Turn]] = defaultdict(list)
        for t in self.turns:
            groups[(t.label, t.action, t.obj, t.store, t.change)].append(t)
        return [
            Group(*key, frozenset(t.who for t in turns), frozenset(t.target for t in turns))
            for key, turns in sorted(groups.items(), key=lambda kv: _group_order(kv[0]))
        ]

    def as_text(self) -> str:
        lines = [
            f"impact of {self.new.source} (sha256 {digest(self.new)[:12]}) over "
            f"{self.old.source} (sha256 {digest(self.old)[:12]})",
            f"{_count(self.subjects, 'principal')}, {_count(self.spaces, 'space')}",
        ]
        if not self.turns:
            return "\n".join([*lines, "no decision changes"]) + "\n"
        lines += ["", "summary:", *(f"  {group}" for group in self.summary()), "", "details:"]
        rows = [(t.who, t.target, _what(t), t.change.value) for t in self.turns]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for row in rows:
            cells = [v.ljust(w) for v, w in zip(row, widths, strict=False)]
            lines.append("  " + "  ".join([*cells, row[3]]))
        return "\n".join(lines) + "\n"

    def as_json(self) -> str:
        document: dict[str, Any] = {
            "old": {"source": self.old.source, "sha256": digest(self.old)},
            "new": {"source": self.new.source, "sha256": digest(self.new)},
            "principals": self.subjects,
            "spaces": self.spaces,
            "summary": [
                {
                    "roles": g.label,
                    "action": g.action,
                    "object": g.obj,
                    "store": g.store.value if g.store else "",
                    "change": g.change.value,
                    "principals": len(g.who),
                    "targets": len(g.targets),
                    "text": str(g),
                }
                for g in self.summary()
            ],
            "changes": [t.as_dict() for t in self.turns],
        }
        return json.dumps(document, indent=2) + "\n"


def diff(
    old: Policy,
    new: Policy,
    subjects: Sequence[Subject],
    spaces: Sequence[Space],
    now: datetime,
) -> Impact:
    """Every decision that differs between ``old`` and ``new`` for these subjects (callers;
    the invitees are added here) on these spaces, in subject, target and action order."""
    indexes = (PolicyIndex(old), PolicyIndex(new))
    touched = _touched_actions(old, new)
    by_store: dict[StoreName, list[Space]] = defaultdict(list)
    for space in spaces:
        by_store[space.store].append(space)
    turns: list[Turn] = []
    for subject in subjects:
        both = _Both(subject, *(Authorizer(index, subject.principal, now) for index in indexes))
        turns.extend(both.caller_turns(touched, by_store))
    if Action.JOIN.value in touched:
        for subject in invitee_subjects():
            both = _Both(subject, *(Authorizer(index, subject.principal, now) for index in indexes))
            turns.extend(both.join_turns(spaces))
    turns.sort(key=lambda t: (t.who, t.target, t.action, t.obj))
    return Impact(old, new, len(subjects), len(spaces), tuple(turns))


def _touched_actions(old: Policy, new: Policy) -> frozenset[str]:
    """The actions whose decisions may differ: those whose lines differ (every action
    when the role hierarchy does), and every write that needs read when read does. The
    others are skipped whole, which keeps a small edit cheap on a large population."""
    everything = frozenset(a.value for a in Action)
    if {tuple(x.casbin()) for x in old.links} != {tuple(x.casbin()) for x in new.links}:
        return everything
    before = {tuple(r.casbin()) for r in old.rules}
    after = {tuple(r.casbin()) for r in new.rules}
    touched = {line[3] for line in before ^ after}
    if Action.READ.value in touched:
        touched |= {a.value for a in NEEDS_READ}
    return frozenset(touched)


_NOT_SPACE_ACTIONS = (Action.INVITE, Action.JOIN, Action.ADMINISTER)
_PERSON_OBJECTS = (Resource.PERSON, Resource.PERSON_EMAIL, Resource.PERSON_DEPARTMENT)
_NEEDS_READ = frozenset(a.value for a in NEEDS_READ)
# Fields of a space's content: seen only by those who read the space.
_ON_READABLE = frozenset({Resource.FEEDBACK_INTERNAL_NOTE.value})


@dataclass(frozen=True, slots=True)
class _Both:
    """One subject's authorizers under the old and the new policy."""

    subject: Subject
    old: Authorizer
    new: Authorizer

    def caller_turns(
        self, touched: frozenset[str], by_store: dict[StoreName, list[Space]]
    ) -> Iterator[Turn]:
        space_obj = Resource.SPACE.value
        if Action.ADMINISTER.value in touched:
            turn = self._turn(Resource.POLICY.value, ADMIN_DOMAIN, Action.ADMINISTER.value, None)
            if turn is not None:
                yield turn
        for action in Action:
            if action in _NOT_SPACE_ACTIONS or action.value not in touched:
                continue
            for store, spaces in by_store.items():
                if self._same_scopes(action.value, store):
                    continue  # equal compiled scopes decide every space of the store alike
                for space in spaces:
                    turn = self._turn(space_obj, space.key, action.value, store, space)
                    if turn is not None:
                        yield turn
        spaces = [s for store_spaces in by_store.values() for s in store_spaces]
        if Action.INVITE.value in touched:
            for space in spaces:
                for role in SpaceRole:
                    obj = membership_resource(role).value
                    turn = self._turn(obj, space.key, Action.INVITE.value, space.store, space)
                    if turn is not None:
                        yield turn
        for action in (Action.READ, Action.GIVE_FEEDBACK):
            if action.value not in touched:
                continue
            for space in by_store.get(StoreName.INTERNAL, ()):
                obj = Resource.FEEDBACK_INTERNAL_NOTE.value
                turn = self._turn(obj, space.key, action.value, space.store, space)
                if turn is not None:
                    yield turn
        if Action.READ.value in touched:
            for store in StoreName:
                for resource in _PERSON_OBJECTS:
                    dom = f"{PEOPLE}/{store.value}"
                    turn = self._turn(resource.value, dom, Action.READ.value, store)
                    if turn is not None:
                        yield turn
                    elif resource is not Resource.PERSON:
                        # Their own profile's field (role ``self``), where others' did not turn.
                        turn = self._turn(resource.value, dom, Action.READ.value, store, own=True)
                        if turn is not None:
                            yield turn
        if Action.ACCEPT.value in touched:
            # Accepting an answer to their own question (``self``), where neither accepting
            # others' nor reading turned (a read turn says it: ``self, *`` follows read).
            for space in spaces:
                obj, act = Resource.SPACE.value, Action.ACCEPT.value
                if (
                    self._turn(obj, space.key, act, space.store, space) is None
                    and self._turn(obj, space.key, Action.READ.value, space.store, space) is None
                ):
                    turn = self._turn(obj, space.key, act, space.store, space, own=True)
                    if turn is not None:
                        yield turn

    def join_turns(self, spaces: Sequence[Space]) -> Iterator[Turn]:
        for space in spaces:
            for role in SpaceRole:
                obj = membership_resource(role).value
                turn = self._turn(obj, space.key, Action.JOIN.value, space.store)
                if turn is not None:
                    yield turn

    def _same_scopes(self, action: str, store: StoreName) -> bool:
        same = self.old.scope(action).for_store(store) == self.new.scope(action).for_store(store)
        if same and action in _NEEDS_READ:
            return self._same_scopes(Action.READ.value, store)
        return same

    def _turn(
        self,
        obj: str,
        dom: str,
        act: str,
        store: StoreName | None,
        space: Space | None = None,
        *,
        own: bool = False,
    ) -> Turn | None:
        """The turn at one point, or None when both policies decide alike. With ``space``,
        a write also needs read of it. ``own``: asked of the subject's own profile or
        content (they also hold ``self``); the object is then reported as ``OBJ (own)``."""
        before, after = (_decide(a, obj, dom, act, space, own) for a in (self.old, self.new))
        if before == after:
            return None
        return Turn(
            self.subject.name,
            self.subject.label,
            store,
            dom,
            act,
            f"{obj} (own)" if own else obj,
            Change.GAINED if after else Change.LOST,
        )


def _decide(
    authorizer: Authorizer, obj: str, dom: str, act: str, space: Space | None, own: bool = False
) -> bool:
    if space is not None and obj == Resource.SPACE.value and not own:
        allowed = authorizer.scope(act).admits(space)
    else:
        allowed = authorizer.allows(obj, dom, act, own=own)
    if allowed and space is not None and (act in _NEEDS_READ or obj in _ON_READABLE):
        # Nobody writes where they cannot read: the write's target is found through it.
        # Nor sees a field of content in a space they cannot read: a field rule there
        # changes nothing for them, so it is no turn of theirs.
        allowed = authorizer.scope(Action.READ.value).admits(space)
    return allowed


def _group_order(key: tuple[str, str, str, StoreName | None, Change]) -> tuple[str, ...]:
    label, action, obj, store, change = key
    return label, action, obj, store.value if store else "", change.value


def _label(roles: frozenset[str]) -> str:
    return "+".join(sorted(roles))


def _noun(label: str, n: int) -> str:
    s = "" if n == 1 else "s"
    if not label:
        return f"principal{s} with no persona"
    if "+" in label:
        return f"principal{s} with {label}"
    return f"{label}{s}"


def _what(turn: Turn) -> str:
    return turn.action if turn.obj == Resource.SPACE.value else f"{turn.action} {turn.obj}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
