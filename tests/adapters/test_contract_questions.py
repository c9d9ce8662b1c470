"""The store contract, part two: questions, listed, paged, looked up, searched, per space.

Every test runs against each adapter (tests/adapters/contract.py says what differs) on every
reachable backend, with the adapter's demo data loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain.errors import InvalidCursor
from gateway.domain.model import Page
from gateway.stores.interface import AtTime, TimeCursor
from tests.adapters.contract import (
    BAD_IDS,
    param_id,
    questions,
    space_ids,
    statements,
    titles,
)
from tests.adapters.contract_adapters import each

if TYPE_CHECKING:
    from tests.adapters.contract import Adapter

pytestmark = pytest.mark.backend


@pytest.mark.parametrize(("adapter", "scope", "expected"), each("question_scopes"), ids=param_id)
async def test_list_questions_by_scope(
    adapter: Adapter, store: Any, scope: str, expected: list[str]
) -> None:
    assert await titles(store, adapter.scope(scope)) == expected


async def test_list_questions_filters(adapter: Adapter, store: Any) -> None:
    ids = await space_ids(store, adapter.everything)
    for scope, filters, expected in adapter.question_filters:
        if "space_ids" in filters:  # slugs name spaces, anything else is passed on as it is
            filters = filters | {"space_ids": [ids.get(s, s) for s in filters["space_ids"]]}
        assert await titles(store, adapter.scope(scope), **filters) == expected, (scope, filters)
    # No space id that can name a space: nothing to ask.
    with statements(store) as sent:
        assert await titles(store, adapter.everything, space_ids=["abc"]) == []
        assert await titles(store, adapter.everything, space_ids=[]) == []
    assert sent == []


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 8, 9])
async def test_list_questions_pages_cover_everything_once(
    adapter: Adapter, store: Any, limit: int
) -> None:
    seen: list[str] = []
    after = None
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        page = await store.list_questions(
            adapter.everything, space_ids=None, unanswered=False, tag=None, after=after, limit=limit
        )
        seen += [question.title for question in page.items]
        assert len(page.items) == limit or not page.has_next
        if not page.has_next:
            break
        last = page.items[-1]
        after = TimeCursor(last.created_at, AtTime.BELOW_ID, last.id)
    assert seen == adapter.questions


async def test_time_cursor_modes(adapter: Adapter, store: Any) -> None:
    pivot = (await questions(store, adapter.everything))[adapter.pivot]
    older = adapter.questions[adapter.questions.index(pivot.title) + 1 :]
    # A cursor in another time zone names the same instant: any aware time is compared in UTC.
    elsewhere = [
        pivot.created_at.astimezone(timezone(timedelta(hours=5, minutes=30))),
        pivot.created_at.astimezone(timezone(timedelta(hours=-5))),
    ]
    for at in (pivot.created_at, *elsewhere):
        cases = {
            TimeCursor(at): older,
            TimeCursor(at, AtTime.NONE): older,
            TimeCursor(at, AtTime.ALL): [pivot.title, *older],
            TimeCursor(at, AtTime.BELOW_ID, pivot.id): older,
            TimeCursor(at, AtTime.BELOW_ID, str(int(pivot.id) + 1)): [pivot.title, *older],
        }
        for cursor, expected in cases.items():
            assert await titles(store, adapter.everything, after=cursor) == expected, cursor
    with pytest.raises(InvalidCursor, match="invalid cursor"):
        await titles(store, adapter.everything, after=TimeCursor(at, AtTime.BELOW_ID, "abc"))


async def test_time_cursor_modes_with_equal_times(adapter: Adapter, store: Any) -> None:
    ids = await space_ids(store, adapter.everything)
    same = adapter.tie_at  # older than every demo question, microseconds included
    tied = [
        await adapter.add_question(store, adapter.tie_space, f"Tie {n}", same) for n in range(3)
    ]
    mine = [ids[adapter.tie_space]]
    ties = ["Tie 2", "Tie 1", "Tie 0"]  # same time: higher id first
    assert await titles(store, adapter.everything, space_ids=mine) == [
        *adapter.per_space[adapter.tie_space],
        *ties,
    ]
    by_title = await questions(store, adapter.everything)
    at = same.replace(tzinfo=UTC)
    assert [by_title[t].created_at for t in ties] == [at] * 3  # exact round-trip
    assert [by_title[t].id for t in ties] == tied[::-1]
    everything = adapter.everything
    assert await titles(store, everything, space_ids=mine, after=TimeCursor(at)) == []
    assert await titles(store, everything, space_ids=mine, after=TimeCursor(at, AtTime.ALL)) == ties
    # The ties are the oldest questions of all.
    assert await titles(store, everything) == [*adapter.questions, *ties]
    assert await titles(store, everything, after=TimeCursor(at, AtTime.NONE)) == []
    assert await titles(store, everything, after=TimeCursor(at, AtTime.ALL)) == ties
    below_tie_2 = TimeCursor(at, AtTime.BELOW_ID, by_title["Tie 2"].id)
    assert await titles(store, everything, after=below_tie_2) == ties[1:]

    # Walking one row at a time through the tie loses nothing and repeats nothing.
    seen: list[str] = []
    after = TimeCursor(at + timedelta(microseconds=1))
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        page = await store.list_questions(
            everything, space_ids=mine, unanswered=False, tag=None, after=after, limit=1
        )
        seen += [q.title for q in page.items]
        if not page.has_next:
            break
        assert page.items[0].created_at == at  # exact to the microsecond
        after = TimeCursor(page.items[0].created_at, AtTime.BELOW_ID, page.items[0].id)
    assert seen == ties

    # And so does walking everything, whatever the page size.
    for limit in (1, 2, 3, 4):
        walked: list[str] = []
        cursor = None
        for _ in range(20):
            page = await store.list_questions(
                everything, space_ids=None, unanswered=False, tag=None, after=cursor, limit=limit
            )
            walked.extend(q.title for q in page.items)
            if not page.has_next:
                break
            last = page.items[-1]
            cursor = TimeCursor(last.created_at, AtTime.BELOW_ID, last.id)
        assert walked == [*adapter.questions, *ties], limit


async def test_time_cursor_ignores_the_id_unless_below_id(adapter: Adapter, store: Any) -> None:
    pivot = (await questions(store, adapter.everything))[adapter.pivot]
    older = adapter.questions[adapter.questions.index(pivot.title) + 1 :]
    everything = adapter.everything
    assert await titles(store, everything, after=TimeCursor(pivot.created_at, id="x")) == older
    with pytest.raises(InvalidCursor):  # BELOW_ID without an id cannot be honoured
        await titles(store, everything, after=TimeCursor(pivot.created_at, AtTime.BELOW_ID))
    pages = await store.questions_for_spaces(
        [pivot.space_id],
        unanswered=False,
        tag=None,
        after=TimeCursor(pivot.created_at, id="x"),
        limit=5,
    )
    slug = {v: k for k, v in (await space_ids(store, everything)).items()}[pivot.space_id]
    assert [q.title for q in pages[pivot.space_id].items] == [
        title for title in older if title in adapter.per_space[slug]
    ]
    with pytest.raises(InvalidCursor):
        await store.questions_for_spaces(
            [pivot.space_id],
            unanswered=False,
            tag=None,
            after=TimeCursor(pivot.created_at, AtTime.BELOW_ID),
            limit=5,
        )


async def test_questions_by_ids(adapter: Adapter, store: Any) -> None:
    by_title = await questions(store, adapter.everything)
    non_questions = await adapter.non_questions(store)
    wanted = [q.id for q in by_title.values()] + [*non_questions, *BAD_IDS, "99999"]
    found = await store.questions_by_ids(wanted, adapter.everything)
    assert set(found) == {q.id for q in by_title.values()}
    assert all(key == q.id for key, q in found.items())
    assert found[by_title[adapter.pivot].id] == by_title[adapter.pivot]
    found = await store.questions_by_ids(wanted, adapter.open)
    assert sorted(q.title for q in found.values()) == sorted(adapter.open_questions)
    found = await store.questions_by_ids(wanted, adapter.one)
    assert sorted(q.title for q in found.values()) == sorted(adapter.one_questions)
    title, tags = adapter.tagged_question
    assert (await store.questions_by_ids(wanted, adapter.everything))[
        by_title[title].id
    ].tags == tags


@pytest.mark.parametrize(
    ("adapter", "scope", "text", "limit", "expected"), each("searches"), ids=param_id
)
async def test_search_questions(
    adapter: Adapter, store: Any, scope: str, text: str, limit: int, expected: list[str]
) -> None:
    found = await store.search_questions(adapter.scope(scope), text, limit)
    assert [q.title for q in found] == expected


async def test_search_is_literal_and_folds_unicode(adapter: Adapter, store: Any) -> None:
    space = min(adapter.open_slugs)
    for n, subject in enumerate(
        [
            "500 off renewals",
            "50% off renewals",
            "100% uptime?",
            "Über-Sensor pairing",
            "snake_case",
        ]
    ):
        await adapter.add_question(store, space, subject, datetime(2025, 1, 1, 0, 0, n))

    async def search(text: str) -> list[str]:
        return [q.title for q in await store.search_questions(adapter.open, text, 10)]

    assert await search("0% up") == ["100% uptime?"]
    assert await search("50%") == ["50% off renewals"]
    assert await search("%") == ["100% uptime?", "50% off renewals"]
    assert await search("e_c") == ["snake_case"]
    assert await search("über-s") == ["Über-Sensor pairing"]


async def test_search_pages_on_after_a_cursor(adapter: Adapter, store: Any) -> None:
    """search_questions with ``after``: the rest of the same newest-first order, one page at
    a time, and a forged cursor refused even where the scope admits nothing."""
    whole = await store.search_questions(adapter.everything, "e", 100)
    assert len(whole) >= 3
    paged: list[Any] = []
    after = None
    while True:
        page = await store.search_questions(adapter.everything, "e", 2, after)
        paged += page
        if len(page) < 2:
            break
        last = page[-1]
        after = TimeCursor(last.created_at, AtTime.BELOW_ID, last.id)
    assert [q.id for q in paged] == [q.id for q in whole]
    newest = whole[0]
    at = TimeCursor(newest.created_at, AtTime.NONE)
    assert all(
        q.created_at < newest.created_at
        for q in await store.search_questions(adapter.everything, "e", 100, at)
    )
    for scope in (adapter.everything, adapter.nothing):
        with pytest.raises(InvalidCursor):
            await store.search_questions(
                scope, "e", 5, TimeCursor(newest.created_at, AtTime.BELOW_ID, "x")
            )


# --- questions per space ------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_questions_for_spaces_match_list_questions(
    adapter: Adapter, store: Any, limit: int
) -> None:
    enriched = await adapter.enrich(store)
    ids = await space_ids(store, adapter.everything)
    junk = ["abc", "007", "424242"]
    requested = [*ids.values(), *junk]
    shapes: set[tuple[int, bool]] = set()
    for unanswered, tag in enriched.filters:
        for after in enriched.cursors:
            filters: dict[str, Any] = {"unanswered": unanswered, "tag": tag, "after": after}
            pages = await store.questions_for_spaces(requested, **filters, limit=limit)
            assert list(pages) == requested
            for other in junk:
                assert pages[other] == Page()
            for slug, space_id in ids.items():
                expected = await store.list_questions(
                    adapter.everything, space_ids=[space_id], **filters, limit=limit
                )
                assert pages[space_id] == expected, (slug, filters)
                assert len(expected.items) <= limit
                shapes.add((len(expected.items), expected.has_next))
    # Not vacuous: full pages with more, last pages, short pages and empty ones (and, where
    # the added topics make one, a full page with nothing after it).
    assert {(limit, True), (0, False)} <= shapes
    assert any(size and not more for size, more in shapes)
    assert limit == 1 or any(0 < size < limit for size, _ in shapes)
    if enriched.full_last_page:
        assert (limit, False) in shapes


async def test_questions_for_spaces_invalid_ids_and_cursor(adapter: Adapter, store: Any) -> None:
    ids = await space_ids(store, adapter.everything)
    options: dict[str, Any] = {"unanswered": False, "tag": None}
    # No valid id: no statement at all. (What a forged cursor does then differs: see the
    # adapters' own tests.)
    with statements(store) as sent:
        pages = await store.questions_for_spaces(BAD_IDS, **options, after=None, limit=5)
        assert pages == {bad: Page() for bad in BAD_IDS}
        assert (
            await store.questions_for_spaces([], unanswered=True, tag="x", after=None, limit=5)
            == {}
        )
    assert sent == []
    # A valid but unknown one: no tags to fetch.
    with statements(store) as sent:
        assert await store.questions_for_spaces(["424242"], **options, after=None, limit=5) == {
            "424242": Page()
        }
    assert len(sent) == 1

    slug = next(iter(adapter.per_space))
    space = ids[slug]
    pages = await store.questions_for_spaces(
        [space, "0" + space, "424242", space], **options, after=None, limit=5
    )
    assert list(pages) == [space, "0" + space, "424242"]
    assert pages["0" + space] == pages["424242"] == Page()
    assert [q.title for q in pages[space].items] == adapter.per_space[slug]

    # limit 0 still says whether there is anything.
    pages = await store.questions_for_spaces(list(ids.values()), **options, after=None, limit=0)
    assert {sid for sid, page in pages.items() if page.has_next} == {
        ids[s] for s, titles_ in adapter.per_space.items() if titles_
    }
    assert all(page.items == [] for page in pages.values())

    for bad_id in ("abc", "", None, "0", "007"):
        with pytest.raises(InvalidCursor, match="invalid cursor"):
            await store.questions_for_spaces(
                [space],
                **options,
                after=TimeCursor(adapter.loaded_at, AtTime.BELOW_ID, bad_id),
                limit=5,
            )


async def test_questions_for_spaces_send_the_same_statements_for_1_or_all_spaces(
    adapter: Adapter, store: Any
) -> None:
    enriched = await adapter.enrich(store)
    by_slug = await space_ids(store, adapter.everything)
    busy, ids = by_slug[enriched.busy], list(by_slug.values())
    for filters in (
        {"unanswered": False, "tag": None, "after": None},
        {"unanswered": False, "tag": enriched.tag, "after": None},
        {"unanswered": True, "tag": enriched.tag, "after": TimeCursor(enriched.tie, AtTime.ALL)},
    ):
        with statements(store) as sent_one:
            one = await store.questions_for_spaces([busy], **filters, limit=2)
        with statements(store) as sent_all:
            every = await store.questions_for_spaces(
                [*ids, *ids, "abc", "424242"], **filters, limit=2
            )
        assert one[busy].items, filters
        assert every[busy] == one[busy]
        assert sum(len(page.items) for page in every.values()) > len(one[busy].items)
        # One ranked statement for the topics, one for all their tags.
        assert len(sent_one) == len(sent_all) == 2, (sent_one, sent_all)
        assert "row_number" in sent_all[0].lower()
        assert "topic_tags" in sent_all[1].lower()
