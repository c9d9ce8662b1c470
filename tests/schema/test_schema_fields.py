"""Fields beyond the matrix: linking, search, roles, counts, nested connections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.personas import run

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

AUTHORS = """{ questions(first: 100) { edges { node { title space { store }
  author { id handle displayName department } } } } }"""


async def test_an_employee_is_one_person_across_stores(services: Services) -> None:
    answers = await run(
        services,
        "erin@corp.example",
        """{ questions(first: 100) { edges { node { space { store }
             answers { edges { node { author { id displayName } } } } } } } }""",
    )
    by_store: dict[str, set[str]] = {}
    for edge in answers.data["questions"]["edges"]:
        for answer in edge["node"]["answers"]["edges"]:
            if answer["node"]["author"]["displayName"] == "Erin Engel":
                by_store.setdefault(edge["node"]["space"]["store"], set()).add(
                    answer["node"]["author"]["id"]
                )
    # Erin answers in both stores; her community account resolves to her internal profile.
    assert set(by_store) == {"INTERNAL", "COMMUNITY"}
    assert by_store["INTERNAL"] == by_store["COMMUNITY"]


async def test_search_spans_both_stores_within_scope(services: Services) -> None:
    query = """query($t: String!, $first: Int, $after: String) {
      search(text: $t, first: $first, after: $after) {
        edges { cursor node { title space { name store } } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
      }
    }"""
    erin = await run(services, "erin@corp.example", query, {"t": "aurora"})
    titles = [e["node"]["title"] for e in erin.data["search"]["edges"]]
    assert set(titles) == {
        "Aurora battery spec?",
        "Can Aurora export CSV?",
        "Beta programme for Aurora",
    }
    assert {e["node"]["space"]["store"] for e in erin.data["search"]["edges"]} == {
        "INTERNAL",
        "COMMUNITY",
    }
    # Paged one at a time across both stores: the same questions in the same order.
    paged: list[str] = []
    after = None
    for _ in range(5):
        page = await run(
            services, "erin@corp.example", query, {"t": "aurora", "first": 1, "after": after}
        )
        search = page.data["search"]
        paged += [e["node"]["title"] for e in search["edges"]]
        assert search["pageInfo"]["hasPreviousPage"] is (after is not None)
        after = search["pageInfo"]["endCursor"]
        if not search["pageInfo"]["hasNextPage"]:
            break
    assert paged == titles
    forged = await run(services, "erin@corp.example", query, {"t": "aurora", "after": "nope"})
    assert forged.errors[0].extensions["code"] == "BAD_USER_INPUT"
    guest = await run(services, "guest", query, {"t": "aurora"})
    assert guest.data["search"]["edges"] == []
    literal = await run(services, "erin@corp.example", query, {"t": "%"})
    assert literal.data["search"]["edges"] == []
    empty = await run(services, "guest", query, {"t": "  "})
    assert empty.errors[0].message == "text must be 1 to 200 characters"


async def test_viewer_role_and_member_count(services: Services) -> None:
    query = "{ spaces(first: 50) { edges { node { name viewerRole memberCount } } } }"
    paula = await run(services, "paula@partner.example", query)
    rows = {e["node"]["name"]: e["node"] for e in paula.data["spaces"]["edges"]}
    assert rows["Aurora prototype feedback"]["viewerRole"] == "GUEST"
    assert rows["Aurora prototype feedback"]["memberCount"] == 3
    assert rows["Ideas"]["viewerRole"] is None
    erin = await run(services, "erin@corp.example", query)
    roles = {e["node"]["name"]: e["node"]["viewerRole"] for e in erin.data["spaces"]["edges"]}
    assert roles["Aurora prototype feedback"] == "OWNER"
    assert roles["Project Falcon"] == "MEMBER"


async def test_expired_invitation_stops_granting_at_its_time(services: Services) -> None:
    """Tara's invitation to Aurora expires in 90 days: at that moment, with no job, it is gone."""
    from datetime import UTC, datetime, timedelta

    query = "{ spaces(first: 50) { edges { node { name } } } }"
    soon = datetime.now(UTC) + timedelta(days=89)
    later = datetime.now(UTC) + timedelta(days=91)
    before = await run(services, "tara@customer.example", query, now=soon)
    after = await run(services, "tara@customer.example", query, now=later)
    names_before = {e["node"]["name"] for e in before.data["spaces"]["edges"]}
    names_after = {e["node"]["name"] for e in after.data["spaces"]["edges"]}
    assert names_before - names_after == {"Aurora prototype feedback"}


async def test_questions_filters_and_nested_pagination(services: Services) -> None:
    unanswered = await run(
        services,
        "erin@corp.example",
        """{ questions(unanswered: true, first: 100) {
               edges { node { answered acceptedAnswer { id } } } } }""",
    )
    edges = unanswered.data["questions"]["edges"]
    assert edges and all(not e["node"]["answered"] for e in edges)
    assert all(e["node"]["acceptedAnswer"] is None for e in edges)
    tagged = await run(
        services, "guest", '{ questions(tag: "pairing") { edges { node { title tags } } } }'
    )
    assert [e["node"]["title"] for e in tagged.data["questions"]["edges"]] == [
        "Sensor will not pair"
    ]
    query = """query($after: String) { questions(tag: "pairing") { edges { node {
        answerCount answers(first: 1, after: $after) { totalCount edges { node { body accepted } }
        pageInfo { hasNextPage endCursor } } } } } }"""
    first = await run(services, "guest", query)
    node = first.data["questions"]["edges"][0]["node"]
    assert node["answerCount"] == 2
    page = node["answers"]
    assert len(page["edges"]) == 1 and page["pageInfo"]["hasNextPage"]
    second = await run(services, "guest", query, {"after": page["pageInfo"]["endCursor"]})
    page2 = second.data["questions"]["edges"][0]["node"]["answers"]
    assert len(page2["edges"]) == 1 and not page2["pageInfo"]["hasNextPage"]
    # The total is the question's, on every page.
    assert page["totalCount"] == page2["totalCount"] == 2
    bodies = {page["edges"][0]["node"]["body"], page2["edges"][0]["node"]["body"]}
    assert len(bodies) == 2


async def test_person_nodes_follow_the_person_policy(services: Services) -> None:
    hana = await run(services, "hana@corp.example", AUTHORS)
    hana_id = next(
        e["node"]["author"]["id"]
        for e in hana.data["questions"]["edges"]
        if e["node"]["author"]["handle"] == "hana"
    )
    query = "query($id: ID!) { node(id: $id) { ... on Person { handle email } } }"
    assert (await run(services, "sam@corp.example", query, {"id": hana_id})).data["node"] == {
        "handle": "hana",
        "email": "hana@corp.example",
    }
    assert (await run(services, "carl@contractor.example", query, {"id": hana_id})).data[
        "node"
    ] == {"handle": "hana", "email": None}
    for who in ("guest", "paula@partner.example", "mo@customer.example"):
        assert (await run(services, who, query, {"id": hana_id})).data["node"] is None, who
