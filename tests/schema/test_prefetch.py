"""A page's authors and spaces are loaded with the page, not field by field.

Resolved one node at a time, each author and space was a coroutine graphql-core ran as a
task of its own, so a page's tasks grew with its size. Loaded together by the list
(gateway.schema.prefetch), the page is completed without any, and the answers are those the
fields give on their own.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.schema.prefetch import selected_in_nodes
from tests.personas import run

if TYPE_CHECKING:
    from gateway.runtime.services import Services

PAGE = """query($first: Int!) {
  questions(first: $first) {
    edges { node { title answerCount author { displayName } space { name } } }
  }
}"""

# The same fields through a fragment, an inline fragment and aliases.
FRAGMENTS = """query($first: Int!) {
  questions(first: $first) {
    edges { node { ...Who ... on Question { where: space { name } } } }
  }
}
fragment Who on Question { title answerCount by: author { displayName } }"""


class _Info:
    """What selected_in_nodes reads of strawberry's Info: graphql-core's resolve info."""

    def __init__(self, document: str) -> None:
        doc = parse(document)
        operation = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
        root = operation.selection_set.selections[0]
        assert isinstance(root, FieldNode)
        fragments = {
            d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._raw_info = type("Raw", (), {"field_nodes": [root], "fragments": fragments})()


WANTED = frozenset({"author", "space"})


@pytest.mark.parametrize(
    ("document", "selected"),
    [
        (PAGE, WANTED),
        (FRAGMENTS, WANTED),
        ("{ questions { nodes { author { handle } } } }", {"author"}),
        ("{ questions { edges { node { title } } } }", set()),
        ("{ questions { edges { cursor } pageInfo { hasNextPage } } }", set()),
        # A field of that name elsewhere than on the nodes is not theirs.
        ("{ questions { edges { node { acceptedAnswer { author { handle } } } } } }", set()),
    ],
)
def test_the_fields_selected_on_the_nodes_are_found_through_fragments(
    document: str, selected: set[str]
) -> None:
    assert selected_in_nodes(_Info(document), WANTED) == selected  # type: ignore[arg-type]


async def _execution_tasks(services: Services, query: str, first: int) -> tuple[list[str], Any]:
    """The tasks graphql-core makes while executing ``query`` (the stores' own calls and
    the loaders' batches are tasks too, but per batch, not per node)."""
    loop = asyncio.get_running_loop()
    made: list[str] = []
    default = loop.get_task_factory()

    def count(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        code = getattr(coro, "cr_code", None)
        if code is not None and "/graphql/" in code.co_filename:
            made.append(code.co_name)
        if default is not None:
            return default(loop, coro, **kwargs)  # type: ignore[return-value]
        return asyncio.Task(coro, loop=loop, **kwargs)

    await run(services, "erin@corp.example", query, {"first": first})  # warm: caches
    loop.set_task_factory(count)
    try:
        result = await run(services, "erin@corp.example", query, {"first": first})
    finally:
        loop.set_task_factory(default)
    assert result.errors is None, result.errors
    return made, result.data


@pytest.mark.parametrize("query", [PAGE, FRAGMENTS])
async def test_a_page_of_sixteen_is_completed_without_a_task_per_node(
    services: Services, query: str
) -> None:
    made, data = await _execution_tasks(services, query, 16)
    assert len(data["questions"]["edges"]) == 16
    assert made == []


async def test_prefetched_authors_and_spaces_are_those_the_fields_load(
    services: Services,
) -> None:
    """Through ``node(id)`` each question's author and space are resolved by their
    fields alone: the page must show the same."""
    page = await run(
        services,
        "erin@corp.example",
        "{ questions(first: 16) { edges { node {"
        " id author { id displayName } space { id name } } } } }",
    )
    assert page.errors is None, page.errors
    for edge in page.data["questions"]["edges"]:
        alone = await run(
            services,
            "erin@corp.example",
            "query($id: ID!) { node(id: $id) { ... on Question {"
            " author { id displayName } space { id name } } } }",
            {"id": edge["node"]["id"]},
        )
        assert alone.errors is None, alone.errors
        assert alone.data["node"] == {k: edge["node"][k] for k in ("author", "space")}
