"""The store contract, backward: every list read from its end (Relay's ``last``/``before``).

A page read ``backward`` holds the ``limit`` rows nearest ``before`` (or the end), in the
list's own order, and its ``has_next`` says more come before them. Walking backward from
the end must meet every row of the forward list exactly once, in the same order, and a
window between two cursors must hold exactly the rows between them. Every test runs
against each adapter on every reachable backend, with the adapter's demo data loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain.errors import InvalidCursor
from gateway.domain.model import SpaceKind
from gateway.stores.interface import AtTime, NameCursor, TimeCursor
from tests.adapters.contract import BAD_IDS, param_id, questions, space_ids, statements
from tests.adapters.contract_internal import INTERNAL_ADAPTER

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from gateway.domain.model import Page
    from tests.adapters.contract import Adapter

pytestmark = pytest.mark.backend

LIMITS = [1, 2, 3, 8]
NO_FILTERS: dict[str, Any] = {"space_ids": None, "unanswered": False, "tag": None}


def at(item: Any) -> TimeCursor:
    """The position of a time-ordered item inside its store."""
    return TimeCursor(item.created_at, AtTime.BELOW_ID, item.id)


async def walk_back(
    read: Callable[[Any], Awaitable[Page[Any]]],
    position: Callable[[Any], Any],
    limit: int,
) -> list[Any]:
    """Every item, read backward from the end a page at a time, in the list's order."""
    seen: list[Any] = []
    before = None
    for _ in range(40):  # bounded: a cursor that does not move fails, not hangs
        page = await read(before)
        assert len(page.items) <= limit
        assert len(page.items) == limit or not page.has_next
        seen = [*page.items, *seen]
        if not page.has_next:
            return seen
        before = position(page.items[0])
    raise AssertionError("backward paging did not reach the start")


@pytest.mark.parametrize("limit", LIMITS)
async def test_questions_backward_cover_everything_once(
    adapter: Adapter, store: Any, limit: int
) -> None:
    async def read(before: TimeCursor | None) -> Page[Any]:
        return await store.list_questions(
            adapter.everything, **NO_FILTERS, after=None, before=before, backward=True, limit=limit
        )

    seen = await walk_back(read, at, limit)
    assert [q.title for q in seen] == adapter.questions


async def test_questions_backward_is_the_end_of_the_list(adapter: Adapter, store: Any) -> None:
    last = await store.list_questions(
        adapter.everything, **NO_FILTERS, after=None, backward=True, limit=2
    )
    assert [q.title for q in last.items] == adapter.questions[-2:]
    assert last.has_next is (len(adapter.questions) > 2)
    # Filters and scope hold backward as forward: the open scope's last question.
    open_last = await store.list_questions(
        adapter.open, **NO_FILTERS, after=None, backward=True, limit=1
    )
    assert [q.title for q in open_last.items] == adapter.open_questions[-1:]
    nothing = await store.list_questions(
        adapter.nothing, **NO_FILTERS, after=None, backward=True, limit=5
    )
    assert nothing.items == [] and not nothing.has_next


async def test_questions_between_two_cursors(adapter: Adapter, store: Any) -> None:
    by_title = await questions(store, adapter.everything)
    titles = adapter.questions
    low, high = by_title[titles[0]], by_title[titles[-1]]
    inner = titles[1:-1]
    for backward in (False, True):
        page = await store.list_questions(
            adapter.everything,
            **NO_FILTERS,
            after=at(low),
            before=at(high),
            backward=backward,
            limit=100,
        )
        assert [q.title for q in page.items] == inner, backward
        assert not page.has_next


async def test_before_time_cursor_modes(adapter: Adapter, store: Any) -> None:
    pivot = (await questions(store, adapter.everything))[adapter.pivot]
    newer = adapter.questions[: adapter.questions.index(pivot.title)]
    cases = {
        # Another store's position at this instant, earlier in the order: rows here at that
        # time come before it; later in the order: they come after it.
        TimeCursor(pivot.created_at, AtTime.NONE): [*newer, pivot.title],
        TimeCursor(pivot.created_at, AtTime.ALL): newer,
        TimeCursor(pivot.created_at, AtTime.BELOW_ID, pivot.id): newer,
        TimeCursor(pivot.created_at, AtTime.BELOW_ID, str(int(pivot.id) - 1)): [
            *newer,
            pivot.title,
        ],
    }
    for cursor, expected in cases.items():
        page = await store.list_questions(
            adapter.everything, **NO_FILTERS, after=None, before=cursor, limit=100
        )
        assert [q.title for q in page.items] == expected, cursor


async def test_forged_before_cursors_are_refused(adapter: Adapter, store: Any) -> None:
    forged = TimeCursor(adapter.loaded_at, AtTime.BELOW_ID, "abc")
    with statements(store) as sent, pytest.raises(InvalidCursor):
        await store.list_questions(
            adapter.nothing, **NO_FILTERS, after=None, before=forged, backward=True, limit=1
        )
    with pytest.raises(InvalidCursor):
        await store.list_spaces(
            adapter.everything, kind=None, after=None, before=NameCursor("x", "abc"), limit=1
        )
    with pytest.raises(InvalidCursor):
        await store.search_questions(adapter.everything, "a", 2, before=forged)
    assert sent == []


@pytest.mark.parametrize("limit", LIMITS)
async def test_spaces_backward_cover_everything_once(
    adapter: Adapter, store: Any, limit: int
) -> None:
    forward = await store.list_spaces(adapter.everything, kind=None, after=None, limit=100)

    async def read(before: NameCursor | None) -> Page[Any]:
        return await store.list_spaces(
            adapter.everything, kind=None, after=None, before=before, backward=True, limit=limit
        )

    seen = await walk_back(read, lambda s: NameCursor(s.name, s.id), limit)
    assert [s.slug for s in seen] == [s.slug for s in forward.items]
    # A window between two spaces holds the ones between them.
    first, *inner, last = forward.items
    window = await store.list_spaces(
        adapter.everything,
        kind=None,
        after=NameCursor(first.name, first.id),
        before=NameCursor(last.name, last.id),
        backward=True,
        limit=100,
    )
    assert [s.slug for s in window.items] == [s.slug for s in inner]


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_questions_per_space_backward(adapter: Adapter, store: Any, limit: int) -> None:
    ids = await space_ids(store, adapter.everything)
    slugs = [slug for slug in adapter.per_space if slug in ids]

    async def pages(before: TimeCursor | None, wanted: Sequence[str]) -> dict[str, Page[Any]]:
        return await store.questions_for_spaces(
            wanted,
            unanswered=False,
            tag=None,
            after=None,
            before=before,
            backward=True,
            limit=limit,
        )

    # The last page of every space at once, in one statement.
    with statements(store) as sent:
        found = await pages(None, [ids[s] for s in slugs])
    assert len(sent) <= 2  # the windowed page, and the tags of its topics (community)
    for slug in slugs:
        expected = adapter.per_space[slug]
        assert [q.title for q in found[ids[slug]].items] == expected[-limit:], slug
        assert found[ids[slug]].has_next is (len(expected) > limit)
    for slug in slugs:
        space = ids[slug]

        async def read(before: TimeCursor | None, space: str = space) -> Page[Any]:
            return (await pages(before, [space]))[space]

        seen = await walk_back(read, at, limit)
        assert [q.title for q in seen] == adapter.per_space[slug], slug


@pytest.mark.parametrize("limit", [1, 2])
async def test_answers_backward(adapter: Adapter, store: Any, limit: int) -> None:
    everything = list((await questions(store, adapter.everything)).values())
    ids = [q.id for q in everything]
    forward = await store.answers_for_questions(ids, after=None, limit=100)
    last = await store.answers_for_questions(ids, after=None, backward=True, limit=limit)
    for question_id in ids:
        expected = [a.id for a in forward[question_id].items]
        assert [a.id for a in last[question_id].items] == expected[-limit:]
        assert last[question_id].has_next is (len(expected) > limit)

        async def read(before: TimeCursor | None, q: str = question_id) -> Page[Any]:
            return (
                await store.answers_for_questions(
                    [q], after=None, before=before, backward=True, limit=limit
                )
            )[q]

        assert [a.id for a in await walk_back(read, at, limit)] == expected


@pytest.mark.parametrize(("text", "limit"), [("a", 1), ("a", 3), ("?", 2)], ids=param_id)
async def test_search_backward(adapter: Adapter, store: Any, text: str, limit: int) -> None:
    forward = await store.search_questions(adapter.everything, text, 100)
    assert forward  # the demo data has matches, or the test proves nothing
    seen: list[Any] = []
    before = None
    for _ in range(40):
        found = await store.search_questions(
            adapter.everything, text, limit + 1, before=before, backward=True
        )
        more = len(found) > limit
        page = found[len(found) - limit :] if more else found
        seen = [*page, *seen]
        if not more:
            break
        before = at(page[0])
    assert [q.id for q in seen] == [q.id for q in forward]


@pytest.mark.parametrize("adapter", [INTERNAL_ADAPTER], ids=str)
async def test_prototypes_and_feedback_both_ways(adapter: Adapter, store: Any) -> None:
    limit = 1  # the demo has two prototypes in one space, and feedback of several on one
    spaces = await store.list_spaces(
        adapter.everything, kind=SpaceKind.PROTOTYPE_FEEDBACK, after=None, limit=100
    )
    wanted = [s.id for s in spaces.items]
    everything = await store.prototypes_for_spaces(wanted, limit=100)
    prototypes = [p for page in everything.values() for p in page.items]
    assert len(prototypes) > limit  # enough to page through, or the test proves nothing
    name_at = lambda p: NameCursor(p.name, p.id)  # noqa: E731
    for space in wanted:
        expected = [p.id for p in everything[space].items]

        async def forward(after: Any, space: str = space) -> Page[Any]:
            return (await store.prototypes_for_spaces([space], after=after, limit=limit))[space]

        async def backward(before: Any, space: str = space) -> Page[Any]:
            pages = await store.prototypes_for_spaces(
                [space], before=before, backward=True, limit=limit
            )
            return pages[space]

        assert [p.id for p in await walk_back(backward, name_at, limit)] == expected
        seen: list[Any] = []
        after = None
        for _ in range(40):
            page = await forward(after)
            seen += page.items
            if not page.has_next:
                break
            after = name_at(page.items[-1])
        assert [p.id for p in seen] == expected
    # Their counts, one indexed count for all parents; an id that names none is absent.
    counted = {s: len(p.items) for s, p in everything.items() if p.items}
    assert await store.prototype_counts([*wanted, *BAD_IDS]) == counted
    feedback = await store.feedback_for_prototypes([p.id for p in prototypes], limit=100)
    assert any(len(page.items) > limit for page in feedback.values())
    counted = {p: len(page.items) for p, page in feedback.items() if page.items}
    assert await store.feedback_counts([*feedback, *BAD_IDS]) == counted
    for prototype, page in feedback.items():
        expected = [f.id for f in page.items]

        async def back(before: Any, prototype: str = prototype) -> Page[Any]:
            pages = await store.feedback_for_prototypes(
                [prototype], before=before, backward=True, limit=limit
            )
            return pages[prototype]

        assert [f.id for f in await walk_back(back, at, limit)] == expected
        if expected:
            after_first = await store.feedback_for_prototypes(
                [prototype], after=at(page.items[0]), limit=100
            )
            assert [f.id for f in after_first[prototype].items] == expected[1:]


async def test_counts_of_what_a_store_has_not(adapter: Adapter, store: Any) -> None:
    # The forum has no prototypes: nothing counted, and no statement for nothing.
    ids = list((await space_ids(store, adapter.everything)).values())
    with statements(store) as sent:
        assert await store.prototype_counts(BAD_IDS) == {}
        assert await store.feedback_counts(BAD_IDS) == {}
    assert sent == []
    if adapter.name == "community":
        assert await store.prototype_counts(ids) == {}
