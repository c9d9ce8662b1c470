"""@mentions and notifications: only people who may read the space are told, and the writer
learns who was not; nobody else learns the content exists. On every store backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.writes.mentions import handles_in
from tests.personas import run
from tests.schema.test_invitations import REMOVE, _person_id
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

ASK = """mutation($i: AskQuestionInput!) {
  askQuestion(input: $i) {
    question { id }
    mentions { notified notNotified }
    errors { code }
  }
}"""
ANSWER = """mutation($i: AnswerQuestionInput!) {
  answerQuestion(input: $i) { answer { id } mentions { notified notNotified } errors { code } }
}"""
INBOX = """query($unread: Boolean!) {
  notifications(unreadOnly: $unread, first: 50) {
    edges { node { id kind read actorName
      subject { __typename id ... on Question { title } ... on Answer { body } }
      space { name } } }
  }
}"""
MARK = """mutation($i: MarkNotificationsReadInput!) {
  markNotificationsRead(input: $i) { marked errors { code field } }
}"""


def test_handles_in_text() -> None:
    assert handles_in("Ask @Erin and @omar, not me@corp.example or @@x", "cc @erin.") == [
        "erin",
        "omar",
    ]
    assert handles_in("no mentions here") == []


async def inbox(services: Services, who: str, unread: bool = False) -> list[dict[str, Any]]:
    result = await run(services, who, INBOX, {"unread": unread})
    assert result.errors is None, result.errors
    return [e["node"] for e in result.data["notifications"]["edges"]]


async def ask(services: Services, who: str, space: str, title: str, body: str) -> dict[str, Any]:
    result = await run(services, who, ASK, {"i": {"spaceId": space, "title": title, "body": body}})
    assert result.errors is None, result.errors
    payload = result.data["askQuestion"]
    assert payload["errors"] == []
    return payload


@pytest.mark.backend
async def test_only_readers_are_notified_and_the_writer_is_told(services: Services) -> None:
    spaces = await space_ids(services)
    # Omar and Carl have used the gateway before: their roles (employee, contractor) are known.
    for who in ("omar@corp.example", "carl@contractor.example"):
        await run(services, who, "{ viewer { id } }")
    asked = await ask(
        services,
        "erin@corp.example",
        spaces[AURORA],
        "Battery test plan",
        "@paula @tara can you run it? @omar to review, @carl FYI, @nobody-here too",
    )
    # Paula and Tara are invited guests of Aurora; Omar is an employee (shared spaces are
    # open to employees); Carl is a contractor, who may not read shared spaces.
    assert asked["mentions"] == {
        "notified": ["paula", "tara", "omar"],
        "notNotified": ["carl", "nobody-here"],
    }
    for who in ("paula@partner.example", "tara@customer.example", "omar@corp.example"):
        [note] = await inbox(services, who)
        assert note["kind"] == "mention"
        assert note["read"] is False
        assert note["actorName"] == "Erin Engel"
        assert note["subject"] == {
            "__typename": "Question",
            "id": asked["question"]["id"],
            "title": "Battery test plan",
        }
        assert note["space"] == {"name": AURORA}
    assert await inbox(services, "carl@contractor.example") == []
    assert await inbox(services, "erin@corp.example") == []  # not for mentioning yourself


@pytest.mark.backend
async def test_a_mention_where_they_cannot_read_leaves_no_trace(services: Services) -> None:
    spaces = await space_ids(services)
    before = await inbox(services, "paula@partner.example")
    asked = await ask(
        services,
        "erin@corp.example",
        spaces["Project Falcon"],
        "Falcon pricing",
        "Should we tell @paula? Not yet.",
    )
    assert asked["mentions"] == {"notified": [], "notNotified": ["paula"]}
    assert await inbox(services, "paula@partner.example") == before
    # Guests see nothing and may mark nothing.
    assert await inbox(services, "guest") == []
    marked = await run(services, "guest", MARK, {"i": {}})
    assert marked.data["markNotificationsRead"]["errors"] == [
        {"code": "UNAUTHENTICATED", "field": None}
    ]


@pytest.mark.backend
async def test_mentions_resolve_in_either_store(services: Services) -> None:
    spaces = await space_ids(services)
    # Mo has only a forum account; never seen, a registered member may read public spaces.
    asked = await ask(
        services, "erin@corp.example", spaces["Product support"], "Pairing again", "@mo see this"
    )
    assert asked["mentions"] == {"notified": ["mo"], "notNotified": []}
    # An answer in a members-only space reaches a member. Paula has a forum account, but she
    # signs in as a partner (no member role): once the gateway knows that, she is not told.
    await run(services, "paula@partner.example", "{ viewer { id } }")
    question = (
        await run(
            services,
            "erin@corp.example",
            """query($s: ID!) { questions(spaceId: $s, first: 1) { edges { node { id } } } }""",
            {"s": spaces["Members lounge"]},
        )
    ).data["questions"]["edges"][0]["node"]["id"]
    answered = await run(
        services,
        "erin@corp.example",
        ANSWER,
        {"i": {"questionId": question, "body": "@mo and @paula: thoughts?"}},
    )
    assert answered.data["answerQuestion"]["mentions"] == {
        "notified": ["mo"],
        "notNotified": ["paula"],
    }
    kinds = [n["subject"]["__typename"] for n in await inbox(services, "mo@customer.example")]
    assert kinds == ["Answer", "Question"]


@pytest.mark.backend
async def test_reading_and_losing_access(services: Services) -> None:
    spaces = await space_ids(services)
    await ask(services, "erin@corp.example", spaces[AURORA], "One", "@paula one")
    await ask(services, "erin@corp.example", spaces[AURORA], "Two", "@paula two")
    notes = await inbox(services, "paula@partner.example", unread=True)
    assert [n["subject"]["title"] for n in notes] == ["Two", "One"]
    # Someone else's notification ids mark nothing; her own mark hers.
    other = await run(services, "tara@customer.example", MARK, {"i": {"ids": [notes[0]["id"]]}})
    assert other.data["markNotificationsRead"]["marked"] == 0
    mine = await run(services, "paula@partner.example", MARK, {"i": {"ids": [notes[0]["id"]]}})
    assert mine.data["markNotificationsRead"] == {"marked": 1, "errors": []}
    assert [
        n["subject"]["title"] for n in await inbox(services, "paula@partner.example", True)
    ] == ["One"]
    bad = await run(services, "paula@partner.example", MARK, {"i": {"ids": ["nope"]}})
    assert bad.data["markNotificationsRead"]["errors"] == [{"code": "INVALID", "field": "ids"}]
    # Removed from Aurora: what they point at is gone for her, and so are they.
    paula = await _person_id(services, "paula")
    await run(
        services, "erin@corp.example", REMOVE, {"i": {"spaceId": spaces[AURORA], "personId": paula}}
    )
    assert await inbox(services, "paula@partner.example") == []
