"""Policy validation: a table of policies and the problems each must (and must only) raise,
and a property test that every line called dead really changes no decision."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.model import Membership, SpaceRole, StoreName
from gateway.domain.permissions import (
    EXTERNAL,
    KNOWN_ROLES,
    NEEDS_READ,
    Action,
    Persona,
    Resource,
)
from gateway.domain.principal import Principal
from gateway.policies.compiler import Authorizer, PolicyIndex
from gateway.policies.policy import Policy
from gateway.policies.validate import CHECKS, Severity, _Analysis, check_text

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
DEFAULT_POLICY = Path(__file__).parents[2] / "policies.csv"

W, E = Severity.WARNING, Severity.ERROR

# (policy text, [(line, severity, words the reason contains)]): every problem, no more.
CASES: list[tuple[str, str, list[tuple[int, Severity, str]]]] = [
    ("clean", "p, employee, internal/*, space, read, allow\n", []),
    ("an administrator", "p, security_admin, *, policy, administer, allow\n", []),
    (
        "administer asked only in the gateway's domain",
        "p, security_admin, internal/*, policy, administer, allow",
        [(1, W, "policy is asked only in domain '*'")],
    ),
    (
        "administer never comes from a membership",
        "p, space_owner, *, policy, administer, allow",
        [(1, W, "no principal holds space_owner where this line applies")],
    ),
    (
        "policy is asked only with administer",
        "p, employee, *, policy, read, allow",
        [(1, W, "policy is asked only with administer, never with read")],
    ),
    (
        "comments and blank lines keep their line numbers",
        "# header\n\np, guest, internal/open/*, Person, read, allow\n",
        [(3, W, "Person is asked only in people/STORE domains")],
    ),
    (
        "a person object in a space domain",
        "p, guest, internal/*, Person.*, read, allow",
        [(1, W, "Person.* is asked only in people/STORE domains, never in a space domain")],
    ),
    (
        "a space field in a people domain",
        "p, employee, people/*, Feedback.internalNote, read, allow",
        [(1, W, "Feedback.internalNote is asked only in spaces, never in a people/ domain")],
    ),
    (
        "a field that the people domain does hold is fine",
        "p, employee, people/internal, Person.department, read, allow",
        [],
    ),
    (
        "invite of a space",
        "p, space_owner, internal/*, space, invite, allow",
        [(1, W, "invite is asked only of Membership.ROLE objects")],
    ),
    (
        "join of a person",
        "p, employee, *, Person, join, allow",
        [(1, W, "join is asked only of Membership.ROLE objects")],
    ),
    (
        "a membership read",
        "p, employee, internal/*, Membership.space_guest, read, allow",
        [(1, W, "Membership.space_guest is asked only with invite or join, never with read")],
    ),
    (
        "a pattern matching every object is asked somewhere",
        "p, employee, internal/*, *, join, allow",
        [],
    ),
    (
        "join for a role no invitee holds",
        "p, partner, internal/shared/*, Membership.space_guest, join, allow",
        [(1, W, "join is asked for the invitee alone, as employee or external")],
    ),
    (
        "join for a role employees inherit",
        "g, employee, guest, *\np, guest, internal/shared/*, Membership.space_guest, join, allow",
        [],
    ),
    (
        "external outside join",
        "p, external, internal/shared/*, space, read, allow",
        [(1, W, "external is held only by an invitee when join is asked")],
    ),
    (
        "self outside its checks",
        "p, self, *, space, read, allow",
        [(1, W, "self is held only for one's own profile fields")],
    ),
    (
        "self on its own email and accepting answers",
        "p, self, people/*, Person.email, read, allow\np, self, *, space, accept, allow",
        [],
    ),
    (
        "a role inheriting self holds it everywhere",
        "g, employee, self, *\np, self, *, space, read, allow",
        [],
    ),
    (
        "a space role in a people domain",
        "p, space_member, people/*, Person, read, allow",
        [(1, W, "space_member comes from a membership in one space")],
    ),
    (
        "a visibility the store does not have",
        "p, guest, community/open/*, space, read, allow",
        [(1, W, "the community store has no open spaces")],
    ),
    (
        "an allow shadowed by a deny for the same subject",
        "p, contractor, internal/restricted/*, space, read, deny\n"
        "p, contractor, internal/restricted/x, space, read, allow",
        [(2, W, "shadowed: every request it allows is denied by line 1")],
    ),
    (
        "an allow shadowed by a deny for an inherited subject",
        "g, member, guest, *\n"
        "p, guest, community/*, space, ask, deny\n"
        "p, member, community/public/*, space, ask, allow\n"
        "p, member, community/*, space, read, allow",
        [(3, W, "denied by line 2 (deny wins)")],
    ),
    (
        "an allow shadowed only by two denies together",
        "p, employee, people/*, Person.*, read, allow\n"
        "p, employee, people/*, Person.email, read, deny\n"
        "p, employee, people/*, Person.department, read, deny",
        [(1, W, "denied by lines 2, 3")],
    ),
    (
        "a deny that covers part of an allow is not a shadow",
        "p, employee, internal/*, space, read, allow\n"
        "p, employee, internal/restricted/*, space, read, deny",
        [],
    ),
    (
        "a deny for a role the subject does not inherit is not a shadow",
        "p, guest, community/*, space, read, deny\np, employee, community/*, space, read, allow",
        [],
    ),
    (
        "a write where nobody reads",
        "p, employee, internal/*, space, ask, allow",
        [(1, W, "no line grants read on any space in internal/*: nobody writes where they")],
    ),
    (
        "a write where its subject is denied read",
        "p, contractor, internal/restricted/*, space, read, deny\n"
        "p, space_member, internal/restricted/*, space, read, allow\n"
        "p, contractor, internal/restricted/*, space, answer, allow",
        [(3, W, "contractor is denied read on every space in internal/restricted/* (line 1)")],
    ),
    (
        "a write where its subject is denied read in part only",
        "p, contractor, internal/restricted/*, space, read, deny\n"
        "p, contractor, internal/*, space, read, allow\n"
        "p, contractor, internal/*, space, answer, allow",
        [],
    ),
    (
        "a write where only other roles read",
        "p, member, community/*, space, read, allow\np, moderator, community/*, space, moderate",
        [(2, W, "moderator (with the roles it inherits) reads no space in community/*")],
    ),
    (
        "a write read through an inherited role",
        "g, community_manager, member, *\n"
        "p, member, community/public/*, space, read, allow\n"
        "p, community_manager, community/*, space, moderate, allow",
        [],
    ),
    (
        "creating a space needs no read",
        "p, employee, internal/*, space, create_space, allow",
        [],
    ),
    (
        "writing an internal note needs read of the space",
        "p, employee, internal/*, Feedback.internalNote, give_feedback, allow",
        [(1, W, "no line grants read on any space in internal/*")],
    ),
    (
        "a repeated line",
        "p, guest, community/public/*, space, read, allow\n"
        "g, member, guest, *\n"
        "p, guest, community/public/*, space, read\n"
        "g, member, guest, *",
        [(3, W, "repeats line 1"), (4, W, "repeats line 2")],
    ),
    (
        "errors, with warnings about the lines that load",
        "p, partner, internal/*, space, raed, allow\n"
        "p, guest, internal/*, Person, read, allow\n"
        "g, member, guest, internal/*\n",
        [
            (1, E, "unknown action 'raed'"),
            (2, W, "Person is asked only in people/STORE domains"),
            (3, E, "role links hold in every space"),
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_problems(text: str, expected: list[tuple[int, Severity, str]]) -> None:
    policy, problems = check_text(text, "p.csv")
    got = [(p.line, p.severity) for p in problems]
    assert got == [(line, severity) for line, severity, _ in expected], problems
    for problem, (_, _, words) in zip(problems, expected, strict=True):
        assert words in problem.reason, problem.reason
    assert (policy is None) == any(p.severity is E for p in problems)


def test_problem_format_names_file_and_line() -> None:
    _, [problem] = check_text("p, guest, internal/*, Person, read, allow", "team.csv")
    assert problem.format("team.csv").startswith("team.csv:1: warning: Person is asked")


def test_the_default_policy_has_no_errors_and_no_dead_lines() -> None:
    policy, problems = check_text(DEFAULT_POLICY.read_text(), str(DEFAULT_POLICY))
    assert policy is not None
    assert [p for p in problems if p.severity is E or p.dead] == []


def test_every_action_and_resource_is_asked_somewhere() -> None:
    assert {a for c in CHECKS for a in c.actions} == {a.value for a in Action}
    assert {o for c in CHECKS for o in c.objects} == {r.value for r in Resource}


# --- the property: removing every dead line changes no decision ---------------------

# Few subjects, so that the caller often holds a line's subject and lines often collide.
PERSONAS = ["contractor", "employee", "guest", "member"]
SUBJECTS = [*PERSONAS, "self", "external", "space_member", "space_owner", "user:me@example.test"]
DOMAINS = [
    "*",
    "internal/*",
    "community/*",
    "internal/open/*",
    "internal/restricted/*",
    "internal/shared/*",
    "internal/shared/a",
    "internal/restricted/a",
    "community/public/*",
    "community/private/b",
    "community/open/*",
    "people/*",
    "people/internal",
]
OBJECTS = [
    "space",
    "*",
    "Person",
    "Person.*",
    "Person.email",
    "Feedback.internalNote",
    "Membership.*",
    "Membership.space_guest",
]
ACTIONS = ["read", "ask", "accept", "invite", "join", "create_space", "moderate"]


@st.composite
def policy_lines(draw: st.DrawFn) -> list[str]:
    """Lines drawn from a small palette of each column, so that they often overlap (an allow
    and a deny on the same action, a write and a read in the same domain)."""

    def palette(values: list[str], most: int) -> st.SearchStrategy[str]:
        return st.sampled_from(draw(st.lists(st.sampled_from(values), min_size=1, max_size=most)))

    rules = st.builds(
        "p, {}, {}, {}, {}, {}".format,
        palette(SUBJECTS, 3),
        palette(DOMAINS, 3),
        palette(OBJECTS, 2),
        palette(ACTIONS, 2).flatmap(lambda a: st.sampled_from([a, "read"])),
        st.sampled_from(["allow", "allow", "deny"]),
    )
    links = st.builds(
        "g, {}, {}, *".format, st.sampled_from(SUBJECTS), st.sampled_from(sorted(KNOWN_ROLES))
    )
    return draw(st.lists(st.one_of(rules, rules, links), max_size=10))


memberships = st.builds(
    Membership,
    store=st.just(StoreName.INTERNAL),
    space_id=st.just("0"),
    space_key=st.sampled_from(
        ["internal/shared/a", "internal/restricted/a", "internal/open/z", "community/private/b"]
    ),
    role=st.sampled_from(list(SpaceRole)),
)
callers = st.builds(
    Principal,
    issuer=st.just("test"),
    subject=st.just("me"),
    email=st.just("me@example.test"),
    email_verified=st.just(True),
    display_name=st.just("Me"),
    roles=st.frozensets(st.sampled_from(PERSONAS), max_size=2),
    memberships=st.lists(memberships, max_size=3).map(tuple),
)
_NEEDS_READ = {a.value for a in NEEDS_READ}


def _invitee(role: str) -> Principal:
    """The invitee as ``inviteToSpace`` builds it."""
    return Principal(None, "them@example.test", None, False, "them", frozenset({role}))


def _callers(caller: Principal, spaces: list[str]) -> list[Principal]:
    """The drawn caller, one caller per persona, and one per space role held everywhere."""
    fixed = [
        dataclasses.replace(caller, roles=frozenset({p.value}), memberships=()) for p in Persona
    ]
    for role in SpaceRole:
        held = tuple(Membership(StoreName(k.split("/")[0]), "0", k, role) for k in spaces)
        fixed.append(dataclasses.replace(caller, roles=frozenset(), memberships=held))
    return [caller, *fixed]


def _decisions(policy: Policy, callers: list[Principal], points: list[str]) -> dict[tuple, bool]:
    index = PolicyIndex(policy)
    invitees = [Authorizer(index, _invitee(r), NOW) for r in (Persona.EMPLOYEE.value, EXTERNAL)]
    out: dict[tuple, bool] = {}
    for check in CHECKS:
        for obj in sorted(check.objects):
            for act in sorted(check.actions):
                for dom in points:
                    if dom.startswith("people/") != check.people:
                        continue
                    if check.invitee:
                        for n, who in enumerate(invitees):
                            out[("invitee", n, obj, act, dom)] = who.allows(obj, dom, act)
                        continue
                    for n, caller in enumerate(callers):
                        me = Authorizer(index, caller, NOW)
                        # What the caller can do: a write also needs read of its space.
                        allowed = me.allows(obj, dom, act, own=check.own) and (
                            act not in _NEEDS_READ or me.allows("space", dom, "read")
                        )
                        out[("caller", n, obj, act, dom, check.own)] = allowed
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_lines(), callers)
def test_dead_lines_change_no_decision(text_lines: list[str], caller: Principal) -> None:
    text = "\n".join(text_lines)
    policy, problems = check_text(text)
    assert policy is not None
    dead = {p.line for p in problems if p.dead}
    kept = "\n".join("" if n in dead else line for n, line in enumerate(text_lines, start=1))
    analysis = _Analysis(policy)
    points = [*analysis.spaces, *analysis.people]
    everyone = _callers(caller, analysis.spaces)
    stripped = Policy.parse(kept)
    assert _decisions(stripped, everyone, points) == _decisions(policy, everyone, points), (
        text,
        sorted(dead),
    )
