"""Every content connection pages both ways through the schema: first/after forward,
last/before backward, one order, the Relay spec's pageInfo, and the caller's scope.

For each persona and each connection (spaces, questions, search, a space's questions, a
question's answers, a space's prototypes, a prototype's feedback), walking forward one at
a time, walking backward one at a time and one page of fifty give the same items in the
same order: what the persona may read, no more (the scope is the stores' own, pushed down
either way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from strawberry import relay

from gateway.schema.pagination import connection
from tests.personas import PERSONAS, run
from tests.schema.test_read_matrix import AURORA

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"
PAGE = "edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
# Each connection: its query, and the path from data to the connection.
CONNECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "spaces": (f"query({VARS}) {{ spaces({ARGS}) {{ {PAGE} }} }}", ("spaces",)),
    "questions": (f"query({VARS}) {{ questions({ARGS}) {{ {PAGE} }} }}", ("questions",)),
    "search": (f'query({VARS}) {{ search(text: "e", {ARGS}) {{ {PAGE} }} }}', ("search",)),
    "space.questions": (
        f"query({VARS}, $id: ID!) {{ space(id: $id) {{ questions({ARGS}) {{ {PAGE} }} }} }}",
        ("space", "questions"),
    ),
    "question.answers": (
        f"query({VARS}, $id: ID!) {{ question(id: $id) {{ answers({ARGS}) {{ {PAGE} }} }} }}",
        ("question", "answers"),
    ),
    "space.prototypes": (
        f"query({VARS}, $id: ID!) {{ space(id: $id) {{ prototypes({ARGS}) {{ {PAGE} }} }} }}",
        ("space", "prototypes"),
    ),
    "prototype.feedback": (
        f"query({VARS}, $id: ID!) {{ node(id: $id) {{ ... on Prototype {{ "
        f"feedback({ARGS}) {{ {PAGE} }} }} }} }}",
        ("node", "feedback"),
    ),
}
TARGETS = """{
  spaces(first: 100) { edges { node { id name
    questions(first: 100) { edges { node { id answers(first: 1) { totalCount } } } }
    prototypes(first: 10) { edges { node { id feedback(first: 10) { edges { cursor } } } } }
  } } }
}"""


async def _connection(
    services: Services, who: str, name: str, **variables: Any
) -> dict[str, Any] | None:
    query, path = CONNECTIONS[name]
    result = await run(services, who, query, variables)
    assert not result.errors, (who, name, variables, result.errors)
    value = result.data
    for key in path:
        if value is None:
            return None
        value = value[key]
    return value


def _ids(page: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


async def _targets(services: Services) -> dict[str, str]:
    """The parents of the nested connections: the busiest ones, so they page."""
    result = await run(services, "erin@corp.example", TARGETS)
    assert not result.errors, result.errors
    spaces = [e["node"] for e in result.data["spaces"]["edges"]]
    busy = max(spaces, key=lambda s: len(s["questions"]["edges"]))
    questions = [q["node"] for s in spaces for q in s["questions"]["edges"]]
    answered = max(questions, key=lambda q: q["answers"]["totalCount"])
    aurora = next(s for s in spaces if s["name"] == AURORA)
    prototypes = [p["node"] for p in aurora["prototypes"]["edges"]]
    reviewed = max(prototypes, key=lambda p: len(p["feedback"]["edges"]))
    assert len(busy["questions"]["edges"]) > 1 and answered["answers"]["totalCount"] > 1
    assert len(prototypes) > 1 and len(reviewed["feedback"]["edges"]) > 1
    return {
        "space.questions": busy["id"],
        "question.answers": answered["id"],
        "space.prototypes": aurora["id"],
        "prototype.feedback": reviewed["id"],
    }


async def test_every_connection_pages_both_ways_in_one_order(services: Services) -> None:
    targets = await _targets(services)
    paged: set[str] = set()
    for who in PERSONAS:
        for name in CONNECTIONS:
            parent = {"id": targets[name]} if name in targets else {}
            whole = await _connection(services, who, name, first=50, **parent)
            if whole is None:  # the parent is not theirs to see: nothing to page
                continue
            everything = _ids(whole)
            assert not whole["pageInfo"]["hasNextPage"], (who, name)

            forward: list[str] = []
            after = None
            for _ in range(60):
                page = await _connection(services, who, name, first=1, after=after, **parent)
                assert page is not None
                forward += _ids(page)
                info = page["pageInfo"]
                assert info["hasPreviousPage"] is (after is not None), (who, name)
                if not info["hasNextPage"]:
                    break
                after = info["endCursor"]
            assert forward == everything, (who, name)

            backward: list[str] = []
            before = None
            for _ in range(60):
                page = await _connection(services, who, name, last=1, before=before, **parent)
                assert page is not None
                backward = _ids(page) + backward
                info = page["pageInfo"]
                # Read from the end: hasNextPage says the cursor named something after.
                assert info["hasNextPage"] is (before is not None), (who, name)
                if not info["hasPreviousPage"]:
                    break
                assert len(page["edges"]) == 1, (who, name)
                before = info["startCursor"]
            assert backward == everything, (who, name)
            if len(everything) > 1:
                paged.add(name)
    assert paged == set(CONNECTIONS)  # every connection had more than one page for someone


async def test_last_page_and_window_between_cursors(services: Services) -> None:
    whole = await _connection(services, "erin@corp.example", "questions", first=50)
    assert whole is not None
    everything = _ids(whole)
    last = await _connection(services, "erin@corp.example", "questions", last=3)
    assert last is not None
    assert _ids(last) == everything[-3:]
    assert last["pageInfo"]["hasPreviousPage"] is True
    assert last["pageInfo"]["hasNextPage"] is False
    cursors = [e["cursor"] for e in whole["edges"]]
    before_fourth = await _connection(
        services, "erin@corp.example", "questions", last=2, before=cursors[3]
    )
    assert before_fourth is not None
    assert _ids(before_fourth) == everything[1:3]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 2, "last": 2}, "not both"),
        ({"after": "x", "before": "y"}, "not both"),
        ({"first": 2, "before": "y"}, "not both"),
        ({"last": 0}, "last must be between"),
        ({"last": 2, "before": "bm90LWEtY3Vyc29y"}, "invalid cursor"),
    ],
)
async def test_bad_backward_arguments_are_refused(
    services: Services, variables: dict[str, Any], message: str
) -> None:
    for name in ("spaces", "questions", "search"):
        query, _path = CONNECTIONS[name]
        result = await run(services, "erin@corp.example", query, variables)
        assert result.errors, (name, variables)
        assert message in str(result.errors[0].message), (name, result.errors)


COUNTED = {
    "question.answers": "question(id: $id) { answers(first: 50) { totalCount edges { cursor } } }",
    "space.prototypes": "space(id: $id) { prototypes(first: 50) { totalCount edges { cursor } } }",
    "prototype.feedback": "node(id: $id) { ... on Prototype { feedback(first: 50) "
    "{ totalCount edges { cursor } } } }",
}


async def test_total_counts_are_what_the_caller_can_page_through(services: Services) -> None:
    targets = await _targets(services)
    counted = 0
    for who in PERSONAS:
        for name, selection in COUNTED.items():
            result = await run(
                services, who, f"query($id: ID!) {{ {selection} }}", {"id": targets[name]}
            )
            assert not result.errors, (who, name, result.errors)
            parent = next(iter(result.data.values()))
            if not parent:  # not theirs to see: no count either
                continue
            page = next(iter(parent.values()))
            assert page["totalCount"] == len(page["edges"]), (who, name)
            # The same on a page of one: the count is the whole list's.
            small = selection.replace("first: 50", "first: 1")
            again = await run(
                services, who, f"query($id: ID!) {{ {small} }}", {"id": targets[name]}
            )
            one = next(iter(next(iter(again.data.values())).values()))
            assert len(one["edges"]) == 1 and one["totalCount"] == page["totalCount"]
            counted += 1
    assert counted >= len(COUNTED)


def test_an_edges_cursor_is_encoded_only_when_read() -> None:
    """The page info needs the first and last cursors; an edge's own is encoded when (and
    each time) a query selects it, with the same value it always had."""
    encoded: list[str] = []

    def cursor_of(node: str) -> str:
        encoded.append(node)
        return f"cursor-{node}"

    page = connection(["a", "b", "c"], True, cursor_of, has_previous=False)
    assert sorted(encoded) == ["a", "c"]
    assert (page.page_info.start_cursor, page.page_info.end_cursor) == ("cursor-a", "cursor-c")
    assert [edge.node for edge in page.edges] == ["a", "b", "c"]
    assert len(encoded) == 2  # reading the nodes encoded nothing more
    assert [edge.cursor for edge in page.edges] == ["cursor-a", "cursor-b", "cursor-c"]
    assert sorted(encoded) == ["a", "a", "b", "c", "c"]
    assert isinstance(page.edges[1], relay.Edge)
