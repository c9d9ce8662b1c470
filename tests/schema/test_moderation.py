"""Moderation: hidden posts vanish for everyone but moderators; featured ones are listable.
On every store backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.http.app import build_services, prepare_stores
from tests.personas import run
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import ANSWER_QUESTION, space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services
    from tests.databases import DatabaseFactory

pytestmark = pytest.mark.backend

HIDE = """mutation($i: HidePostInput!) {
  hidePost(input: $i) {
    question { id hidden } answer { id hidden } errors { code field }
  }
}"""
FEATURE = """mutation($i: FeaturePostInput!) {
  featurePost(input: $i) { question { id featured } errors { code field } }
}"""
EVERYWHERE = """query($q: ID!, $s: ID!, $text: String!) {
  node(id: $q) { id }
  questions(first: 100) { edges { node { id } } }
  space(id: $s) { questions(first: 100) { edges { node { id hidden } } } }
  search(text: $text, first: 50) { edges { node { id } } }
}"""
ANSWERS = """query($q: ID!) {
  question(id: $q) { answerCount answers(first: 50) { edges { node { id hidden } } } }
}"""


async def first_question(services: Services, space: str) -> dict[str, Any]:
    result = await run(
        services,
        "erin@corp.example",
        """query($s: ID!) { questions(spaceId: $s, first: 50) {
             edges { node { id title answers(first: 50) { edges { node { id } } } } } } }""",
        {"s": space},
    )
    return result.data["questions"]["edges"][-1]["node"]  # the oldest: it has answers


async def sees_question(services: Services, who: str, question: dict, space: str) -> set[str]:
    """Where ``who`` finds the question: by id, in lists, in its space, in search."""
    result = await run(
        services,
        who,
        EVERYWHERE,
        {"q": question["id"], "s": space, "text": question["title"][:12]},
    )
    assert result.errors is None, result.errors
    data = result.data
    found = set()
    if data["node"]:
        found.add("node")
    if question["id"] in {e["node"]["id"] for e in data["questions"]["edges"]}:
        found.add("questions")
    if question["id"] in {e["node"]["id"] for e in data["space"]["questions"]["edges"]}:
        found.add("space")
    if question["id"] in {e["node"]["id"] for e in data["search"]["edges"]}:
        found.add("search")
    return found


EVERY_PLACE = {"node", "questions", "space", "search"}


async def test_a_hidden_question_vanishes_for_everyone_but_moderators(services: Services) -> None:
    spaces = await space_ids(services)
    support = spaces["Product support"]
    question = await first_question(services, support)
    answer_id = question["answers"]["edges"][0]["node"]["id"]
    readers = ("guest", "mo@customer.example", "tara@customer.example", "sam@corp.example")
    for who in readers:
        assert await sees_question(services, who, question, support) == EVERY_PLACE
    denied = await run(services, "tara@customer.example", HIDE, {"i": {"postId": question["id"]}})
    assert denied.data["hidePost"]["errors"] == [{"code": "FORBIDDEN", "field": "postId"}]

    hidden = await run(services, "mia@corp.example", HIDE, {"i": {"postId": question["id"]}})
    assert hidden.data["hidePost"] == {
        "question": {"id": question["id"], "hidden": True},
        "answer": None,
        "errors": [],
    }
    for who in readers:
        assert await sees_question(services, who, question, support) == set(), who
        # Its answers go with it, even looked up by id.
        by_id = await run(services, who, "query($a: ID!) { node(id: $a) { id } }", {"a": answer_id})
        assert by_id.data["node"] is None
    assert await sees_question(services, "mia@corp.example", question, support) == EVERY_PLACE
    # ...and once hidden, everyone else is answered as if it had never existed.
    hide_again = await run(
        services, "tara@customer.example", HIDE, {"i": {"postId": question["id"]}}
    )
    assert hide_again.data["hidePost"]["errors"] == [{"code": "NOT_FOUND", "field": "postId"}]

    shown = await run(
        services, "mia@corp.example", HIDE, {"i": {"postId": question["id"], "hidden": False}}
    )
    assert shown.data["hidePost"]["question"] == {"id": question["id"], "hidden": False}
    for who in readers:
        assert await sees_question(services, who, question, support) == EVERY_PLACE


async def test_a_space_owner_hides_an_answer_in_their_space(services: Services) -> None:
    spaces = await space_ids(services)
    question = await first_question(services, spaces[AURORA])
    added = await run(
        services,
        "paula@partner.example",
        ANSWER_QUESTION,
        {"i": {"questionId": question["id"], "body": "Spam spam spam"}},
    )
    spam = added.data["answerQuestion"]["answer"]["id"]
    before = await run(services, "paula@partner.example", ANSWERS, {"q": question["id"]})
    count = before.data["question"]["answerCount"]
    # Hana is an employee who reads Aurora but does not own it; Erin owns it.
    forbidden = await run(services, "hana@corp.example", HIDE, {"i": {"postId": spam}})
    assert forbidden.data["hidePost"]["errors"] == [{"code": "FORBIDDEN", "field": "postId"}]
    hidden = await run(services, "erin@corp.example", HIDE, {"i": {"postId": spam}})
    assert hidden.data["hidePost"]["answer"] == {"id": spam, "hidden": True}
    for who in ("paula@partner.example", "hana@corp.example", "tara@customer.example"):
        after = (await run(services, who, ANSWERS, {"q": question["id"]})).data["question"]
        assert after["answerCount"] == count - 1, who
        assert spam not in {e["node"]["id"] for e in after["answers"]["edges"]}
    owner = (await run(services, "erin@corp.example", ANSWERS, {"q": question["id"]})).data
    assert owner["question"]["answerCount"] == count
    assert {"id": spam, "hidden": True} in [
        e["node"] for e in owner["question"]["answers"]["edges"]
    ]


async def test_featured_questions_are_listable(services: Services) -> None:
    spaces = await space_ids(services)
    featured_list = "{ questions(featured: true, first: 50) { edges { node { id featured } } } }"
    assert (await run(services, "guest", featured_list)).data["questions"]["edges"] == []
    community = await first_question(services, spaces["Product support"])
    internal = await first_question(services, spaces[AURORA])
    denied = await run(
        services, "sam@corp.example", FEATURE, {"i": {"questionId": community["id"]}}
    )
    assert denied.data["featurePost"]["errors"] == [{"code": "FORBIDDEN", "field": "questionId"}]
    for who, question in (("mia@corp.example", community), ("erin@corp.example", internal)):
        made = await run(services, who, FEATURE, {"i": {"questionId": question["id"]}})
        assert made.data["featurePost"] == {
            "question": {"id": question["id"], "featured": True},
            "errors": [],
        }
    # Featured, yet still scoped: a guest lists the community one only.
    guest = await run(services, "guest", featured_list)
    assert [e["node"] for e in guest.data["questions"]["edges"]] == [
        {"id": community["id"], "featured": True}
    ]
    paula = await run(services, "paula@partner.example", featured_list)
    assert {e["node"]["id"] for e in paula.data["questions"]["edges"]} == {
        community["id"],
        internal["id"],
    }
    in_space = await run(
        services,
        "paula@partner.example",
        """query($s: ID!) {
             space(id: $s) { questions(featured: true) { edges { node { id } } } } }""",
        {"s": spaces[AURORA]},
    )
    assert [e["node"]["id"] for e in in_space.data["space"]["questions"]["edges"]] == [
        internal["id"]
    ]
    await run(
        services,
        "mia@corp.example",
        FEATURE,
        {"i": {"questionId": community["id"], "featured": False}},
    )
    assert [
        e["node"]["id"]
        for e in (await run(services, "guest", featured_list)).data["questions"]["edges"]
    ] == []


async def test_stores_from_before_moderation_gain_its_columns(
    databases: DatabaseFactory, tmp_path: Any
) -> None:
    """A store created by an earlier version lacks the moderation columns; start-up adds
    them (nullable, so nothing existing changes) and everything works."""
    from gateway.config import Settings

    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_INTERNAL_URL": await databases.create("internal"),
            "GATEWAY_COMMUNITY_URL": await databases.create("community"),
            "GATEWAY_RECORDS_URL": await databases.create("records"),
            "GATEWAY_DEMO_DATA": "true",
        }
    )
    services = build_services(settings)
    try:
        await prepare_stores(services)
        drops = {
            "internal": [
                ("forum_topics", "hidden_at"),
                ("forum_topics", "featured_at"),
                ("forum_topics", "archived_at"),
                ("forum_replies", "hidden_at"),
                ("communities", "archive_exempt"),
            ],
            "community": [
                ("topics", "pinned_at"),
                ("topics", "archived_at"),
                ("posts", "hidden_at"),
                ("categories", "archive_exempt"),
            ],
        }
        for name, store in services.stores.items():
            async with store.engine.begin() as conn:  # type: ignore[attr-defined]
                for table, column in drops[name.value]:
                    await conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        # The records' notifications gained a reason (post_hidden): added the same way.
        async with services.records.engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE notifications DROP COLUMN reason")
        services.records._ready = False
        await prepare_stores(services)
        result = await run(
            services,
            "guest",
            "{ questions(first: 5) { edges { node { hidden featured archived answerCount "
            "space { archiveExempt } } } } }",
        )
        assert result.errors is None, result.errors
        assert result.data["questions"]["edges"]
        mine = await run(
            services, "mo@customer.example", "{ notifications { edges { node { reason } } } }"
        )
        assert mine.errors is None, mine.errors
    finally:
        await services.close()
