"""After any sequence of accepted changes (policy lines added and removed, memberships given
and ended), no declared invariant is broken: checked with Casbin's ``enforce()`` over the
whole population, not with the compiler the guard itself uses."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.config import REPO_POLICY
from gateway.domain.model import Membership, SpaceRole, StoreName
from gateway.domain.principal import Principal
from gateway.policies.admin.guard import membership_change
from gateway.policies.admin.impact import Subject, persona_subjects
from gateway.policies.compiler import PolicyIndex
from gateway.policies.explain import build_enforcer
from gateway.policies.invariants import Invariants, Kind, evaluate, worsened
from gateway.policies.policy import Effect, Policy, Rule

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
INVARIANTS = Invariants.parse(
    """
always, security_admin, *, policy, administer
never, partner, internal/restricted/*, space, read
never, external, internal/*, Feedback.internalNote, read
never, guest, internal/*, space, read
always, employee, internal/open/*, space, read
always, user:erin@corp.example, internal/shared/aurora, space, read
"""
)
SPACES = [
    "internal/open/engineering",
    "internal/restricted/falcon",
    "internal/shared/aurora",
    "community/public/help",
    "community/private/vip",
]


def _person(email: str, *roles: str) -> Principal:
    return Principal("test", email, email, True, email, frozenset(roles))


PEOPLE = [
    _person("paula@partner.example", "partner"),
    _person("erin@corp.example", "employee"),
    _person("carl@contractor.example", "contractor"),
    _person("sam@corp.example", "employee", "security_admin"),
]
BASE = Policy.from_file(REPO_POLICY)
# Erin is a member of Aurora from the start (the always line on her holds).
START = {"erin@corp.example": (("internal/shared/aurora", SpaceRole.MEMBER),)}

rules = st.builds(
    Rule,
    sub=st.sampled_from(
        [
            "partner",
            "employee",
            "guest",
            "external",
            "space_member",
            "space_guest",
            "contractor",
            "security_admin",
            "user:paula@partner.example",
        ]
    ),
    dom=st.sampled_from(
        [
            "*",
            "internal/*",
            "internal/restricted/*",
            "internal/shared/*",
            "internal/open/*",
            *SPACES,
        ]
    ),
    obj=st.sampled_from(["space", "Feedback.internalNote", "policy", "*"]),
    act=st.sampled_from(["read", "administer"]),
    eft=st.sampled_from(list(Effect)),
)
changes = st.one_of(
    st.tuples(st.just("add"), rules),
    st.tuples(st.just("remove"), st.integers(min_value=0, max_value=200)),
    st.tuples(
        st.just("member"),
        st.sampled_from([p.verified_email for p in PEOPLE]),
        st.sampled_from(SPACES),
        st.sampled_from(list(SpaceRole)),
    ),
    st.tuples(
        st.just("leave"),
        st.sampled_from([p.verified_email for p in PEOPLE]),
        st.sampled_from(SPACES),
    ),
)


def _subjects(held: dict[str, tuple[tuple[str, SpaceRole], ...]]) -> list[Subject]:
    out = []
    for person in PEOPLE:
        memberships = tuple(
            Membership(StoreName(key.split("/")[0]), "0", key, role)
            for key, role in held.get(person.verified_email or "", ())
        )
        out.append(Subject(person.id, person.with_memberships(memberships), "known"))
    return [*out, *persona_subjects()]


def _oracle_breaks(policy: Policy, subjects: list[Subject]) -> list[str]:
    """Every (invariant, principal, target) broken, by Casbin's enforce()."""
    found = []
    for subject in subjects:
        enforcer = build_enforcer(policy, subject.principal, NOW)
        for invariant in INVARIANTS.items:
            if not invariant.held_by(subject.principal):
                continue
            for obj in invariant.objects():
                for target in invariant.targets(obj, SPACES):
                    allowed = enforcer.enforce(subject.principal.id, target, obj, invariant.act)
                    if allowed is (invariant.kind is Kind.NEVER):
                        found.append(f"{invariant} {subject.name} {obj} {target}")
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(changes, max_size=8))
# The refusals each guard exists for, whatever the draw: a partner given a restricted space,
# Erin leaving the space she must always read, a partner granted restricted reads outright.
@example([("member", "paula@partner.example", "internal/restricted/falcon", SpaceRole.MEMBER)])
@example([("leave", "erin@corp.example", "internal/shared/aurora")])
@example([("add", Rule("partner", "internal/*", "space", "read", Effect.ALLOW))])
def test_no_sequence_of_accepted_changes_breaks_an_invariant(
    sequence: list[tuple[object, ...]],
) -> None:
    policy = BASE
    held = dict(START)
    assert _oracle_breaks(policy, _subjects(held)) == []
    for change in sequence:
        kind = change[0]
        if kind in ("add", "remove"):
            if kind == "add":
                rule = change[1]
                assert isinstance(rule, Rule)
                candidate = dataclasses.replace(policy, rules=(*policy.rules, rule))
            else:
                index = int(str(change[1])) % len(policy.rules)
                rules_left = policy.rules[:index] + policy.rules[index + 1 :]
                candidate = dataclasses.replace(policy, rules=rules_left)
            subjects = _subjects(held)
            before = evaluate(policy, INVARIANTS, subjects, SPACES, NOW)
            after = evaluate(candidate, INVARIANTS, subjects, SPACES, NOW)
            if not worsened(before, after):
                policy = candidate
        else:
            email, key = str(change[1]), str(change[2])
            kept = tuple(m for m in held.get(email, ()) if m[0] != key)
            given_role = (key, change[3]) if kind == "member" else None
            after_held = {**held, email: kept + ((given_role,) if given_role else ())}
            name = f"user:{email}"
            [before_subject] = [s for s in _subjects(held) if s.name == name]
            [after_subject] = [s for s in _subjects(after_held) if s.name == name]  # type: ignore[arg-type]
            pair = [(before_subject, after_subject)]
            if not membership_change(PolicyIndex(policy), INVARIANTS, pair, key, NOW):
                held = after_held  # type: ignore[assignment]
        assert _oracle_breaks(policy, _subjects(held)) == [], (policy.lines(), held)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(rules, max_size=6),
    st.lists(
        st.tuples(
            st.sampled_from([p.verified_email for p in PEOPLE]),
            st.sampled_from(SPACES),
            st.sampled_from(list(SpaceRole)),
        ),
        max_size=8,
    ),
)
def test_evaluate_finds_exactly_the_breaches_casbin_finds(
    added: list[Rule], given_roles: list[tuple[str | None, str, SpaceRole]]
) -> None:
    """``evaluate`` works out what holds where nobody is a member once per set of deciding
    roles, and memberships one by one: whatever the lines and memberships, it finds every
    breach Casbin's ``enforce()`` finds, no other, in the order of a subject-by-subject
    walk (principal, then object and target as the invariant lists them)."""
    policy = dataclasses.replace(BASE, rules=(*BASE.rules, *added))
    held: dict[str, tuple[tuple[str, SpaceRole], ...]] = {}
    for email, key, role in given_roles:
        held[email or ""] = (*held.get(email or "", ()), (key, role))
    subjects = _subjects(held)
    found = [
        f"{b.invariant} {breach.principal} {breach.obj} {breach.target}"
        for b in evaluate(policy, INVARIANTS, subjects, SPACES, NOW)
        for breach in b.breaches
    ]
    by_invariant = sorted(_oracle_breaks(policy, subjects), key=_invariant_position)
    assert found == by_invariant


def _invariant_position(line: str) -> int:
    """Where the invariant a breach line of :func:`_oracle_breaks` starts with is declared
    (a stable sort keeps the walk's order within one)."""
    return next(i for i, inv in enumerate(INVARIANTS.items) if line.startswith(f"{inv} "))
