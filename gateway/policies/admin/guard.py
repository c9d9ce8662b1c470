"""The invariants checked where access changes: over the real population, or over the
principals one write would change.

A policy change is judged over everyone who-can walks (:func:`population.gather`: the
principals the gateway has seen with their memberships, a newcomer per persona), plus
each ``user:EMAIL`` an invariant names that is not among them (with the memberships the
stores hold for that email), and every space. A write that grants or ends a membership
(an invitation, its binding at login, removing a member) is judged over the principals
it would change, in the one space it changes: a membership decides nothing elsewhere;
a new space, over everyone the gateway has seen and a newcomer per persona, by role
(nobody holds a membership of it yet but its owner). Only the breaches a write or a
change adds refuse it: what the state already broke (an invariant added with
``--allow-broken``) is reported, not held against every change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.domain.model import Membership, SpaceRole
from gateway.domain.permissions import EXTERNAL, USER_PREFIX, Persona
from gateway.domain.principal import Principal
from gateway.policies.admin import population
from gateway.policies.admin.impact import Subject, persona_subjects
from gateway.policies.invariants import (
    Broken,
    InvariantError,
    Invariants,
    evaluate,
    worsened,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gateway.domain.model import Space, StoreName
    from gateway.policies.compiler import PolicyIndex
    from gateway.policies.invariants import InvariantSource
    from gateway.policies.policy import Policy
    from gateway.records import Records
    from gateway.stores.interface import Store


def named_user(email: str) -> Principal:
    """A principal for ``user:EMAIL`` as a login with no persona would give."""
    return Principal(None, email, email, True, email, frozenset())


async def subjects_of(
    stores: dict[StoreName, Store],
    invariants: Invariants,
    found: population.Population,
) -> list[Subject]:
    """``found``'s subjects, and a principal for each ``user:`` an invariant names that the
    gateway has not seen (with the memberships the stores hold for that email)."""
    subjects = list(found.subjects)
    seen = {s.name for s in subjects}
    for sub in sorted({i.subject for i in invariants.items if i.subject.startswith(USER_PREFIX)}):
        if sub not in seen:
            email = sub.removeprefix(USER_PREFIX)
            principal = await population.with_memberships(stores, named_user(email))
            subjects.append(Subject(sub, principal, "named user"))
    return subjects


async def check_state(
    policy: Policy | PolicyIndex,
    invariants: Invariants,
    stores: dict[StoreName, Store],
    records: Records,
    now: datetime | None = None,
) -> tuple[list[Broken], population.Population]:
    """Every invariant ``policy`` breaks over the population now, and that population."""
    found = await population.gather(stores, records)
    subjects = as_bound(await subjects_of(stores, invariants, found))
    return evaluate(policy, invariants, subjects, found.spaces, now), found


def invitee_subjects(email: str, staff: bool, known: Sequence[Principal]) -> list[Subject]:
    """Who an invitee may turn out to be when they log in: the principals the gateway has
    seen with that email, and (for an email it has not seen) a newcomer of each persona
    their email could carry: ``employee`` for the organisation's domains, every other
    persona but ``guest`` (and ``external``) for the rest."""
    email = email.lower()
    seen = [p for p in known if p.verified_email == email]
    if seen:
        return [Subject(f"{p.id}", p, "invitee") for p in seen]
    if staff:
        personas = [Persona.EMPLOYEE.value]
    else:
        # Never the anonymous guest: an invitation binds to a verified email at login.
        personas = [p.value for p in Persona if p not in (Persona.EMPLOYEE, Persona.GUEST)]
    subjects = [
        Subject(
            f"{USER_PREFIX}{email} (as {role})",
            Principal(None, email, email, True, email, frozenset({role})),
            "invitee",
        )
        for role in personas
    ]
    if not staff:
        subjects.append(
            Subject(
                f"{USER_PREFIX}{email} (as {EXTERNAL})",
                Principal(None, email, email, True, email, frozenset({EXTERNAL})),
                "invitee",
            )
        )
    return subjects


def _in(space_key: str, found: Sequence[Broken]) -> list[Broken]:
    """``found`` narrowed to one space: what a membership there can change."""
    out = []
    for broken in found:
        here = tuple(b for b in broken.breaches if b.target == space_key)
        if here:
            out.append(Broken(broken.invariant, here))
    return out


def membership_change(
    policy: PolicyIndex,
    invariants: Invariants,
    changes: Sequence[tuple[Subject, Subject]],
    space_key: str,
    now: datetime,
) -> list[Broken]:
    """The breaches in ``space_key`` that each (before, after) pair of one principal adds:
    a membership decides nothing outside its space, and what the state already broke is
    not this write's doing."""
    before = evaluate(policy, invariants, [b for b, _a in changes], [space_key], now)
    after = evaluate(policy, invariants, [a for _b, a in changes], [space_key], now)
    return worsened(_in(space_key, before), _in(space_key, after))


async def check_membership(
    policy: PolicyIndex,
    invariants: Invariants,
    stores: dict[StoreName, Store],
    subjects: Sequence[Subject],
    space: Space,
    role: SpaceRole,
    expires_at: datetime | None,
    now: datetime | None = None,
) -> list[Broken]:
    """The invariants broken in ``space`` if each of ``subjects`` held ``role`` there (besides
    the memberships the stores hold for them, invitations counted as bound), under
    ``policy``."""
    at = now or datetime.now(UTC)
    granted = Membership(space.store, space.id, space.key, role, expires_at)
    changes = []
    read: dict[str | None, tuple[Membership, ...]] = {}  # by email: the invitee's are read once
    for subject in subjects:
        email = subject.principal.verified_email
        if email not in read:
            found = await population.with_memberships(stores, subject.principal)
            read[email] = found.memberships
        held = subject.principal.with_memberships(_bound(read[email]))
        given = held.with_memberships((*held.memberships, granted))
        changes.append(
            (
                Subject(subject.name, held, subject.label),
                Subject(subject.name, given, subject.label),
            )
        )
    return membership_change(policy, invariants, changes, space.key, at)


def _bound(memberships: Sequence[Membership]) -> tuple[Membership, ...]:
    """Invitations not bound yet counted as bound: they will be at the invitee's next login."""
    return tuple(dataclasses.replace(m, pending=False) if m.pending else m for m in memberships)


def as_bound(subjects: Sequence[Subject]) -> list[Subject]:
    return [
        dataclasses.replace(
            s, principal=s.principal.with_memberships(_bound(s.principal.memberships))
        )
        if any(m.pending for m in s.principal.memberships)
        else s
        for s in subjects
    ]


async def invitation_breaks(
    invariants: InvariantSource,
    policy: PolicyIndex,
    stores: dict[StoreName, Store],
    records: Records,
    invitation: Grant,
    now: datetime,
) -> list[str]:
    """Why giving ``invitation``'s invitee its role in its space would break an invariant,
    one message each (the invariant, a principal, the space); empty when it would not."""
    try:
        declared = invariants.read()
    except InvariantError as exc:
        return [f"the invariants do not load, so no access can be granted: {exc}"]
    if not declared.items:
        return []
    email = invitation.email.lower()
    known = await records.known_principal(f"{USER_PREFIX}{email}")
    subjects = invitee_subjects(email, invitation.staff, [known] if known else [])
    broken = await check_membership(
        policy,
        declared,
        stores,
        subjects,
        invitation.space,
        invitation.role,
        invitation.expires_at,
        now,
    )
    return [b.message() for b in broken]


@dataclass(frozen=True, slots=True)
class Grant:
    """A membership a write would give: to whom (by email), where, as what, until when."""

    email: str
    staff: bool  # the email is of the organisation's domains
    space: Space
    role: SpaceRole
    expires_at: datetime | None = None


async def binding_breaks(
    invariants: InvariantSource,
    policy: PolicyIndex,
    principal: Principal,
    memberships: Sequence[Membership],
    now: datetime,
) -> list[str]:
    """Why binding ``principal``'s waiting invitations (among ``memberships``, all the
    stores hold for them) at login would break an invariant; empty when it would not."""
    try:
        declared = invariants.read()
    except InvariantError as exc:
        return [f"the invariants do not load, so no access can be granted: {exc}"]
    waiting = sorted({m.space_key for m in memberships if m.pending})
    if not declared.items or not waiting:
        return []
    held = principal.with_memberships(tuple(m for m in memberships if not m.pending))
    bound = principal.with_memberships(_bound(memberships))
    messages = []
    for key in waiting:
        change = (Subject(principal.id, held, "invitee"), Subject(principal.id, bound, "invitee"))
        messages += [b.message() for b in membership_change(policy, declared, [change], key, now)]
    return messages


async def removal_breaks(
    invariants: InvariantSource,
    policy: PolicyIndex,
    stores: dict[StoreName, Store],
    records: Records,
    email: str,
    space: Space,
    now: datetime,
) -> list[str]:
    """Why ending ``email``'s membership of ``space`` would break an invariant (an
    ``always`` they hold through it, a ``never`` a deny of that role kept from them)."""
    try:
        declared = invariants.read()
    except InvariantError as exc:
        return [f"the invariants do not load, so no membership can change: {exc}"]
    if not declared.items:
        return []
    email = email.lower()
    known = await records.known_principal(f"{USER_PREFIX}{email}") or named_user(email)
    principal = await population.with_memberships(stores, known)
    held = principal.with_memberships(_bound(principal.memberships))
    left = held.with_memberships(tuple(m for m in held.memberships if m.space_key != space.key))
    change = (Subject(held.id, held, "member"), Subject(held.id, left, "member"))
    return [b.message() for b in membership_change(policy, declared, [change], space.key, now)]


async def new_space_breaks(
    invariants: InvariantSource,
    policy: PolicyIndex,
    records: Records,
    creator: Principal,
    space: Space,
    now: datetime,
) -> list[str]:
    """Why a space created with ``space``'s key (its store, visibility and slug), with
    ``creator`` as its owner, would break an invariant for anyone: the principals the
    gateway has seen and a newcomer of each persona, by their roles (nobody else holds a
    membership of a space that does not exist yet)."""
    try:
        declared = invariants.read()
    except InvariantError as exc:
        return [f"the invariants do not load, so no space can be created: {exc}"]
    if not declared.items:
        return []
    owner = Membership(space.store, "", space.key, SpaceRole.OWNER)
    subjects = [Subject(creator.id, creator.with_memberships((owner,)), "owner")]
    subjects += [Subject(p.id, p, "known") for p in await records.known_principals()]
    subjects += persona_subjects()
    broken = evaluate(policy, declared, subjects, [space.key], now)
    return [b.message() for b in _in(space.key, broken)]
