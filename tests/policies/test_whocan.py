"""Who can act on a space and why: the reasons name the right line and membership, and agree
with Casbin's explain() (the oracle) for every subject and space, in hand-made and random
worlds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gateway.policies.admin.whocan as whocan_module
from gateway.domain.model import Membership, Space, SpaceKind, SpaceRole, StoreName, Visibility
from gateway.domain.permissions import KNOWN_ROLES, NEEDS_READ, Action, Persona
from gateway.domain.principal import Principal
from gateway.policies.admin.impact import Subject, persona_subjects
from gateway.policies.admin.whocan import SPACE_ACTIONS, Decision, Verdict, WhoCan, who_can
from gateway.policies.compiler import Authorizer, PolicyIndex
from gateway.policies.explain import Explainer
from gateway.policies.policy import Effect, Policy, RoleLink, Rule
from tests.policies.test_compiler_oracle import (
    ACTIONS,
    ALL_SPACES,
    ME,
    NOW,
    ROLES,
    _fix_membership_stores,
    domains,
    memberships,
)

POLICY = PolicyIndex(Policy.from_file(Path(__file__).parents[2] / "policies.csv"))


def _space(key: str, name: str | None = None) -> Space:
    store, visibility, slug = key.split("/")
    return Space(
        StoreName(store), slug, slug, SpaceKind.GROUP, name or slug, "", Visibility(visibility)
    )


SPACES = [
    _space(k)
    for k in (
        "internal/open/handbook",
        "internal/restricted/falcon",
        "internal/shared/aurora",
        "community/public/ideas",
        "community/trusted/champions",
    )
]
AURORA = "internal/shared/aurora"
EXPIRES = NOW + timedelta(days=30)


def _user(email: str, roles: set[str], *memberships: Membership) -> Subject:
    principal = Principal("test", email, email, True, email, frozenset(roles), None, memberships)
    return Subject.known(principal)


NINA = _user(
    "nina@partner.example",
    {"partner"},
    Membership(StoreName.INTERNAL, "3", AURORA, SpaceRole.GUEST, EXPIRES),
)
CARL = _user("carl@contractor.example", {"contractor"})
OMAR = _user(
    "omar@corp.example",
    {"employee"},
    Membership(StoreName.INTERNAL, "2", "internal/restricted/falcon", SpaceRole.OWNER),
)


def _decision(report: WhoCan, who: str, key: str) -> Decision:
    row = next(r for r in report.rows if r.subject.name == who)
    return row.decisions[[s.key for s in report.spaces].index(key)]


def _line(text: str) -> int:
    """The line number of ``text`` in the default policy."""
    return next(r.line for r in POLICY.policy.rules if str(r) == text)


def test_a_persona_grant_names_its_line() -> None:
    report = who_can(POLICY, persona_subjects(), SPACES, NOW)
    employee = _decision(report, "persona:employee", "internal/open/handbook")
    assert employee.allowed
    assert employee.verdict is Verdict.ALLOWED
    assert employee.rule is not None
    assert employee.rule.line == _line("p, employee, internal/open/*, space, read, allow")
    assert employee.via is None
    assert employee.why("policies.csv") == (
        f"allowed by policies.csv:{employee.rule.line}: p, employee, internal/open/*, space, "
        "read, allow"
    )
    # A line of an inherited role: members read public spaces because members are guests.
    member = _decision(report, "persona:member", "community/public/ideas")
    assert member.rule is not None and str(member.rule).startswith("p, guest, community/public/*")


def test_a_membership_grant_names_the_line_and_the_membership() -> None:
    report = who_can(POLICY, [NINA], SPACES, NOW)
    nina = _decision(report, "user:nina@partner.example", AURORA)
    assert nina.allowed
    assert nina.verdict is Verdict.MEMBERSHIP
    assert nina.rule is not None
    assert nina.rule.line == _line("p, space_guest, internal/shared/*, space, read, allow")
    assert nina.via is not None
    assert (nina.via.role, nina.via.space_key, nina.via.expires_at) == (
        SpaceRole.GUEST,
        AURORA,
        EXPIRES,
    )
    assert nina.why("policies.csv").endswith(
        f"via space_guest in {AURORA}, expires {EXPIRES:%Y-%m-%d %H:%M UTC}"
    )
    # Her partner persona alone reads the public community spaces, nothing internal.
    assert [(s.key, d.verdict) for s, d in zip(SPACES, report.rows[0].decisions, strict=True)] == [
        ("internal/open/handbook", Verdict.DENIED),
        ("internal/restricted/falcon", Verdict.DENIED),
        (AURORA, Verdict.MEMBERSHIP),
        ("community/public/ideas", Verdict.ALLOWED),
        ("community/trusted/champions", Verdict.DENIED),
    ]


def test_an_owner_reads_through_the_member_line_their_role_inherits() -> None:
    report = who_can(POLICY, [OMAR], SPACES, NOW)
    falcon = _decision(report, "user:omar@corp.example", "internal/restricted/falcon")
    assert falcon.verdict is Verdict.MEMBERSHIP
    assert falcon.rule is not None and falcon.rule.sub == "space_member"
    assert falcon.via is not None and falcon.via.role is SpaceRole.OWNER


def test_access_that_ended_is_explained_as_such_and_agrees_with_explain() -> None:
    ended = NOW - timedelta(days=11)
    gone = _user(
        "nina@partner.example",
        {"partner"},
        Membership(StoreName.INTERNAL, "3", AURORA, SpaceRole.GUEST, ended),
        # Invited to falcon, not bound yet (never logged in since): it grants nothing.
        Membership(
            StoreName.INTERNAL, "2", "internal/restricted/falcon", SpaceRole.GUEST, pending=True
        ),
    )
    report = who_can(POLICY, [gone], SPACES, NOW)
    aurora = _decision(report, gone.name, AURORA)
    assert (aurora.allowed, aurora.rule, aurora.via) == (False, None, None)
    expired = f"membership as space_guest in {AURORA} expired on {ended:%Y-%m-%d}"
    assert aurora.ended == expired
    assert aurora.why("policies.csv") == f"{expired}; no other line of policies.csv grants it"
    assert "default deny" not in aurora.why("policies.csv")
    falcon = _decision(report, gone.name, "internal/restricted/falcon")
    assert falcon.ended == (
        "invitation as space_guest in internal/restricted/falcon is pending: it grants "
        "nothing until they log in"
    )
    # Where they never held anything, it stays the plain default deny.
    handbook = _decision(report, gone.name, "internal/open/handbook")
    assert handbook.ended is None and "default deny" in handbook.why("policies.csv")
    # A write there says the same.
    ask = _decision(who_can(POLICY, [gone], SPACES, NOW, action=Action.ASK), gone.name, AURORA)
    assert not ask.allowed and ask.ended == expired
    # The oracle says the same.
    oracle = Explainer(POLICY.policy, gone.principal, NOW)
    told = oracle.explain(AURORA, "space", "read")
    assert not told.allowed and told.ended == expired
    assert str(told) == f"DENY: {expired}; no other line of {POLICY.policy.source} grants it"
    assert oracle.explain("internal/open/handbook", "space", "read").ended is None
    # Before it ended, nothing ended.
    before = who_can(POLICY, [gone], SPACES, ended - timedelta(days=1))
    assert _decision(before, gone.name, AURORA).allowed
    assert _decision(before, gone.name, AURORA).ended is None


def test_a_contractor_is_denied_restricted_spaces_by_the_deny_line() -> None:
    report = who_can(POLICY, [CARL], SPACES, NOW)
    falcon = _decision(report, "user:carl@contractor.example", "internal/restricted/falcon")
    assert not falcon.allowed
    assert falcon.rule is not None
    assert falcon.rule.eft is Effect.DENY
    assert falcon.rule.line == _line("p, contractor, internal/restricted/*, space, read, deny")
    assert falcon.why("p.csv").startswith(f"denied by p.csv:{falcon.rule.line}: p, contractor")
    # Where nothing grants it and nothing denies it: default deny, no line.
    shared = _decision(report, "user:carl@contractor.example", AURORA)
    assert (shared.allowed, shared.rule, shared.via) == (False, None, None)
    assert "default deny" in shared.why("policies.csv")


def test_an_expired_membership_gives_nothing() -> None:
    assert _decision(
        who_can(POLICY, [NINA], SPACES, EXPIRES - timedelta(seconds=1)), NINA.name, AURORA
    ).allowed
    gone = _decision(who_can(POLICY, [NINA], SPACES, EXPIRES), NINA.name, AURORA)
    assert (gone.allowed, gone.rule, gone.via) == (False, None, None)
    pending = _user(
        "nina@partner.example",
        {"partner"},
        Membership(StoreName.INTERNAL, "3", AURORA, SpaceRole.GUEST, EXPIRES, pending=True),
    )
    assert not _decision(who_can(POLICY, [pending], SPACES, NOW), NINA.name, AURORA).allowed


def test_a_write_needs_read_and_says_so() -> None:
    policy = PolicyIndex(
        Policy.parse(
            "p, partner, internal/*, space, ask, allow\n"
            "p, partner, internal/open/*, space, read, allow\n"
            "p, partner, internal/restricted/*, space, read, deny\n",
            source="w.csv",
        )
    )
    partner = [s for s in persona_subjects() if s.name == "persona:partner"]
    report = who_can(policy, partner, SPACES, NOW, action=Action.ASK)
    handbook = _decision(report, "persona:partner", "internal/open/handbook")
    assert handbook.allowed and handbook.rule is not None and handbook.rule.line == 1
    falcon = _decision(report, "persona:partner", "internal/restricted/falcon")
    assert (falcon.allowed, falcon.unreadable) == (False, True)
    assert falcon.rule is not None and falcon.rule.line == 3  # the read decision's deny line
    assert falcon.why("w.csv").startswith("cannot read the space: denied by w.csv:3:")
    aurora = _decision(report, "persona:partner", AURORA)
    assert (aurora.allowed, aurora.unreadable, aurora.rule) == (False, True, None)


def test_a_repeated_line_is_reported_as_its_first_copy() -> None:
    policy = PolicyIndex(
        Policy.parse(
            "p, guest, community/*, space, read, allow\n"
            "p, guest, community/public/*, space, read, allow\n"
            "p, guest, community/*, space, read, allow\n"
        )
    )
    guest = [s for s in persona_subjects() if s.name == "persona:guest"]
    ideas = _decision(
        who_can(policy, guest, SPACES, NOW), "persona:guest", "community/public/ideas"
    )
    # Casbin keeps the first copy; the last matching allow line is then line 2.
    assert ideas.rule is not None and ideas.rule.line == 2
    champions = _decision(
        who_can(policy, guest, SPACES, NOW), "persona:guest", "community/trusted/champions"
    )
    assert champions.rule is not None and champions.rule.line == 1


def test_only_actions_on_a_space_are_asked() -> None:
    with pytest.raises(ValueError, match="not an action on a space"):
        who_can(POLICY, persona_subjects(), SPACES, NOW, action=Action.INVITE)
    assert Action.READ in SPACE_ACTIONS and Action.JOIN not in SPACE_ACTIONS


def test_allowed_lists_the_allowed_pairs_in_order() -> None:
    report = who_can(POLICY, [CARL, NINA], SPACES, NOW)
    assert [(s.name, sp.key) for s, sp, _ in report.allowed()] == [
        ("user:carl@contractor.example", "internal/open/handbook"),
        ("user:carl@contractor.example", "community/public/ideas"),
        ("user:nina@partner.example", AURORA),
        ("user:nina@partner.example", "community/public/ideas"),
    ]
    assert report.version == POLICY.version
    assert report.action == "read"


def test_the_module_exports_what_it_means_to() -> None:
    """The admin field and page build on this module: its surface is deliberate."""
    assert set(whocan_module.__all__) == {
        "SPACE_ACTIONS",
        "Decision",
        "Row",
        "Verdict",
        "WhoCan",
        "membership_text",
        "who_can",
    }
    defined_here = {
        name
        for name, value in vars(whocan_module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == whocan_module.__name__
    }
    assert defined_here <= set(whocan_module.__all__)


def assert_agrees_with_explain(
    index: PolicyIndex, subjects: list[Subject], spaces: list[Space], action: str, at: datetime
) -> None:
    """Every decision equals the compiled one, and its reason is the line and membership
    Casbin's explain() names for the same request (for a write refused because the space
    is unreadable: those of the read request)."""
    report = who_can(index, subjects, spaces, at, action=action)
    for row in report.rows:
        oracle = Explainer(index.policy, row.subject.principal, at)
        authorizer = Authorizer(index, row.subject.principal, at)
        for space, decision in zip(spaces, row.decisions, strict=True):
            where = (row.subject.name, space.key, action, index.policy.lines())
            compiled = authorizer.scope(action).admits(space)
            readable = authorizer.scope(Action.READ).admits(space)
            needs_read = action in NEEDS_READ
            assert decision.allowed == (compiled and (readable or not needs_read)), where
            told = oracle.explain(space.key, "space", action)
            assert told.allowed == compiled, where
            if decision.unreadable:
                told = oracle.explain(space.key, "space", Action.READ)
                assert not told.allowed, where
            assert (decision.rule, decision.via) == (told.rule, told.via), where
            if decision.allowed:
                assert decision.rule is not None and decision.rule.eft is Effect.ALLOW, where
            elif decision.rule is not None:
                assert decision.rule.eft is Effect.DENY, where


@pytest.mark.parametrize("action", [a.value for a in SPACE_ACTIONS])
def test_the_default_policy_agrees_with_explain(action: str) -> None:
    subjects = [NINA, CARL, OMAR, *persona_subjects()]
    assert_agrees_with_explain(POLICY, subjects, SPACES, action, NOW)


@st.composite
def crowded_worlds(draw: st.DrawFn) -> tuple[Policy, Principal]:
    """Worlds like the oracle test's, but crowded: most lines are about the principal's own
    roles, memberships and the space, and allow, so that several lines (repeated ones too)
    match one request. Which one is named is what is tested here."""
    personas = draw(st.sets(st.sampled_from([p.value for p in Persona]), min_size=1, max_size=3))
    held = tuple(draw(st.lists(memberships, max_size=6)))
    mine = sorted({*personas, *(r.value for r in SpaceRole), ME})
    line = st.builds(
        Rule,
        sub=st.one_of(st.sampled_from(mine), st.sampled_from(sorted(KNOWN_ROLES))),
        dom=domains,
        obj=st.sampled_from(["space", "space", "*", "Person.email"]),
        act=st.sampled_from(ACTIONS),
        eft=st.sampled_from([Effect.ALLOW] * 4 + [Effect.DENY]),
    )
    policy = Policy(
        tuple(draw(st.lists(line, min_size=4, max_size=30))),
        # Space roles inheriting personas: a line may then reach a space both ways.
        tuple(
            draw(
                st.lists(
                    st.builds(RoleLink, st.sampled_from(mine), st.sampled_from(ROLES)), max_size=5
                )
            )
        ),
    )
    principal = Principal(
        "test", "me", "me@example.test", True, "Me", frozenset(personas), None, held
    )
    return policy, _fix_membership_stores(principal)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowded_worlds(), st.sampled_from(ACTIONS))
def test_random_worlds_agree_with_explain(world: tuple[Policy, Principal], action: str) -> None:
    policy, principal = world
    subject = Subject.known(principal)
    assert_agrees_with_explain(PolicyIndex(policy), [subject], ALL_SPACES, action, NOW)
