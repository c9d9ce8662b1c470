"""The store contract, part one: reachability, empty scopes, spaces, batching and cursors.

Every test runs against each adapter (tests/adapters/contract.py says what differs) on every
reachable backend, with the adapter's demo data loaded.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain.errors import InvalidCursor
from gateway.domain.model import Page, SpaceKind
from gateway.stores.guard import GuardedStore
from gateway.stores.interface import AtTime, NameCursor, Store, StoreUnavailable, TimeCursor
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
    from gateway.stores.scope import StoreScope
    from tests.adapters.contract import Adapter

pytestmark = pytest.mark.backend


# --- surface and reachability ---------------------------------------------------------


async def test_implements_store_and_pings(adapter: Adapter, store: Any) -> None:
    assert isinstance(store, Store)
    assert store.name is adapter.store_name
    await store.ping()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres:s3cret-pw@127.0.0.1:1/x",
        "mysql+asyncmy://root:s3cret-pw@127.0.0.1:1/x",
        "sqlite+aiosqlite:////nonexistent-dir/s3cret-pw/store.db",
    ],
)
async def test_ping_unreachable_names_the_store_without_the_password(
    adapter: Adapter, url: str
) -> None:
    store = adapter.make(url)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            await store.ping()
    finally:
        await store.close()
    assert f"{adapter.name} store" in str(raised.value)
    if "@" in url:
        assert "s3cret-pw" not in str(raised.value)


async def test_other_methods_let_the_driver_error_through_to_the_guard(adapter: Adapter) -> None:
    store = adapter.make("postgresql+asyncpg://postgres:s3cret@127.0.0.1:1/x")
    try:
        # The gateway's guard is the one place that makes it StoreUnavailable.
        with pytest.raises(OSError):
            await store.list_spaces(adapter.everything, kind=None, after=None, limit=5)
        guarded = GuardedStore(store, deadline=5.0)
        with pytest.raises(StoreUnavailable) as info:
            await guarded.list_spaces(adapter.everything, kind=None, after=None, limit=5)
        assert f"{adapter.name} store unavailable at postgresql+asyncpg://" in str(info.value)
        assert "s3cret" not in str(info.value)
    finally:
        await store.close()


@pytest.mark.parametrize("scope_name", ["nothing", "deny_all"])
async def test_empty_scope_sends_no_statement(
    adapter: Adapter, store: Any, scope_name: str
) -> None:
    scope = adapter.nothing if scope_name == "nothing" else adapter.deny_all
    ids = list((await space_ids(store, adapter.everything)).values())
    with statements(store) as sent:
        assert await store.list_spaces(scope, kind=None, after=None, limit=10) == Page()
        assert await store.spaces_by_ids(ids, scope) == {}
        page = await store.list_questions(
            scope, space_ids=None, unanswered=False, tag=None, after=None, limit=5
        )
        assert page == Page()
        assert await store.questions_by_ids([str(n) for n in range(1, 20)], scope) == {}
        assert await store.search_questions(scope, "aurora", 10) == []
        assert await store.search_questions(scope, "pair", 10) == []
        assert await store.search_questions(scope, "a", 5) == []
        assert await store.answers_by_ids(["1", "2"], scope) == {}
        assert await store.prototypes_by_ids(["1", "2"], scope) == {}
        assert await store.feedback_by_ids(["1", "2"], scope) == {}
        assert await store.people_by_ids(["abc"]) == {}
        assert await store.answer_counts([]) == {}
    assert sent == []


# --- spaces ------------------------------------------------------------------------


@pytest.mark.parametrize(("adapter", "scope", "expected"), each("space_scopes"), ids=param_id)
async def test_list_spaces_by_scope(
    adapter: Adapter, store: Any, scope: str, expected: list[str]
) -> None:
    page = await store.list_spaces(adapter.scope(scope), kind=None, after=None, limit=10)
    names = adapter.space_names
    assert [(s.slug, s.name) for s in page.items] == [(slug, names[slug]) for slug in expected]
    assert not page.has_next


@pytest.mark.parametrize(
    ("adapter", "kind", "expected", "expected_open"), each("space_kinds"), ids=param_id
)
async def test_list_spaces_by_kind(
    adapter: Adapter, store: Any, kind: SpaceKind, expected: list[str], expected_open: list[str]
) -> None:
    with statements(store) as sent:
        page = await store.list_spaces(adapter.everything, kind=kind, after=None, limit=10)
    assert [space.slug for space in page.items] == expected
    assert all(space.kind is kind for space in page.items)
    if kind in adapter.kinds_not_held:  # a kind the store cannot hold is not looked for
        assert sent == []
    page = await store.list_spaces(adapter.open, kind=kind, after=None, limit=10)
    assert [space.slug for space in page.items] == expected_open


async def _walk_spaces(adapter: Adapter, store: Any, limit: int) -> tuple[list[str], list[bool]]:
    seen: list[str] = []
    flags: list[bool] = []
    after = None
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        page = await store.list_spaces(adapter.everything, kind=None, after=after, limit=limit)
        assert len(page.items) <= limit
        seen += [space.slug for space in page.items]
        flags.append(page.has_next)
        if not page.has_next:
            break
        after = NameCursor(page.items[-1].name, page.items[-1].id)
    return seen, flags


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 6])
async def test_list_spaces_pages_cover_everything_once(
    adapter: Adapter, store: Any, limit: int
) -> None:
    slugs = sorted(adapter.space_names, key=lambda slug: adapter.space_names[slug])
    for twinned in (False, True):
        if twinned:  # two more spaces named like one: ties on name are broken by id
            await adapter.add_twins(store)
            twin = slugs.index(adapter.twin[0])
            slugs[twin + 1 : twin + 1] = [f"{adapter.twin[0]}-2", f"{adapter.twin[0]}-3"]
        full = await store.list_spaces(adapter.everything, kind=None, after=None, limit=100)
        assert [s.slug for s in full.items] == slugs
        seen, flags = await _walk_spaces(adapter, store, limit)
        assert seen == slugs
        pages = -(-len(slugs) // limit)
        assert flags == [True] * (pages - 1) + [False]


async def test_list_spaces_breaks_name_ties_by_id(adapter: Adapter, store: Any) -> None:
    slug, name, expected = adapter.twin
    await adapter.add_twins(store)
    seen: list[str] = []
    after: NameCursor | None = NameCursor(name, (await space_ids(store, adapter.everything))[slug])
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        if after is None:
            break
        page = await store.list_spaces(adapter.open, kind=None, after=after, limit=1)
        seen += [space.slug for space in page.items]
        after = NameCursor(page.items[-1].name, page.items[-1].id) if page.has_next else None
    assert seen == expected


async def test_spaces_by_ids(adapter: Adapter, store: Any) -> None:
    ids = await space_ids(store, adapter.everything)
    wanted = [*ids.values(), *BAD_IDS, "424242"]
    found = await store.spaces_by_ids(wanted, adapter.open)
    assert {space.slug for space in found.values()} == adapter.open_slugs
    assert set(found) == {ids[slug] for slug in adapter.open_slugs}
    assert all(found[key].id == key for key in found)
    found = await store.spaces_by_ids(wanted, adapter.deny)
    assert {space.slug for space in found.values()} == adapter.deny_slugs
    assert all(found[key].id == key for key in found)
    tagged, tags = adapter.tagged_space
    assert found[ids[tagged]].tags == tags
    assert await store.spaces_by_ids(BAD_IDS, adapter.everything) == {}
    assert await store.spaces_by_ids(["abc"], adapter.everything) == {}


@pytest.mark.parametrize(("adapter", "after", "expected"), each("member_counts"), ids=param_id)
async def test_member_counts_respect_now(
    adapter: Adapter, store: Any, after: timedelta, expected: dict[str, int]
) -> None:
    ids = await space_ids(store, adapter.everything)
    # The caller's clock may be in any time zone.
    now = (adapter.loaded_at + after).astimezone(timezone(timedelta(hours=-5)))
    counts = await store.member_counts([*ids.values(), "abc"], now)
    assert counts == {ids[slug]: n for slug, n in expected.items()}


# --- batching ------------------------------------------------------------------------


async def _found_both(both: Any) -> dict[str, Any]:
    """Everything :meth:`people_by_ids_and_emails` found, by id then by email."""
    by_id, by_email = await both
    return {**{f"id:{k}": v for k, v in by_id.items()}, **by_email}


async def test_batched_lookups_send_the_same_statements_for_1_or_20_ids(
    adapter: Adapter, store: Any
) -> None:
    now = adapter.loaded_at
    everything = adapter.everything
    spaces = list((await space_ids(store, everything)).values())
    by_title = await questions(store, everything)
    # Questions with answers first: the single id must find something.
    qs = [by_title[t].id for t in sorted(by_title, key=lambda t: -adapter.answer_counts[t])]
    answers = await store.answers_for_questions(qs, after=None, limit=5)
    answer_ids = [a.id for page in answers.values() for a in page.items]
    prototypes = await store.prototypes_for_spaces(spaces, limit=5)
    prototype_ids = [p.id for page in prototypes.values() for p in page.items]
    feedback = await store.feedback_for_prototypes(prototype_ids, limit=5)
    feedback_ids = [f.id for page in feedback.values() for f in page.items]
    people = await store.people_by_emails(sorted(adapter.profiled))
    person_ids = [p.id for p in people.values()]
    emails = sorted(adapter.profiled) + [f"x{n}@corp.example" for n in range(20)]
    padding = [str(n) for n in range(900, 920)]

    lookups: dict[str, tuple[Any, list[str]]] = {
        "spaces_by_ids": (lambda ids: store.spaces_by_ids(ids, everything), spaces),
        "member_counts": (lambda ids: store.member_counts(ids, now), spaces),
        "questions_by_ids": (lambda ids: store.questions_by_ids(ids, everything), qs),
        "questions_for_spaces": (
            lambda ids: store.questions_for_spaces(
                ids, unanswered=False, tag=None, after=None, limit=3
            ),
            spaces,
        ),
        "answers_for_questions": (
            lambda ids: store.answers_for_questions(ids, after=None, limit=3),
            qs,
        ),
        "answers_by_ids": (lambda ids: store.answers_by_ids(ids, everything), answer_ids),
        "answer_counts": (store.answer_counts, qs),
        "prototypes_for_spaces": (lambda ids: store.prototypes_for_spaces(ids, limit=3), spaces),
        "prototypes_by_ids": (lambda ids: store.prototypes_by_ids(ids, everything), prototype_ids),
        "feedback_for_prototypes": (
            lambda ids: store.feedback_for_prototypes(ids, limit=3),
            prototype_ids,
        ),
        "feedback_by_ids": (lambda ids: store.feedback_by_ids(ids, everything), feedback_ids),
        # Parents with something to count first: the single id must find something.
        "prototype_counts": (store.prototype_counts, [s for s, p in prototypes.items() if p.items]),
        "feedback_counts": (store.feedback_counts, [p for p, f in feedback.items() if f.items]),
        "people_by_ids": (store.people_by_ids, person_ids),
        "people_by_emails": (lambda ids: store.people_by_emails(emails[: len(ids)]), emails),
        "people_by_ids_and_emails": (
            lambda ids: _found_both(store.people_by_ids_and_emails(ids, emails[: len(ids)])),
            person_ids,
        ),
    }
    assert set(lookups) == set(adapter.statement_counts)
    for name, (lookup, real) in lookups.items():
        expected = adapter.statement_counts[name]
        one = (real or padding)[:1]
        twenty = (real + padding + ["abc"])[:20]
        with statements(store) as sent_one:
            small = await lookup(one)
        with statements(store) as sent_twenty:
            large = await lookup(twenty)
        if expected:  # something real was asked for, and found
            assert small, name
        assert len(large) >= len(small), name
        assert len(sent_one) == len(sent_twenty) == expected, (name, sent_one, sent_twenty)


# --- forged cursors ------------------------------------------------------------------


@pytest.mark.parametrize("forged", ["abc", "", "01", "-3", "99999999999999999999"])
async def test_forged_cursor_ids_are_rejected(adapter: Adapter, store: Any, forged: str) -> None:
    at = adapter.loaded_at - timedelta(days=1)
    with pytest.raises(InvalidCursor):
        await store.list_spaces(
            adapter.everything, kind=None, after=NameCursor("Engineering", forged), limit=5
        )
    scopes: tuple[StoreScope, ...] = (adapter.everything, adapter.nothing)
    for scope in scopes:  # rejected before the scope is even looked at
        with pytest.raises(InvalidCursor):
            await titles(store, scope, after=TimeCursor(at, AtTime.BELOW_ID, forged))
    with pytest.raises(InvalidCursor):
        await store.answers_for_questions(
            ["2"], after=TimeCursor(at, AtTime.BELOW_ID, forged), limit=5
        )
    # (Whether a forged cursor is also rejected when nothing would be queried, for spaces in
    # an empty scope or for no valid space id, differs: see the adapters' own tests.)
    with pytest.raises(InvalidCursor):
        await store.questions_for_spaces(
            ["2"],
            unanswered=False,
            tag=None,
            after=TimeCursor(at, AtTime.BELOW_ID, forged),
            limit=5,
        )
