"""The impact of a new policy: hand-made policies, principals and spaces, and a property test
that the shortcuts (skipping untouched actions and equal scopes) change no answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.domain.model import Membership, Space, SpaceKind, SpaceRole, StoreName, Visibility
from gateway.domain.permissions import NEEDS_READ, Action, Resource, membership_resource
from gateway.domain.principal import Principal
from gateway.policies.admin.impact import (
    Change,
    Subject,
    Turn,
    diff,
    invitee_subjects,
    persona_subjects,
)
from gateway.policies.compiler import Authorizer, PolicyIndex
from gateway.policies.policy import Policy

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _space(key: str) -> Space:
    store, visibility, slug = key.split("/")
    return Space(StoreName(store), slug, slug, SpaceKind.GROUP, slug, "", Visibility(visibility))


SPACES = [
    _space(k)
    for k in (
        "internal/open/handbook",
        "internal/open/releases",
        "internal/restricted/falcon",
        "internal/shared/aurora",
        "community/public/ideas",
        "community/private/beta",
    )
]

BASE = """\
g, member, guest, *
g, partner, guest, *
g, space_owner, space_member, *
p, guest, community/public/*, space, read, allow
p, employee, internal/*, space, read, allow
p, employee, internal/open/*, space, ask, allow
p, space_member, internal/restricted/*, space, read, allow
p, space_member, internal/shared/*, space, read, allow
p, space_owner, internal/*, Membership.space_member, invite, allow
p, employee, people/*, Person.email, read, allow
"""


def _user(email: str, roles: set[str], memberships: tuple[Membership, ...] = ()) -> Subject:
    principal = Principal("test", email, email, True, email, frozenset(roles), None, memberships)
    return Subject.known(principal)


def _member(key: str, role: SpaceRole) -> Membership:
    return Membership(StoreName(key.split("/")[0]), "1", key, role)


PAULA = _user("paula@partner.example", {"partner"})
ERIN = _user("erin@corp.example", {"employee"})
OMAR = _user(
    "omar@corp.example",
    {"employee"},
    (_member("internal/restricted/falcon", SpaceRole.OWNER),),
)
TARA = _user(
    "tara@customer.example",
    {"member", "trusted_customer"},
    (_member("internal/shared/aurora", SpaceRole.GUEST),),
)
EVERYONE = [PAULA, ERIN, OMAR, TARA, *persona_subjects()]


def _impact(new_lines: str, *, old: str = BASE, who: list[Subject] | None = None) -> list[Turn]:
    before = Policy.parse(old, source="old.csv")
    after = Policy.parse(new_lines, source="new.csv")
    return list(diff(before, after, EVERYONE if who is None else who, SPACES, NOW).turns)


def _brief(turns: list[Turn]) -> set[tuple[str, str, str, str, str]]:
    return {(t.who, t.target, t.action, t.obj, t.change.value) for t in turns}


def test_the_same_policy_changes_nothing() -> None:
    report = diff(Policy.parse(BASE), Policy.parse(BASE + "\n# a comment\n"), EVERYONE, SPACES, NOW)
    assert report.turns == ()
    assert report.as_text().endswith("no decision changes\n")


def test_partners_gain_read_on_open_spaces() -> None:
    turns = _impact(BASE + "p, partner, internal/open/*, space, read, allow\n")
    assert _brief(turns) == {
        (who, key, "read", "space", "gained")
        for who in ("user:paula@partner.example", "persona:partner")
        for key in ("internal/open/handbook", "internal/open/releases")
    }
    report = diff(
        Policy.parse(BASE),
        Policy.parse(BASE + "p, partner, internal/open/*, space, read, allow\n"),
        EVERYONE,
        SPACES,
        NOW,
    )
    assert [str(g) for g in report.summary()] == ["2 partners gain read on 2 internal spaces"]


def test_losing_read_loses_the_writes_that_need_it() -> None:
    turns = _impact(BASE.replace("p, employee, internal/*, space, read, allow\n", ""))
    lost = _brief(turns)
    assert ("user:erin@corp.example", "internal/open/handbook", "ask", "space", "lost") in lost
    assert ("persona:employee", "internal/shared/aurora", "read", "space", "lost") in lost
    # Omar still reads his restricted space through his membership there.
    assert not any(t.who == "user:omar@corp.example" and "falcon" in t.target for t in turns)
    assert all(t.change is Change.LOST for t in turns)


def test_a_write_where_nobody_reads_turns_nothing() -> None:
    assert _impact(BASE + "p, partner, internal/open/*, space, ask, allow\n") == []


def test_a_membership_decides_for_its_own_space() -> None:
    turns = _impact(
        BASE
        + "p, space_guest, internal/shared/*, space, read, allow\n"
        + "p, space_guest, internal/shared/*, space, ask, allow\n"
    )
    assert _brief(turns) == {
        ("user:tara@customer.example", "internal/shared/aurora", action, "space", "gained")
        for action in ("read", "ask")
    }


def test_a_deny_through_a_membership_role() -> None:
    turns = _impact(BASE + "p, space_owner, internal/restricted/*, space, read, deny\n")
    # Omar owns falcon; employees read it anyway, but a deny wins over his employee line.
    assert ("user:omar@corp.example", "internal/restricted/falcon", "read", "space", "lost") in (
        _brief(turns)
    )
    # His invite there needs read too: lost with it.
    assert (
        "user:omar@corp.example",
        "internal/restricted/falcon",
        "invite",
        "Membership.space_member",
        "lost",
    ) in _brief(turns)
    assert {t.who for t in turns} == {"user:omar@corp.example"}


def test_person_fields_per_store() -> None:
    report = diff(
        Policy.parse(BASE),
        Policy.parse(BASE + "p, partner, people/*, Person.email, read, allow\n"),
        [PAULA],
        SPACES,
        NOW,
    )
    assert [str(g) for g in report.summary()] == [
        "1 partner gains read Person.email on people/community",
        "1 partner gains read Person.email on people/internal",
    ]


def test_internal_notes_per_internal_space() -> None:
    turns = _impact(BASE + "p, employee, internal/open/*, Feedback.internalNote, read, allow\n")
    assert {(t.target, t.obj) for t in turns if t.who == "user:erin@corp.example"} == {
        ("internal/open/handbook", Resource.FEEDBACK_INTERNAL_NOTE.value),
        ("internal/open/releases", Resource.FEEDBACK_INTERNAL_NOTE.value),
    }


def test_internal_notes_turn_only_where_the_space_is_readable() -> None:
    # sam (an employee) reads open and shared spaces, not the restricted one he is no member
    # of; omar owns falcon. A note rule on every internal space turns only where each reads.
    sam = _user("sam@corp.example", {"employee", "security_admin"})
    base = BASE.replace("p, employee, internal/*, space, read, allow\n", "") + (
        "p, employee, internal/open/*, space, read, allow\n"
        "p, employee, internal/shared/*, space, read, allow\n"
    )
    note = "p, employee, internal/*, Feedback.internalNote, read, allow\n"
    before, after = Policy.parse(base + note), Policy.parse(base)
    report = diff(before, after, [sam, OMAR, PAULA], SPACES, NOW)
    lost = {(t.who, t.target) for t in report.turns if t.obj == Resource.FEEDBACK_INTERNAL_NOTE}
    assert lost == {
        ("user:sam@corp.example", "internal/open/handbook"),
        ("user:sam@corp.example", "internal/open/releases"),
        ("user:sam@corp.example", "internal/shared/aurora"),
        ("user:omar@corp.example", "internal/open/handbook"),
        ("user:omar@corp.example", "internal/open/releases"),
        ("user:omar@corp.example", "internal/restricted/falcon"),  # he owns it: he reads it
        ("user:omar@corp.example", "internal/shared/aurora"),
    }
    assert "1 principal with employee+security_admin loses read Feedback.internalNote on 3 " in (
        report.as_text()
    )


def test_invitees_may_be_given_roles() -> None:
    turns = _impact(
        BASE + "p, external, internal/shared/*, Membership.space_guest, join, allow\n", who=[]
    )
    assert _brief(turns) == {
        ("invitee:external", "internal/shared/aurora", "join", "Membership.space_guest", "gained")
    }


def test_a_new_role_link_reaches_every_action() -> None:
    turns = _impact(BASE + "g, partner, employee, *\n", who=[PAULA])
    actions = {(t.action, t.obj) for t in turns}
    assert ("read", "space") in actions
    assert ("ask", "space") in actions
    assert ("read", "Person.email") in actions


def test_text_and_json() -> None:
    before, after = Policy.parse(BASE, "old.csv"), Policy.parse(BASE + "g, partner, employee, *")
    report = diff(before, after, [PAULA], SPACES, NOW)
    text = report.as_text()
    assert text.splitlines()[1] == "1 principal, 6 spaces"
    assert "  user:paula@partner.example  " in text and "gained" in text
    document = json.loads(report.as_json())
    assert document["old"]["source"] == "old.csv"
    assert len(document["old"]["sha256"]) == 64
    assert document["changes"][0]["principal"] == "user:paula@partner.example"
    assert document["summary"][0]["text"] == str(report.summary()[0])


def test_personas_and_invitees() -> None:
    names = [s.name for s in persona_subjects()]
    assert "persona:guest" in names and "persona:security_admin" in names
    assert [s.name for s in invitee_subjects()] == ["invitee:employee", "invitee:external"]


# --- the shortcuts change no answer ------------------------------------------------

LINES = st.sampled_from(
    [
        "g, partner, employee, *",
        "g, member, guest, *",
        "p, partner, internal/open/*, space, read, allow",
        "p, partner, internal/*, space, ask, allow",
        "p, guest, *, space, read, allow",
        "p, employee, internal/restricted/*, space, read, deny",
        "p, space_member, internal/*, space, read, allow",
        "p, space_guest, internal/shared/*, space, answer, allow",
        "p, space_owner, *, Membership.*, invite, allow",
        "p, external, internal/shared/*, Membership.space_guest, join, allow",
        "p, employee, *, Membership.*, join, allow",
        "p, employee, people/*, Person.*, read, allow",
        "p, member, people/community, Person, read, allow",
        "p, employee, internal/*, Feedback.internalNote, give_feedback, allow",
        "p, contractor, internal/*, Feedback.internalNote, read, allow",
        "p, employee, community/*, space, moderate, allow",
    ]
)


def _naive(old: Policy, new: Policy, subjects: list[Subject]) -> set[tuple[str, ...]]:
    """Every point asked of both policies through ``allows``, with no shortcut."""
    found: set[tuple[str, ...]] = set()
    callers = [(s, False) for s in subjects] + [(s, True) for s in invitee_subjects()]
    for subject, invitee in callers:
        both = [Authorizer(PolicyIndex(p), subject.principal, NOW) for p in (old, new)]
        points: list[tuple[str, str, str, bool]] = []
        for space in SPACES:
            roles = [membership_resource(r).value for r in SpaceRole]
            if invitee:
                points += [(o, space.key, "join", False) for o in roles]
                continue
            for action in Action:
                if action not in (Action.INVITE, Action.JOIN):
                    points.append(("space", space.key, action.value, True))
            points += [(o, space.key, "invite", True) for o in roles]
            if space.store is StoreName.INTERNAL:
                note = Resource.FEEDBACK_INTERNAL_NOTE.value
                points += [
                    (note, space.key, "read", True),
                    (note, space.key, "give_feedback", True),
                ]
        if not invitee:
            for store in StoreName:
                for obj in ("Person", "Person.email", "Person.department"):
                    points.append((obj, f"people/{store.value}", "read", False))
        for obj, dom, act, in_space in points:
            decided = [
                a.allows(obj, dom, act)
                and not (
                    in_space
                    and (act in NEEDS_READ or obj == Resource.FEEDBACK_INTERNAL_NOTE.value)
                    and not a.allows("space", dom, "read")
                )
                for a in both
            ]
            if decided[0] != decided[1]:
                found.add((subject.name, dom, act, obj, "gained" if decided[1] else "lost"))
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, max_size=6), st.lists(LINES, max_size=2), st.lists(LINES, max_size=2))
# Read changes alone, and the writes that need it follow.
@example(
    ["p, partner, internal/*, space, ask, allow"],
    [],
    ["p, partner, internal/open/*, space, read, allow"],
)
# Only the role hierarchy changes.
@example(["p, guest, *, space, read, allow"], [], ["g, member, guest, *"])
def test_the_diff_equals_asking_everything(
    common: list[str], only_old: list[str], only_new: list[str]
) -> None:
    # Mostly the same lines on both sides, as an edit is: the shortcuts are about what differs.
    old = Policy.parse("\n".join(common + only_old))
    new = Policy.parse("\n".join(common + only_new))
    subjects = [PAULA, ERIN, OMAR, TARA]
    assert _brief(list(diff(old, new, subjects, SPACES, NOW).turns)) == _naive(old, new, subjects)


def test_decisions_about_ones_own_profile_and_content_are_compared() -> None:
    """``self`` lines turn decisions too: seeing one's own email, accepting an answer to
    one's own question. Where the same decision about others turned, that turn says it."""
    own = BASE + (
        "p, self, people/*, Person.email, read, allow\n"
        "p, guest, internal/open/*, space, read, allow\n"
        "p, self, *, space, accept, allow\n"
    )
    without = own.replace("p, self, people/*, Person.email, read, allow\n", "").replace(
        "p, self, *, space, accept, allow\n", ""
    )
    report = diff(Policy.parse(own), Policy.parse(without), [PAULA, ERIN], SPACES, NOW)
    turns = {(t.who, t.target, t.action, t.obj, t.change) for t in report.turns}
    paula = "user:paula@partner.example"
    assert (paula, "people/internal", "read", "Person.email (own)", Change.LOST) in turns
    assert (paula, "people/community", "read", "Person.email (own)", Change.LOST) in turns
    assert (paula, "internal/open/handbook", "accept", "space (own)", Change.LOST) in turns
    # Partners accept nothing in a space they cannot read; employees still read all emails.
    assert not any(t[0] == paula and t[1] == "internal/restricted/falcon" for t in turns)
    assert not any(t[0] == "user:erin@corp.example" and t[3].startswith("Person") for t in turns)
    summary = {str(g) for g in report.summary()}
    assert "1 partner loses read Person.email (own) on people/internal" in summary
    assert "1 employee loses accept space (own) on 4 internal spaces" in summary
