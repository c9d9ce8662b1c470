"""Notifications page both ways: first/after forward, last/before backward, one order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.personas import run
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

ASK = """mutation($i: AskQuestionInput!) { askQuestion(input: $i) { errors { code } } }"""
PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  notifications(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
PAULA = "paula@partner.example"


async def _page(services: Services, **variables: Any) -> dict[str, Any]:
    result = await run(services, PAULA, PAGE, variables)
    assert not result.errors, result.errors
    return result.data["notifications"]


def _ids(page: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


async def test_backward_pages_are_the_forward_order_read_from_the_end(
    services: Services,
) -> None:
    space = (await space_ids(services))[AURORA]
    for n in range(5):
        mention = {"spaceId": space, "title": f"Ping {n}", "body": "@paula"}
        asked = await run(services, "erin@corp.example", ASK, {"i": mention})
        assert asked.data["askQuestion"]["errors"] == []
    everything = _ids(await _page(services, first=50))
    assert len(everything) == 5

    forward: list[str] = []
    after = None
    while True:
        page = await _page(services, first=2, after=after)
        forward += _ids(page)
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert forward == everything

    backward: list[str] = []
    before = None
    while True:
        page = await _page(services, last=2, before=before)
        backward = _ids(page) + backward
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == everything
    # The last two are the oldest two, newest first, like the list.
    assert _ids(await _page(services, last=2)) == everything[-2:]
    # Back from an edge's cursor: what comes before it.
    cursor = (await _page(services, first=50))["edges"][3]["cursor"]
    assert _ids(await _page(services, last=2, before=cursor)) == everything[1:3]


async def test_mixing_directions_or_a_bad_last_is_refused(services: Services) -> None:
    for variables in ({"first": 1, "last": 1}, {"after": "x", "before": "y"}, {"last": 0}):
        result = await run(services, PAULA, PAGE, variables)
        assert result.errors and result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    bad = await run(services, PAULA, PAGE, {"last": 0})
    assert "last must be between" in bad.errors[0].message
