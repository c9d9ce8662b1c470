"""A page of questions costs a fixed number of statements per store, whatever its size.

The DataLoaders batch every lookup, so within one request no statement shape runs
more than once per level of the query against a store (an N+1 would repeat one
shape N times), and the total stays
under a bound that does not depend on the page size.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import event

from tests.personas import run

if TYPE_CHECKING:
    from gateway.runtime.services import Services

PAGE = """query($first: Int!) {
  questions(first: $first) {
    edges { node { title tags answerCount createdAt
      author { displayName handle email }
      space { name }
      acceptedAnswer { body author { displayName } } } }
  }
}"""
# A bound-parameter list, in any driver's style: (?, ?), (%s, %s), ($1, $2), (:a, :b).
_PARAMS = re.compile(r"\(\s*(?:\?|%s|\$\d+|:\w+)(?:\s*,\s*(?:\?|%s|\$\d+|:\w+))*\s*\)")


def _shape(sql: str) -> str:
    return " ".join(_PARAMS.sub("(…)", sql).split())


SPACES_PAGE = """query($first: Int!) {
  spaces(first: $first) { edges { node { name memberCount viewerRole
    questions(first: 3) { edges { node { title answerCount author { displayName } } } }
    prototypes { edges { node { name feedback { edges { node { rating internalNote } } } } } }
  } } }
}"""


async def _statements(
    services: Services, first: int, query: str = PAGE
) -> tuple[dict[str, Counter[str]], int]:
    shapes: dict[str, Counter[str]] = {name.value: Counter() for name in services.stores}
    listeners = []
    for name, store in services.stores.items():

        def record(_conn, _cursor, sql: str, *_args: object, name: str = name.value) -> None:
            shapes[name][_shape(sql)] += 1

        event.listen(store.engine.sync_engine, "before_cursor_execute", record)
        listeners.append((store.engine.sync_engine, record))
    try:
        result = await run(services, "erin@corp.example", query, {"first": first})
    finally:
        for engine, fn in listeners:
            event.remove(engine, "before_cursor_execute", fn)
    assert result.errors is None, result.errors
    return shapes, len(next(iter(result.data.values()))["edges"])


@pytest.mark.backend
@pytest.mark.parametrize("first", [1, 8, 16])
async def test_no_statement_repeats_within_a_page(services: Services, first: int) -> None:
    shapes, count = await _statements(services, first)
    assert count == first
    for store, counter in shapes.items():
        # People are looked up at two levels of PAGE (question authors, then the accepted
        # answers' authors), so one batch per level: a shape may run twice, never per row.
        repeated = {sql: n for sql, n in counter.items() if n > 2}
        assert not repeated, f"{store} store ran a statement per row: {repeated}"
        # memberships, questions, tags, authors x2, linking x2, answer counts, spaces, answers
        assert sum(counter.values()) <= 12, (store, list(counter))


@pytest.mark.backend
@pytest.mark.parametrize("first", [1, 8])
async def test_nested_lists_under_a_page_of_spaces_are_batched(
    services: Services, first: int
) -> None:
    shapes, count = await _statements(services, first, SPACES_PAGE)
    assert count == first
    for store, counter in shapes.items():
        repeated = {sql: n for sql, n in counter.items() if n > 2}
        assert not repeated, f"{store} store ran a statement per space: {repeated}"


@pytest.mark.backend
async def test_the_shape_check_catches_a_loop(services: Services) -> None:
    """The check above can fail: one lookup per question repeats a shape."""
    store = next(iter(services.stores.values()))
    from gateway.stores.scope import Grants, StoreScope

    everything = StoreScope(store.name, allow=Grants(everything=True))
    seen: Counter[str] = Counter()

    def record(_conn, _cursor, sql: str, *_args: object) -> None:
        seen[_shape(sql)] += 1

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        for native_id in ("1", "2", "3", "4"):
            await store.spaces_by_ids([native_id], everything)
        await store.spaces_by_ids(["1", "2", "3", "4"], everything)
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    assert max(seen.values()) > 2
