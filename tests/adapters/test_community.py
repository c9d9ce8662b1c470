"""The community store adapter against real SQLite, PostgreSQL and MariaDB databases."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, insert, select

import adapters.community
from adapters.community import CommunityStore
from adapters.community import _tables as t
from gateway.domain.demo import DemoAnswer, DemoMember, demo_data
from gateway.domain.errors import InvalidCursor
from gateway.domain.model import Page, SpaceKind, SpaceRole, StoreName, Visibility
from gateway.stores.guard import GuardedStore
from gateway.stores.interface import AtTime, NameCursor, Store, StoreUnavailable, TimeCursor
from gateway.stores.scope import Grants, StoreScope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from gateway.domain.demo import DemoSpace
    from tests.databases import DatabaseFactory

C = StoreName.COMMUNITY
NOW = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

EVERYTHING = StoreScope(C, allow=Grants(everything=True))
PUBLIC = StoreScope(C, allow=Grants(visibilities=frozenset({Visibility.PUBLIC})))
NOT_MEMBERS = StoreScope(
    C,
    allow=Grants(everything=True),
    deny=Grants(visibilities=frozenset({Visibility.MEMBERS})),
)
CHAMPIONS = StoreScope(C, allow=Grants(spaces=frozenset({(Visibility.TRUSTED, "champions")})))
# The right slug under the wrong visibility class names no space.
CHAMPIONS_AS_PUBLIC = StoreScope(
    C, allow=Grants(spaces=frozenset({(Visibility.PUBLIC, "champions")}))
)
NOTHING = StoreScope(C)
DENY_ALL = StoreScope(C, allow=Grants(everything=True), deny=Grants(everything=True))

# Demo questions in load order (oldest first) per category.
SUPPORT_QS = ["Sensor will not pair", "Does the hub support IPv6?", "Bulk pricing for installers?"]
IDEAS_QS = ["Dark mode for the app", "Webhook on alarms"]
LOUNGE_QS = ["Hello from Berlin", "Favourite automation?"]
CHAMPIONS_QS = ["Beta programme for Aurora", "Champion meetup agenda"]
ALL_NEWEST_FIRST = (SUPPORT_QS + IDEAS_QS + LOUNGE_QS + CHAMPIONS_QS)[::-1]
PUBLIC_NEWEST_FIRST = (SUPPORT_QS + IDEAS_QS)[::-1]
UNANSWERED = {
    "Does the hub support IPv6?",
    "Bulk pricing for installers?",  # answered, but nothing accepted
    "Webhook on alarms",
    "Hello from Berlin",
    "Favourite automation?",
    "Champion meetup agenda",
}


@pytest.fixture
async def store(databases: DatabaseFactory) -> AsyncIterator[CommunityStore]:
    s = CommunityStore(await databases.create("community"))
    try:
        await s.create_schema()
        await s.load_demo(demo_data(NOW))
        yield s
    finally:
        await s.close()


@contextmanager
def counting(s: CommunityStore) -> Iterator[list[str]]:
    """Collects every SQL statement the store's engine sends while the block runs."""
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(s.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(s.engine.sync_engine, "before_cursor_execute", before)


async def space_ids(s: CommunityStore) -> dict[str, str]:
    page = await s.list_spaces(EVERYTHING, kind=None, after=None, limit=100)
    return {space.slug: space.id for space in page.items}


async def questions(s: CommunityStore) -> dict[str, str]:
    page = await s.list_questions(
        EVERYTHING, space_ids=None, unanswered=False, tag=None, after=None, limit=100
    )
    return {q.title: q.id for q in page.items}


async def user_ids(s: CommunityStore) -> dict[str, int]:
    async with s.engine.connect() as conn:
        return dict((await conn.execute(select(t.users.c.username, t.users.c.id))).all())


async def native(s: CommunityStore, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows natively (what the demo does not cover) and return their ids."""
    async with s.engine.begin() as conn:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        result = await conn.execute(stmt, rows)
        return [row.id for row in result]


async def titles(s: CommunityStore, scope: StoreScope, **kw: Any) -> list[str]:
    args: dict[str, Any] = {"space_ids": None, "unanswered": False, "tag": None, "after": None}
    page = await s.list_questions(scope, **(args | {"limit": 100} | kw))
    return [q.title for q in page.items]


# --- surface and lifecycle -----------------------------------------------


def test_public_surface() -> None:
    assert adapters.community.__all__ == ["CommunityStore"]
    public = {n for n in vars(adapters.community) if not n.startswith("_")}
    assert public == {"CommunityStore"}
    assert CommunityStore.name is StoreName.COMMUNITY


async def test_implements_store_and_lifecycle(databases: DatabaseFactory) -> None:
    s = CommunityStore(await databases.create("community"))
    try:
        assert isinstance(s, Store)
        await s.ping()
        await s.create_schema()
        assert await s.is_empty()
        await s.load_demo(demo_data(NOW))
        await s.create_schema()  # idempotent: nothing dropped
        assert not await s.is_empty()
        assert len(await space_ids(s)) == 4
    finally:
        await s.close()


async def test_ping_unreachable_names_the_store_without_password() -> None:
    s = CommunityStore("postgresql+asyncpg://postgres:s3cret@127.0.0.1:1/x")
    try:
        with pytest.raises(StoreUnavailable) as info:
            await s.ping()
        assert "community" in str(info.value)
        assert "s3cret" not in str(info.value)
        # Other methods let the driver's error through, as the internal store's do: the
        # gateway's guard is the one place that makes it StoreUnavailable.
        with pytest.raises(OSError):
            await s.list_spaces(EVERYTHING, kind=None, after=None, limit=5)
        guarded = GuardedStore(s, deadline=5.0)
        with pytest.raises(StoreUnavailable) as info:
            await guarded.list_spaces(EVERYTHING, kind=None, after=None, limit=5)
        assert "community store unavailable at postgresql+asyncpg://" in str(info.value)
        assert "s3cret" not in str(info.value)
    finally:
        await s.close()


# --- spaces ----------------------------------------------------------------


async def test_visibility_class_derived_per_category(store: CommunityStore) -> None:
    page = await store.list_spaces(EVERYTHING, kind=None, after=None, limit=100)
    assert {s.slug: s.visibility for s in page.items} == {
        "product-support": Visibility.PUBLIC,
        "ideas": Visibility.PUBLIC,
        "members-lounge": Visibility.MEMBERS,
        "champions": Visibility.TRUSTED,
    }
    base = {
        "description": "",
        "style": "discussion",
        "created_at": NOW,
        "login_required": True,
        "min_trust_level": 0,
        "read_restricted": False,
    }
    await native(
        store,
        t.categories,
        [
            base | {"slug": "staff", "name": "Staff", "read_restricted": True},
            base | {"slug": "tl2", "name": "TL2", "min_trust_level": 2, "login_required": False},
            base | {"slug": "leaders", "name": "Leaders", "min_trust_level": 4},
            base | {"slug": "mods", "name": "Mods", "min_trust_level": 3, "read_restricted": True},
            base | {"slug": "open", "name": "Open", "login_required": False},
        ],
    )
    page = await store.list_spaces(EVERYTHING, kind=None, after=None, limit=100)
    derived = {s.slug: s.visibility for s in page.items}
    assert {k: derived[k] for k in ("staff", "tl2", "leaders", "mods", "open")} == {
        "staff": Visibility.PRIVATE,
        "tl2": Visibility.MEMBERS,  # trust 1..2 is folded into "members"
        "leaders": Visibility.TRUSTED,
        "mods": Visibility.PRIVATE,  # read restriction wins over trust
        "open": Visibility.PUBLIC,
    }
    private = StoreScope(C, allow=Grants(visibilities=frozenset({Visibility.PRIVATE})))
    page = await store.list_spaces(private, kind=None, after=None, limit=100)
    assert [s.slug for s in page.items] == ["mods", "staff"]


async def test_space_fields(store: CommunityStore) -> None:
    page = await store.list_spaces(PUBLIC, kind=SpaceKind.QA, after=None, limit=10)
    [space] = page.items
    assert space.store is C
    assert (space.slug, space.name, space.kind) == ("product-support", "Product support", "QA")
    assert space.description == "Questions and answers about our products."
    assert space.tags == ("support",)
    assert space.key == "community/public/product-support"
    assert space.id.isdigit()


@pytest.mark.parametrize(
    ("scope", "names"),
    [
        (EVERYTHING, ["Champions", "Ideas", "Members lounge", "Product support"]),
        (PUBLIC, ["Ideas", "Product support"]),
        (NOT_MEMBERS, ["Champions", "Ideas", "Product support"]),
        (CHAMPIONS, ["Champions"]),
        (CHAMPIONS_AS_PUBLIC, []),
    ],
)
async def test_list_spaces_by_scope(
    store: CommunityStore, scope: StoreScope, names: list[str]
) -> None:
    page = await store.list_spaces(scope, kind=None, after=None, limit=10)
    assert [s.name for s in page.items] == names
    assert not page.has_next


async def test_list_spaces_by_kind(store: CommunityStore) -> None:
    async def names(kind: SpaceKind) -> list[str]:
        page = await store.list_spaces(EVERYTHING, kind=kind, after=None, limit=10)
        return [s.name for s in page.items]

    assert await names(SpaceKind.QA) == ["Product support"]
    assert await names(SpaceKind.GROUP) == ["Champions", "Ideas", "Members lounge"]
    with counting(store) as statements:
        assert await names(SpaceKind.PROTOTYPE_FEEDBACK) == []
    assert statements == []


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
async def test_list_spaces_keyset_pagination(store: CommunityStore, limit: int) -> None:
    # Two more categories named "Ideas": ties on name are broken by id.
    base = {
        "description": "",
        "style": "discussion",
        "created_at": NOW,
        "login_required": False,
        "min_trust_level": 0,
        "read_restricted": False,
    }
    await native(
        store,
        t.categories,
        [base | {"slug": "ideas-2", "name": "Ideas"}, base | {"slug": "ideas-3", "name": "Ideas"}],
    )
    full = await store.list_spaces(EVERYTHING, kind=None, after=None, limit=100)
    assert [s.slug for s in full.items] == [
        "champions",
        "ideas",
        "ideas-2",
        "ideas-3",
        "members-lounge",
        "product-support",
    ]
    walked: list[str] = []
    after = None
    for _ in range(10):
        page = await store.list_spaces(EVERYTHING, kind=None, after=after, limit=limit)
        assert len(page.items) <= limit
        walked.extend(s.slug for s in page.items)
        if not page.has_next:
            break
        last = page.items[-1]
        after = NameCursor(last.name, last.id)
    assert walked == [s.slug for s in full.items]


async def test_spaces_by_ids(store: CommunityStore) -> None:
    ids = await space_ids(store)
    junk = ["abc", "", "-1", "007", "1_0", " 1", "99999999999999999999", "424242"]
    found = await store.spaces_by_ids([*ids.values(), *junk], PUBLIC)
    assert {s.slug for s in found.values()} == {"product-support", "ideas"}
    assert set(found) == {ids["product-support"], ids["ideas"]}
    found = await store.spaces_by_ids(list(ids.values()), NOT_MEMBERS)
    assert {s.slug for s in found.values()} == {"product-support", "ideas", "champions"}
    assert found[ids["champions"]].tags == ("champions",)
    assert await store.spaces_by_ids(["abc"], EVERYTHING) == {}


async def test_member_counts(store: CommunityStore) -> None:
    ids = await space_ids(store)
    counts = await store.member_counts([*ids.values(), "abc"], NOW)
    # champions: mia and erin, through both "champions-team" and "employees", counted once
    assert counts == {
        ids["product-support"]: 1,
        ids["ideas"]: 1,
        ids["members-lounge"]: 1,
        ids["champions"]: 2,
    }


# --- questions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (EVERYTHING, ALL_NEWEST_FIRST),
        (PUBLIC, PUBLIC_NEWEST_FIRST),
        (NOT_MEMBERS, [q for q in ALL_NEWEST_FIRST if q not in LOUNGE_QS]),
        (CHAMPIONS, CHAMPIONS_QS[::-1]),
        (CHAMPIONS_AS_PUBLIC, []),
    ],
)
async def test_list_questions_by_scope(
    store: CommunityStore, scope: StoreScope, expected: list[str]
) -> None:
    assert await titles(store, scope) == expected


async def test_list_questions_filters(store: CommunityStore) -> None:
    ids = await space_ids(store)
    assert await titles(store, EVERYTHING, space_ids=[ids["ideas"], "abc"]) == IDEAS_QS[::-1]
    assert await titles(store, PUBLIC, space_ids=[ids["champions"]]) == []
    with counting(store) as statements:
        assert await titles(store, EVERYTHING, space_ids=["abc"]) == []
        assert await titles(store, EVERYTHING, space_ids=[]) == []
    assert statements == []
    assert set(await titles(store, EVERYTHING, unanswered=True)) == UNANSWERED
    assert await titles(store, PUBLIC, unanswered=True) == [
        "Webhook on alarms",
        "Bulk pricing for installers?",
        "Does the hub support IPv6?",
    ]
    assert await titles(store, EVERYTHING, tag="pairing") == ["Sensor will not pair"]
    assert await titles(store, EVERYTHING, tag="Pairing") == ["Sensor will not pair"]
    assert await titles(store, EVERYTHING, tag="beta") == ["Beta programme for Aurora"]
    assert await titles(store, PUBLIC, tag="beta") == []
    assert await titles(store, EVERYTHING, tag="no-such-tag") == []
    assert await titles(store, EVERYTHING, tag="beta", unanswered=True) == []


async def test_question_fields(store: CommunityStore) -> None:
    page = await store.list_questions(
        PUBLIC, space_ids=None, unanswered=False, tag="pairing", after=None, limit=5
    )
    [q] = page.items
    assert q.store is C
    assert q.body == "My sensor blinks red. @mia any idea?"
    assert q.tags == ("pairing",)
    assert q.space_id == (await space_ids(store))["product-support"]
    assert q.author_id == str((await user_ids(store))["mo"])
    assert q.created_at.tzinfo is UTC
    answers = (await store.answers_for_questions([q.id], after=None, limit=5))[q.id]
    [accepted] = [a for a in answers.items if a.accepted]
    assert q.accepted_answer_id == accepted.id
    assert accepted.body == "Hold the button for 10 seconds to reset."
    assert q.answered


async def test_list_questions_pagination_every_at_time_mode(store: CommunityStore) -> None:
    ids = await space_ids(store)
    # Two topics at the same (oldest) instant, microseconds included, to exercise ties.
    tie = datetime(2020, 1, 2, 3, 4, 5, 678901)
    tied = await native(
        store,
        t.topics,
        [
            {"category_id": int(ids["ideas"]), "title": "Tie A", "created_at": tie},
            {"category_id": int(ids["ideas"]), "title": "Tie B", "created_at": tie},
        ],
    )
    expected = [*ALL_NEWEST_FIRST, "Tie B", "Tie A"]  # same time: higher id first
    full = await store.list_questions(
        EVERYTHING, space_ids=None, unanswered=False, tag=None, after=None, limit=100
    )
    assert [q.title for q in full.items] == expected
    by_title = {q.title: q for q in full.items}
    assert by_title["Tie A"].created_at == tie.replace(tzinfo=UTC)  # exact round-trip
    assert by_title["Tie B"].id == str(tied[1])

    for limit in (1, 2, 3, 4):
        walked: list[str] = []
        after = None
        for _ in range(20):
            page = await store.list_questions(
                EVERYTHING, space_ids=None, unanswered=False, tag=None, after=after, limit=limit
            )
            walked.extend(q.title for q in page.items)
            if not page.has_next:
                break
            last = page.items[-1]
            after = TimeCursor(last.created_at, AtTime.BELOW_ID, last.id)
        assert walked == expected, limit

    async def after(cursor: TimeCursor) -> list[str]:
        return await titles(store, EVERYTHING, after=cursor)

    b = by_title["Tie B"]
    assert await after(TimeCursor(b.created_at, AtTime.NONE)) == []
    assert await after(TimeCursor(b.created_at, AtTime.ALL)) == ["Tie B", "Tie A"]
    assert await after(TimeCursor(b.created_at, AtTime.BELOW_ID, b.id)) == ["Tie A"]
    # Each demo topic has its own instant: NONE and ALL differ exactly by that topic.
    dark = by_title["Dark mode for the app"]
    older = expected[expected.index(dark.title) + 1 :]
    assert await after(TimeCursor(dark.created_at, AtTime.NONE)) == older
    assert await after(TimeCursor(dark.created_at, AtTime.ALL)) == [dark.title, *older]
    # Any aware time is accepted and compared in UTC.
    elsewhere = dark.created_at.astimezone(timezone(timedelta(hours=-5)))
    assert await after(TimeCursor(elsewhere, AtTime.ALL)) == [dark.title, *older]
    with pytest.raises(InvalidCursor, match="invalid cursor"):
        await after(TimeCursor(dark.created_at, AtTime.BELOW_ID, "abc"))


async def test_questions_by_ids(store: CommunityStore) -> None:
    qs = await questions(store)
    found = await store.questions_by_ids([*qs.values(), "abc", "0", "99999"], PUBLIC)
    assert {q.title for q in found.values()} == set(PUBLIC_NEWEST_FIRST)
    assert all(key == q.id for key, q in found.items())
    found = await store.questions_by_ids(list(qs.values()), CHAMPIONS)
    assert {q.title for q in found.values()} == set(CHAMPIONS_QS)
    assert found[qs["Beta programme for Aurora"]].tags == ("beta",)


async def test_search_questions(store: CommunityStore) -> None:
    async def search(scope: StoreScope, text: str, limit: int = 20) -> list[str]:
        return [q.title for q in await store.search_questions(scope, text, limit)]

    assert await search(EVERYTHING, "PAIR") == ["Sensor will not pair"]
    assert await search(EVERYTHING, "ipv6-only") == ["Does the hub support IPv6?"]  # body
    assert await search(EVERYTHING, "introduce YOURSELVES") == ["Hello from Berlin"]
    assert await search(PUBLIC, "introduce yourselves") == []
    assert await search(EVERYTHING, "aurora") == ["Beta programme for Aurora"]
    assert await search(PUBLIC, "aurora") == []
    assert await search(CHAMPIONS, "aurora") == ["Beta programme for Aurora"]
    assert await search(EVERYTHING, "reset") == []  # answers are not searched
    assert await search(EVERYTHING, "the") == [
        "Dark mode for the app",
        "Does the hub support IPv6?",
    ]
    assert await search(EVERYTHING, "the", limit=1) == ["Dark mode for the app"]
    # % and _ are literal characters, not wildcards.
    assert await search(EVERYTHING, "%") == []
    assert await search(EVERYTHING, "_") == []
    ideas = int((await space_ids(store))["ideas"])
    await native(
        store,
        t.topics,
        [
            {"category_id": ideas, "title": "50% off renewals", "created_at": NOW},
            {"category_id": ideas, "title": "500 off renewals", "created_at": NOW},
            {"category_id": ideas, "title": "snake_case names", "created_at": NOW},
        ],
    )
    assert await search(EVERYTHING, "50%") == ["50% off renewals"]
    assert await search(EVERYTHING, "e_c") == ["snake_case names"]
    with counting(store) as statements:
        assert await search(NOTHING, "pair") == []
        assert await search(DENY_ALL, "pair") == []
    assert statements == []


# --- questions per space -------------------------------------------------------


async def richer_forum(s: CommunityStore) -> dict[str, Any]:
    """More topics than the demo: ties across and within spaces, a shared tag, more
    accepted answers, and a support category that fills more than five questions."""
    ids = await space_ids(s)
    qs = await questions(s)
    full = await s.questions_by_ids(list(qs.values()), EVERYTHING)
    pivot = full[qs["Dark mode for the app"]].created_at  # a demo instant, in "ideas"
    older = datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    extra = [
        # Tied with "Dark mode for the app", in three spaces.
        ("ideas", "Ideas tie", pivot, None),
        ("product-support", "Support tie", pivot, 1),
        ("champions", "Champions tie", pivot, None),
        # Tied topics, older than every demo topic.
        ("product-support", "Old tie A", older, None),
        ("product-support", "Old tie B", older, None),
        ("product-support", "Oldest", older - timedelta(microseconds=1), 2),
        ("members-lounge", "Lounge old", older, None),
    ]
    added = await native(
        s,
        t.topics,
        [
            {
                "category_id": int(ids[slug]),
                "title": title,
                "created_at": at,
                "accepted_answer_post_id": accepted,  # any number: it is not a foreign key
            }
            for slug, title, at, accepted in extra
        ],
    )
    by_title = dict(zip([title for _, title, _, _ in extra], added, strict=True))
    by_title |= {title: int(qid) for title, qid in qs.items()}
    body = {"post_number": 1, "raw": "A tied body.", "created_at": pivot}
    await native(s, t.posts, [body | {"topic_id": by_title["Ideas tie"]}])
    [shared] = await native(s, t.tags, [{"name": "shared"}])
    tagged = [
        "Support tie",
        "Champions tie",
        "Old tie B",
        "Lounge old",
        "Sensor will not pair",
        "Dark mode for the app",
        "Bulk pricing for installers?",
    ]
    async with s.engine.begin() as conn:
        await conn.execute(
            insert(t.topic_tags), [{"topic_id": by_title[q], "tag_id": shared} for q in tagged]
        )
    return {"ids": ids, "pivot": pivot, "older": older, "topics": by_title, "qs": qs}


@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_questions_for_spaces_match_list_questions(store: CommunityStore, limit: int) -> None:
    forum = await richer_forum(store)
    ids, tied = forum["ids"], forum["topics"]
    real = list(ids.values())
    requested = [*real, "abc", "007", "424242"]
    cursors: list[TimeCursor | None] = [None]
    for at in (forum["pivot"], forum["older"]):
        cursors += [TimeCursor(at, AtTime.NONE), TimeCursor(at, AtTime.ALL)]
    cursors += [
        TimeCursor(forum["pivot"], AtTime.BELOW_ID, str(tied["Support tie"])),
        TimeCursor(forum["pivot"], AtTime.BELOW_ID, str(tied["Ideas tie"])),
        TimeCursor(forum["pivot"], AtTime.BELOW_ID, str(tied["Dark mode for the app"])),
        TimeCursor(forum["older"], AtTime.BELOW_ID, str(tied["Old tie B"])),
    ]
    filters = [(False, None), (True, None), (False, "shared"), (True, " Shared"), (False, "beta")]
    seen_next = seen_last = seen_empty = 0
    for cursor in cursors:
        for unanswered, tag in filters:
            args: dict[str, Any] = {"unanswered": unanswered, "tag": tag, "after": cursor}
            pages = await store.questions_for_spaces(requested, limit=limit, **args)
            assert set(pages) == set(requested)
            for junk in ("abc", "007", "424242"):
                assert pages[junk] == Page()
            for slug, sid in ids.items():
                alone = await store.list_questions(EVERYTHING, space_ids=[sid], limit=limit, **args)
                assert pages[sid] == alone, (slug, cursor, unanswered, tag)
                assert len(alone.items) <= limit
                seen_next += alone.has_next
                seen_last += bool(alone.items) and not alone.has_next
                seen_empty += not alone.items
    # Not vacuous: full pages, last pages and empty pages were all compared.
    assert seen_next and seen_last and seen_empty


async def test_questions_for_spaces_pages_and_has_next(store: CommunityStore) -> None:
    ids = await space_ids(store)
    support, ideas, lounge, champions = (
        ids["product-support"],
        ids["ideas"],
        ids["members-lounge"],
        ids["champions"],
    )

    async def titles_per_space(limit: int, **kw: Any) -> dict[str, tuple[list[str], bool]]:
        args: dict[str, Any] = {"unanswered": False, "tag": None, "after": None} | kw
        pages = await store.questions_for_spaces(list(ids.values()), limit=limit, **args)
        by_slug = {v: k for k, v in ids.items()}
        return {by_slug[k]: ([q.title for q in p.items], p.has_next) for k, p in pages.items()}

    assert await titles_per_space(2) == {
        "product-support": (SUPPORT_QS[::-1][:2], True),
        "ideas": (IDEAS_QS[::-1], False),
        "members-lounge": (LOUNGE_QS[::-1], False),
        "champions": (CHAMPIONS_QS[::-1], False),
    }
    assert await titles_per_space(1) == {
        "product-support": (["Bulk pricing for installers?"], True),
        "ideas": (["Webhook on alarms"], True),
        "members-lounge": (["Favourite automation?"], True),
        "champions": (["Champion meetup agenda"], True),
    }
    assert await titles_per_space(3) == {
        "product-support": (SUPPORT_QS[::-1], False),
        "ideas": (IDEAS_QS[::-1], False),
        "members-lounge": (LOUNGE_QS[::-1], False),
        "champions": (CHAMPIONS_QS[::-1], False),
    }
    assert await titles_per_space(1, unanswered=True) == {
        "product-support": (["Bulk pricing for installers?"], True),
        "ideas": (["Webhook on alarms"], False),
        "members-lounge": (["Favourite automation?"], True),
        "champions": (["Champion meetup agenda"], False),
    }
    assert await titles_per_space(0) == {
        "product-support": ([], True),
        "ideas": ([], True),
        "members-lounge": ([], True),
        "champions": ([], True),
    }
    pages = await store.questions_for_spaces(
        [support, ideas, lounge, champions], unanswered=False, tag="Pairing", after=None, limit=5
    )
    assert pages[ideas] == pages[lounge] == pages[champions] == Page()
    [q] = pages[support].items
    assert not pages[support].has_next
    assert (q.title, q.body, q.tags, q.space_id) == (
        "Sensor will not pair",
        "My sensor blinks red. @mia any idea?",
        ("pairing",),
        support,
    )
    assert q.created_at.tzinfo is UTC
    assert q.accepted_answer_id is not None
    # One cursor applies to every space alike (demo spaces were filled in order:
    # support, ideas, lounge, champions, oldest first).
    favourite = (await questions(store))["Favourite automation?"]
    [fav] = (await store.questions_by_ids([favourite], EVERYTHING)).values()
    cursor = TimeCursor(fav.created_at, AtTime.BELOW_ID, fav.id)
    assert await titles_per_space(5, after=cursor) == {
        "product-support": (SUPPORT_QS[::-1], False),
        "ideas": (IDEAS_QS[::-1], False),
        "members-lounge": (["Hello from Berlin"], False),
        "champions": ([], False),
    }
    assert await titles_per_space(1, after=cursor) == {
        "product-support": (["Bulk pricing for installers?"], True),
        "ideas": (["Webhook on alarms"], True),
        "members-lounge": (["Hello from Berlin"], False),
        "champions": ([], False),
    }


async def test_questions_for_spaces_invalid_ids_and_cursor(store: CommunityStore) -> None:
    ids = await space_ids(store)
    junk = ["abc", "", "-1", "0", "007", "1_0", " 1", "99999999999999999999"]
    bad_cursor = TimeCursor(NOW, AtTime.BELOW_ID, "abc")
    with counting(store) as statements:
        for cursor in (None, bad_cursor):
            pages = await store.questions_for_spaces(
                junk, unanswered=False, tag=None, after=cursor, limit=5
            )
            assert pages == {j: Page() for j in junk}
        assert (
            await store.questions_for_spaces([], unanswered=True, tag="x", after=None, limit=5)
            == {}
        )
    assert statements == []
    support = ids["product-support"]
    pages = await store.questions_for_spaces(
        [support, "0" + support, "424242", support], unanswered=False, tag=None, after=None, limit=5
    )
    assert set(pages) == {support, "0" + support, "424242"}
    assert pages["0" + support] == pages["424242"] == Page()
    assert [q.title for q in pages[support].items] == SUPPORT_QS[::-1]
    for bad_id in ("abc", "", None, "0", "007"):
        with pytest.raises(InvalidCursor, match="invalid cursor"):
            await store.questions_for_spaces(
                [support],
                unanswered=False,
                tag=None,
                after=TimeCursor(NOW, AtTime.BELOW_ID, bad_id),
                limit=5,
            )


async def test_questions_for_spaces_statements(store: CommunityStore) -> None:
    await richer_forum(store)
    spaces = list((await space_ids(store)).values())
    for tag in (None, "shared"):
        args: dict[str, Any] = {"unanswered": False, "tag": tag, "after": None, "limit": 2}
        with counting(store) as one:
            await store.questions_for_spaces(spaces[:1], **args)
        with counting(store) as every:
            await store.questions_for_spaces([*spaces, "abc", "424242"], **args)
        assert len(one) == len(every) == 2, tag  # the windowed rows, then their tags
        assert "row_number" in every[0].lower()
        assert "topic_tags" in every[1].lower()


# --- answers ---------------------------------------------------------------


async def test_answers_for_questions(store: CommunityStore) -> None:
    qs = await questions(store)
    sensor, dark, ipv6 = (
        qs["Sensor will not pair"],
        qs["Dark mode for the app"],
        qs["Does the hub support IPv6?"],
    )
    wanted = [sensor, dark, ipv6, "abc"]
    pages = await store.answers_for_questions(wanted, after=None, limit=1)
    assert set(pages) == set(wanted)
    assert [a.body for a in pages[sensor].items] == ["Same here, the reset worked."]
    assert pages[sensor].has_next
    assert [a.body for a in pages[dark].items] == ["On the roadmap for spring."]
    assert not pages[dark].has_next
    assert pages[ipv6] == Page() and pages["abc"] == Page()

    pages = await store.answers_for_questions(wanted, after=None, limit=5)
    items = pages[sensor].items
    assert [(a.body, a.accepted) for a in items] == [
        ("Same here, the reset worked.", False),
        ("Hold the button for 10 seconds to reset.", True),
    ]
    assert not pages[sensor].has_next
    assert all(a.question_id == sensor and a.created_at.tzinfo is UTC for a in items)
    assert items[0].space_id == (await space_ids(store))["product-support"]
    assert items[0].author_id == str((await user_ids(store))["tara"])

    newest = items[0]
    for cursor in (
        TimeCursor(newest.created_at, AtTime.BELOW_ID, newest.id),
        TimeCursor(newest.created_at, AtTime.NONE),
    ):
        pages = await store.answers_for_questions([sensor, dark], after=cursor, limit=5)
        assert [a.body for a in pages[sensor].items] == [items[1].body]
        # The cursor applies to every question: dark mode's answer is newer than it.
        assert pages[dark] == Page()
    pages = await store.answers_for_questions(
        [sensor], after=TimeCursor(newest.created_at, AtTime.ALL), limit=5
    )
    assert [a.id for a in pages[sensor].items] == [a.id for a in items]


async def test_answers_by_ids_and_counts(store: CommunityStore) -> None:
    qs = await questions(store)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(t.posts.c.id, t.posts.c.post_number))).all()
    replies = [str(i) for i, n in rows if n > 1]
    first_posts = [str(i) for i, n in rows if n == 1]
    assert len(replies) == 6
    found = await store.answers_by_ids([*replies, *first_posts, "abc"], EVERYTHING)
    assert set(found) == set(replies)  # a topic's first post is never an answer
    found = await store.answers_by_ids(replies, PUBLIC)
    assert {a.body for a in found.values()} == {
        "Hold the button for 10 seconds to reset.",
        "Same here, the reset worked.",
        "Write to sales, they will call back.",
        "On the roadmap for spring.",
    }
    assert {a.body for a in (await store.answers_by_ids(replies, CHAMPIONS)).values()} == {
        "Count me in."
    }
    counts = await store.answer_counts([*qs.values(), "abc"])
    assert {title: counts.get(qid, 0) for title, qid in qs.items()} == {
        "Sensor will not pair": 2,
        "Does the hub support IPv6?": 0,
        "Bulk pricing for installers?": 1,
        "Dark mode for the app": 1,
        "Webhook on alarms": 0,
        "Hello from Berlin": 1,
        "Favourite automation?": 0,
        "Beta programme for Aurora": 1,
        "Champion meetup agenda": 0,
    }


# --- memberships and people ----------------------------------------------


async def test_memberships_from_groups(store: CommunityStore) -> None:
    mia = await store.memberships_for("mia@corp.example")
    assert {(m.space_key, m.role, m.expires_at) for m in mia} == {
        ("community/public/product-support", SpaceRole.OWNER, None),
        ("community/public/ideas", SpaceRole.OWNER, None),
        ("community/members/members-lounge", SpaceRole.OWNER, None),
        # owner in "champions-team", plain member through "employees": the stronger wins
        ("community/trusted/champions", SpaceRole.OWNER, None),
    }
    ids = await space_ids(store)
    assert {m.space_id for m in mia} == set(ids.values())
    assert all(m.store is C for m in mia)
    erin = await store.memberships_for("  Erin@Corp.Example ")
    assert [(m.space_id, m.role) for m in erin] == [(ids["champions"], SpaceRole.MEMBER)]
    assert await store.memberships_for("tara@customer.example") == []
    assert await store.memberships_for("nobody@example.com") == []
    assert await store.memberships_for("") == []


async def test_memberships_need_a_verified_email(store: CommunityStore) -> None:
    [eve] = await native(
        store,
        t.users,
        [
            {
                "username": "eve",
                "name": "Eve",
                "email": "eve@example.com",
                "email_verified": False,
                "created_at": NOW,
            }
        ],
    )
    async with store.engine.begin() as conn:
        team = await conn.scalar(select(t.groups.c.id).where(t.groups.c.name == "ideas-team"))
        await conn.execute(insert(t.group_users).values(group_id=team, user_id=eve))
    assert await store.memberships_for("eve@example.com") == []
    ideas = (await space_ids(store))["ideas"]
    assert (await store.member_counts([ideas], NOW))[ideas] == 2  # a member all the same
    people = await store.people_by_ids([str(eve)])
    assert people[str(eve)].email is None
    assert await store.people_by_emails(["eve@example.com"]) == {}


async def test_membership_expiry_merged_across_groups(store: CommunityStore) -> None:
    ids = await space_ids(store)
    uid = await user_ids(store)
    [hosts] = await native(store, t.groups, [{"name": "lounge-hosts"}])
    async with store.engine.begin() as conn:
        group = dict((await conn.execute(select(t.groups.c.name, t.groups.c.id))).all())
        await conn.execute(
            insert(t.category_groups),
            [
                {
                    "category_id": int(ids["members-lounge"]),
                    "group_id": hosts,
                    "permission_type": t.PERMISSION_READONLY,
                }
            ],
        )
        await conn.execute(
            insert(t.group_users),
            [
                # tara reaches champions twice: the later expiry wins
                {
                    "group_id": group["champions-team"],
                    "user_id": uid["tara"],
                    "expires_at": NOW + timedelta(days=10),
                    "owner": False,
                },
                {
                    "group_id": group["employees"],
                    "user_id": uid["tara"],
                    "expires_at": NOW + timedelta(days=20, microseconds=7),
                    "owner": False,
                },
                # mo: an expiring member of the lounge team, and a lasting lounge host
                {
                    "group_id": group["members-lounge-team"],
                    "user_id": uid["mo"],
                    "expires_at": NOW + timedelta(days=5),
                    "owner": False,
                },
                {"group_id": hosts, "user_id": uid["mo"], "owner": True, "expires_at": None},
                # paula: expired already, still listed
                {
                    "group_id": group["ideas-team"],
                    "user_id": uid["paula"],
                    "expires_at": NOW - timedelta(days=1),
                    "owner": False,
                },
            ],
        )
    [tara] = await store.memberships_for("tara@customer.example")
    assert (tara.space_id, tara.role) == (ids["champions"], SpaceRole.MEMBER)
    assert tara.expires_at == NOW + timedelta(days=20, microseconds=7)
    assert tara.expires_at.tzinfo is UTC
    [mo] = await store.memberships_for("mo@customer.example")
    assert (mo.space_id, mo.role, mo.expires_at) == (
        ids["members-lounge"],
        SpaceRole.OWNER,
        None,  # never expiring beats any expiry
    )
    [paula] = await store.memberships_for("paula@partner.example")
    assert (paula.space_id, paula.expires_at) == (ids["ideas"], NOW - timedelta(days=1))
    assert not paula.active(NOW)

    every = list(ids.values())
    by_slug = {v: k for k, v in ids.items()}

    async def counts(now: datetime) -> dict[str, int]:
        return {by_slug[k]: n for k, n in (await store.member_counts(every, now)).items()}

    assert await counts(NOW) == {
        "product-support": 1,
        "ideas": 1,  # paula's membership has expired
        "members-lounge": 2,
        "champions": 3,
    }
    assert await counts(NOW + timedelta(days=15)) == {
        "product-support": 1,
        "ideas": 1,
        "members-lounge": 2,  # mo stays through lounge-hosts
        "champions": 3,  # tara stays through employees
    }
    in_a_month = (NOW + timedelta(days=30)).astimezone(timezone(timedelta(hours=9)))
    assert (await counts(in_a_month))["champions"] == 2


async def test_demo_loader_variants(databases: DatabaseFactory) -> None:
    """Expiries, named groups and implicit accounts, from a varied demo data set."""
    data = demo_data(NOW)

    def vary(space: DemoSpace) -> DemoSpace:
        if space.slug == "members-lounge":  # tara joins for 90 days
            expiring = DemoMember("tara", SpaceRole.MEMBER, timedelta(days=90))
            return dataclasses.replace(space, members=(*space.members, expiring))
        if space.slug == "champions":  # erin is left with the "employees" group only
            return dataclasses.replace(space, members=(DemoMember("mia", SpaceRole.OWNER),))
        if space.slug == "ideas":  # omar, with no community account, answers
            first, second = space.questions
            second = dataclasses.replace(second, answers=(DemoAnswer("omar", "Noted."),))
            return dataclasses.replace(space, questions=(first, second))
        return space

    data = dataclasses.replace(data, spaces=tuple(vary(s) for s in data.spaces))
    s = CommunityStore(await databases.create("community"))
    try:
        await s.create_schema()
        await s.load_demo(data)
        [m] = await s.memberships_for("tara@customer.example")
        assert m.space_key == "community/members/members-lounge"
        assert (m.role, m.expires_at) == (SpaceRole.MEMBER, NOW + timedelta(days=90))
        [m] = await s.memberships_for("erin@corp.example")
        assert (m.space_key, m.role, m.expires_at) == (
            "community/trusted/champions",
            SpaceRole.MEMBER,
            None,
        )
        async with s.engine.connect() as conn:
            rows = await conn.execute(
                select(t.users.c.username, t.users.c.trust_level, t.users.c.email_verified)
            )
            accounts = {name: (trust, bool(verified)) for name, trust, verified in rows}
        assert accounts == {
            "erin": (4, True),
            "mia": (4, True),
            "paula": (1, True),
            "tara": (3, True),
            "mo": (1, True),
            "omar": (0, True),
        }
        omar = (await s.people_by_emails(["omar@corp.example"]))["omar@corp.example"]
        assert (omar.handle, omar.organisation) == ("omar", "Corp")
    finally:
        await s.close()


async def test_people(store: CommunityStore) -> None:
    uid = {handle: str(i) for handle, i in (await user_ids(store)).items()}
    assert set(uid) == {"erin", "mia", "paula", "tara", "mo"}
    people = await store.people_by_ids([uid["mo"], uid["erin"], "abc", "123456"])
    assert set(people) == {uid["mo"], uid["erin"]}
    mo = people[uid["mo"]]
    assert (mo.store, mo.handle, mo.display_name, mo.email, mo.organisation, mo.title) == (
        C,
        "mo",
        "Mo Müller",
        "mo@customer.example",
        "Customer Inc",
        None,
    )
    assert people[uid["erin"]].title == "Staff engineer"
    assert people[uid["erin"]].department is None
    by_email = await store.people_by_emails(
        ["ERIN@corp.example", "omar@corp.example", "tara@customer.example "]
    )
    assert {k: p.handle for k, p in by_email.items()} == {
        "erin@corp.example": "erin",
        "tara@customer.example": "tara",
    }


# --- statements ---------------------------------------------------------------


async def test_batched_lookups_run_a_fixed_number_of_statements(store: CommunityStore) -> None:
    spaces = list((await space_ids(store)).values())
    qs = list((await questions(store)).values())
    people = [str(i) for i in (await user_ids(store)).values()]
    padding = [str(n) for n in range(900, 920)]

    def twenty(real: list[str]) -> list[str]:
        return (real + padding + ["abc"])[:20]

    calls = {
        "spaces_by_ids": lambda ids: store.spaces_by_ids(ids, EVERYTHING),
        "member_counts": lambda ids: store.member_counts(ids, NOW),
        "questions_by_ids": lambda ids: store.questions_by_ids(ids, EVERYTHING),
        "answers_for_questions": lambda ids: store.answers_for_questions(ids, after=None, limit=2),
        "questions_for_spaces": lambda ids: store.questions_for_spaces(
            ids, unanswered=False, tag=None, after=None, limit=2
        ),
        "answers_by_ids": lambda ids: store.answers_by_ids(ids, EVERYTHING),
        "answer_counts": lambda ids: store.answer_counts(ids),
        "people_by_ids": lambda ids: store.people_by_ids(ids),
    }
    real = {
        "spaces_by_ids": spaces,
        "member_counts": spaces,
        "questions_by_ids": qs,
        "answers_for_questions": qs,
        "questions_for_spaces": spaces,
        "answers_by_ids": [str(n) for n in range(1, 20)],
        "answer_counts": qs,
        "people_by_ids": people,
    }
    for name, call in calls.items():
        with counting(store) as one:
            await call(real[name][:1])
        with counting(store) as many:
            await call(twenty(real[name]))
        assert len(one) == len(many), name
        assert 1 <= len(many) <= 2, name  # the rows, plus tags for spaces and questions


async def test_empty_scope_and_prototypes_run_no_statement(store: CommunityStore) -> None:
    ids = list((await space_ids(store)).values())
    with counting(store) as statements:
        for scope in (NOTHING, DENY_ALL):
            assert await store.list_spaces(scope, kind=None, after=None, limit=5) == Page()
            assert await store.spaces_by_ids(ids, scope) == {}
            page = await store.list_questions(
                scope, space_ids=None, unanswered=False, tag=None, after=None, limit=5
            )
            assert page == Page()
            assert await store.questions_by_ids(["1", "2"], scope) == {}
            assert await store.answers_by_ids(["1", "2"], scope) == {}
            assert await store.search_questions(scope, "a", 5) == []
            assert await store.prototypes_by_ids(["1"], scope) == {}
            assert await store.feedback_by_ids(["1"], scope) == {}
        assert await store.prototypes_for_spaces(ids, limit=5) == {i: Page() for i in ids}
        assert await store.feedback_for_prototypes(["1", "x"], limit=5) == {
            "1": Page(),
            "x": Page(),
        }
        assert await store.people_by_ids(["abc"]) == {}
        assert await store.answer_counts([]) == {}
    assert statements == []
