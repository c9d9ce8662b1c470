"""Kudos and badges: who may give kudos, what counts, and which badges each persona is
shown, on every store backend. A badge shows only when the activity that earned it is
readable by the caller; the oracle here is the public API itself (which posts the persona
can resolve by id)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain import ids
from gateway.domain.badges import Event, earned
from gateway.domain.demo import PEOPLE
from gateway.domain.demo_records import KUDOS as DEMO_KUDOS
from gateway.domain.model import StoreName
from gateway.records import Outcome
from tests.personas import PERSONAS, run
from tests.schema.test_read_matrix import AURORA, MATRIX

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

POSTS = """{ spaces(first: 20) { edges { node { id name
  prototypes(first: 5) { edges { node { feedback(first: 5) { edges { node {
    id body kudos author { id handle } } } } } } }
  questions(first: 10) { edges { node { id author { handle }
    answers(first: 5) { edges { node { id body kudos accepted author { id handle } } } } } } }
} } } }"""
KUDOS = """mutation($i: GiveKudosInput!) {
  giveKudos(input: $i) { answer { id kudos viewerGaveKudos } errors { code message field } } }"""
FEEDBACK_KUDOS = """mutation($i: GiveFeedbackKudosInput!) {
  giveFeedbackKudos(input: $i) { feedback { id kudos viewerGaveKudos }
  errors { code message field } } }"""
BADGES = """query($id: ID!) { node(id: $id) { ... on Person { handle
  badges { key name description earnedAt } } } }"""
NOTES = """{ notifications(first: 50) { edges { node { kind actorName
  badge { key name } subject { id } space { name } } } } }"""


async def posts(services: Services) -> dict[str, dict[str, Any]]:
    """Every answer and feedback by its text, as the employees who may read it see it."""
    found: dict[str, dict[str, Any]] = {}
    for who in ("erin@corp.example", "hana@corp.example", "mia@corp.example"):
        result = await run(services, who, POSTS)
        assert result.errors is None, result.errors
        for space in result.data["spaces"]["edges"]:
            node = space["node"]
            for q in node["questions"]["edges"]:
                for a in q["node"]["answers"]["edges"]:
                    found[a["node"]["body"]] = {**a["node"], "space": node["name"]}
            for p in node["prototypes"]["edges"]:
                for f in p["node"]["feedback"]["edges"]:
                    found[f["node"]["body"]] = {**f["node"], "space": node["name"]}
    return found


async def badges(services: Services, who: str, person_id: str) -> dict[str, str] | None:
    """The badges (key -> earnedAt) ``who`` is shown on a profile; None: no profile shown."""
    result = await run(services, who, BADGES, {"id": person_id})
    assert result.errors is None, result.errors
    node = result.data["node"]
    if node is None:
        return None
    return {b["key"]: b["earnedAt"] for b in node["badges"]}


def person_of(found: dict[str, dict[str, Any]], handle: str) -> str:
    """An internal profile id of the person (internal ids first: employees have one)."""
    ids_ = [p["author"]["id"] for p in found.values() if p["author"]["handle"] == handle]
    internal = [i for i in ids_ if ids.decode(i).store is StoreName.INTERNAL]
    return (internal or ids_)[0]


async def test_the_demo_has_badges_and_kudos(services: Services) -> None:
    found = await posts(services)
    assert found["Approved with two comments."]["kudos"] == 1
    assert found["Hold the button for 10 seconds to reset."]["kudos"] == 1
    assert found["Easy to mount; the app pairing is slow."]["kudos"] == 1
    assert found["Platform team owns it."]["kudos"] == 0
    omar = person_of(found, "omar")
    mine = await badges(services, "erin@corp.example", omar)
    assert mine is not None and set(mine) == {"first-accepted-answer", "first-kudos"}


# Which of omar's and tara's badges each persona is shown (None: not their profile at all).
# Omar's only kudos is in Project Falcon (restricted: erin and omar); his accepted answers
# are in Engineering (open to employees and contractors) and Falcon. Tara's accepted answer
# is in Champions (trusted), her review and its kudos in Aurora (shared: employees, paula,
# tara). Erin's four accepted answers: one in Engineering Q&A (employees, contractors),
# three that paula reads, two that mo and guests read (public).
EXPECTED = {
    "guest": {"omar": None, "tara": set(), "erin": {"first-accepted-answer", "first-kudos"}},
    "mo@customer.example": {
        "omar": None,
        "tara": set(),
        "erin": {"first-accepted-answer", "first-kudos"},
    },
    "paula@partner.example": {
        "omar": None,
        "tara": {"first-review", "first-kudos"},
        "erin": {"first-accepted-answer", "three-accepted-answers", "first-review", "first-kudos"},
    },
    "carl@contractor.example": {
        "omar": {"first-accepted-answer"},
        "tara": set(),
        "erin": {"first-accepted-answer", "three-accepted-answers", "first-kudos"},
    },
    "hana@corp.example": {
        "omar": {"first-accepted-answer"},
        "tara": {"first-accepted-answer", "first-review", "first-kudos"},
        "erin": {"first-accepted-answer", "three-accepted-answers", "first-review", "first-kudos"},
    },
    "erin@corp.example": {
        "omar": {"first-accepted-answer", "first-kudos"},
        "tara": {"first-accepted-answer", "first-review", "first-kudos"},
        "erin": {"first-accepted-answer", "three-accepted-answers", "first-review", "first-kudos"},
    },
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
async def test_badges_count_only_readable_activity(services: Services, who: str) -> None:
    found = await posts(services)
    for handle, expected in EXPECTED[who].items():
        shown = await badges(services, who, person_of(found, handle))
        assert (None if shown is None else set(shown)) == expected, (who, handle, shown)


@pytest.mark.parametrize("who", PERSONAS)
async def test_badges_equal_the_rule_over_what_the_caller_can_read(
    services: Services, who: str
) -> None:
    """The oracle: the posts the persona can resolve by id, fed to the badge rule, give
    exactly the badges and dates shown."""
    found = await posts(services)
    authors = {p["author"]["handle"] for p in found.values()}
    activity = await services.records.activity_of([p.email for p in PEOPLE])
    assert {"erin@corp.example", "omar@corp.example", "tara@customer.example"} <= set(activity)
    for email, events in activity.items():
        handle = email.split("@")[0]
        if handle not in authors:
            continue
        shown = await badges(services, who, person_of(found, handle))
        if shown is None:
            continue
        readable: list[Event] = []
        for event, _space in events:
            node = await run(
                services,
                who,
                "query($id: ID!) { node(id: $id) { ... on Answer { accepted } "
                "... on Feedback { rating } } }",
                {"id": event.subject},
            )
            data = node.data["node"]
            if data is not None and (event.kind.value != "accepted_answer" or data["accepted"]):
                readable.append(event)
        expected = {e.badge.key: e.at for e in earned(readable)}
        assert set(shown) == set(expected), (who, handle)
        for key, at in expected.items():
            assert shown[key].startswith(at.isoformat()[:19]), (who, handle, key)


async def test_kudos_once_not_to_oneself_and_counted(services: Services) -> None:
    found = await posts(services)
    platform = found["Platform team owns it."]["id"]  # omar's, in Engineering
    given = await run(services, "carl@contractor.example", KUDOS, {"i": {"answerId": platform}})
    assert given.data["giveKudos"] == {
        "answer": {"id": platform, "kudos": 1, "viewerGaveKudos": True},
        "errors": [],
    }
    again = await run(services, "carl@contractor.example", KUDOS, {"i": {"answerId": platform}})
    assert again.data["giveKudos"]["errors"][0]["code"] == "CONFLICT"
    own = await run(services, "omar@corp.example", KUDOS, {"i": {"answerId": platform}})
    assert own.data["giveKudos"]["errors"] == [
        {
            "code": "INVALID",
            "message": "you cannot give kudos to your own post",
            "field": "answerId",
        }
    ]
    guest = await run(services, "guest", KUDOS, {"i": {"answerId": platform}})
    assert guest.data["giveKudos"]["errors"][0]["code"] == "UNAUTHENTICATED"
    # Hidden and missing answer alike: paula may not read Engineering.
    missing = ids.encode("Answer", StoreName.INTERNAL, "999999")
    hidden = await run(services, "paula@partner.example", KUDOS, {"i": {"answerId": platform}})
    absent = await run(services, "paula@partner.example", KUDOS, {"i": {"answerId": missing}})
    assert hidden.data == absent.data
    assert hidden.data["giveKudos"]["errors"][0]["code"] == "NOT_FOUND"
    after = await posts(services)
    assert after["Platform team owns it."]["kudos"] == 1
    entries = await services.records.entries(actor="user:carl@contractor.example")
    kudos = [e for e in entries if e.detail.get("operation") == "giveKudos"]
    assert [(e.detail["operation"], e.outcome) for e in kudos] == [
        ("giveKudos", Outcome.FAILED),
        ("giveKudos", Outcome.OK),
    ]


async def test_kudos_on_feedback_and_a_badge_notification(services: Services) -> None:
    found = await posts(services)
    review = found["Casing tolerances are tight for us."]["id"]  # paula's, in Aurora
    given = await run(
        services, "tara@customer.example", FEEDBACK_KUDOS, {"i": {"feedbackId": review}}
    )
    assert given.data["giveFeedbackKudos"]["feedback"]["kudos"] == 1
    assert given.data["giveFeedbackKudos"]["errors"] == []
    notes = await run(services, "paula@partner.example", NOTES)
    edges = notes.data["notifications"]["edges"]
    badge = [n["node"] for n in edges if n["node"]["kind"] == "badge"]
    assert badge == [
        {
            "kind": "badge",
            "actorName": "the gateway",
            "badge": {"key": "first-kudos", "name": "First kudos"},
            "subject": {"id": review},
            "space": {"name": "Aurora prototype feedback"},
        }
    ]
    # Only the earner is told.
    for other in ("tara@customer.example", "erin@corp.example"):
        theirs = await run(services, other, NOTES)
        assert all(n["node"]["kind"] != "badge" for n in theirs.data["notifications"]["edges"])


async def test_a_retry_with_its_key_gives_kudos_once(services: Services) -> None:
    found = await posts(services)
    reset = found["Hold the button for 10 seconds to reset."]["id"]
    variables = {"i": {"answerId": reset, "idempotencyKey": "k-1"}}
    first = await run(services, "tara@customer.example", KUDOS, variables)
    second = await run(services, "tara@customer.example", KUDOS, variables)
    assert first.data == second.data
    assert first.data["giveKudos"]["answer"]["kudos"] == 2


# Posts to thank: (text, author, space). The table below is the read matrix's.
TARGETS = (
    ("Approved with two comments.", "omar", "Project Falcon"),
    ("Platform team owns it.", "omar", "Engineering"),
    ("Hold the button for 10 seconds to reset.", "erin", "Product support"),
    ("Count me in.", "tara", "Champions"),
    ("Easy to mount; the app pairing is slow.", "tara", AURORA),
)


def expected_kudos(who: str, author: str, space: str, text: str) -> str | None:
    """What giving kudos should answer: None when it is given, else the error code."""
    if who == "guest":
        return "UNAUTHENTICATED"
    if space not in MATRIX[who]:
        return "NOT_FOUND"
    handle = who.split("@")[0]
    if handle == author:
        return "INVALID"
    if any(k.giver == handle and k.body == text for k in DEMO_KUDOS):
        return "CONFLICT"  # given in the demo already
    return None


@pytest.mark.parametrize("who", PERSONAS)
async def test_who_may_give_kudos_where(services: Services, who: str) -> None:
    found = await posts(services)
    for text, author, space in TARGETS:
        post = found[text]
        is_answer = ids.decode(post["id"]).type_name == "Answer"
        query, name, field = (
            (KUDOS, "giveKudos", "answerId")
            if is_answer
            else (FEEDBACK_KUDOS, "giveFeedbackKudos", "feedbackId")
        )
        result = await run(services, who, query, {"i": {field: post["id"]}})
        assert result.errors is None, result.errors
        errors = result.data[name]["errors"]
        got = errors[0]["code"] if errors else None
        assert got == expected_kudos(who, author, space, text), (who, text, errors)
        if got is None:
            shown = result.data[name]["answer" if is_answer else "feedback"]
            assert shown["kudos"] == post["kudos"] + 1 and shown["viewerGaveKudos"] is True
