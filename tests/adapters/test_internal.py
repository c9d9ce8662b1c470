"""The internal store adapter against real SQLite, PostgreSQL and MariaDB databases.

Expectations are spelled out from the demo data set (gateway/domain/demo.py), so a wrong
scope predicate, ordering or mapping fails here rather than in the gateway.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import IntegrityError

import adapters.internal
from adapters.internal import InternalStore
from adapters.internal._tables import communities, forum_replies, forum_topics, topic_tags
from gateway.domain.demo import demo_data
from gateway.domain.errors import InvalidCursor
from gateway.domain.model import Page, SpaceKind, SpaceRole, StoreName, Visibility
from gateway.stores.interface import AtTime, NameCursor, Store, StoreUnavailable, TimeCursor
from gateway.stores.scope import Grants, StoreScope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from gateway.domain.model import Question
    from tests.databases import DatabaseFactory

pytestmark = pytest.mark.backend

INTERNAL = StoreName.INTERNAL
# Microseconds on purpose: every backend must round-trip them exactly.
LOADED_AT = datetime(2025, 6, 1, 9, 30, 15, 123456, tzinfo=UTC)

EVERYTHING = StoreScope(INTERNAL, allow=Grants(everything=True))
OPEN = StoreScope(INTERNAL, allow=Grants(visibilities=frozenset({Visibility.OPEN})))
FALCON = StoreScope(
    INTERNAL, allow=Grants(spaces=frozenset({(Visibility.RESTRICTED, "project-falcon")}))
)
EMPLOYEE = StoreScope(
    INTERNAL,
    allow=Grants(
        visibilities=frozenset({Visibility.OPEN, Visibility.SHARED}),
        spaces=frozenset({(Visibility.RESTRICTED, "project-falcon")}),
    ),
)
NOT_HR = StoreScope(
    INTERNAL,
    allow=Grants(everything=True),
    deny=Grants(spaces=frozenset({(Visibility.RESTRICTED, "hr-private")})),
)
NOT_RESTRICTED = StoreScope(
    INTERNAL,
    allow=Grants(everything=True),
    deny=Grants(visibilities=frozenset({Visibility.RESTRICTED})),
)
# A grant for a slug under the wrong visibility class must not match anything.
WRONG_CLASS = StoreScope(
    INTERNAL, allow=Grants(spaces=frozenset({(Visibility.OPEN, "project-falcon")}))
)
NOTHING = StoreScope(INTERNAL)
DENY_ALL = StoreScope(INTERNAL, allow=Grants(everything=True), deny=Grants(everything=True))

ALL_SLUGS = ["aurora-feedback", "engineering", "engineering-qa", "hr-private", "project-falcon"]

# Every internal question, newest first. "Release train for Q1" is a plain discussion
# topic and never appears.
ALL_QUESTIONS = [
    "Can Aurora export CSV?",
    "Aurora battery spec?",
    "Falcon launch date?",
    "Falcon conflict resolution design",
    "Salary review calibration",
    "Postgres 17 upgrade plan?",
    "How do I get staging credentials?",
    "Who owns the build cache?",
]
OPEN_QUESTIONS = [
    "Postgres 17 upgrade plan?",
    "How do I get staging credentials?",
    "Who owns the build cache?",
]
FALCON_QUESTIONS = ["Falcon launch date?", "Falcon conflict resolution design"]
PROFILED = {
    "erin@corp.example",
    "omar@corp.example",
    "hana@corp.example",
    "sam@corp.example",
    "mia@corp.example",
    "carl@contractor.example",
    "paula@partner.example",
    "tara@customer.example",
}
BAD_IDS = ["abc", "", " 1", "01", "+1", "1.0", "-1", "0", "1_0", "99999999999999999999"]


@pytest.fixture
async def store(databases: DatabaseFactory) -> AsyncIterator[InternalStore]:
    store = InternalStore(await databases.create("internal"))
    try:
        await store.create_schema()
        await store.load_demo(demo_data(LOADED_AT))
        yield store
    finally:
        await store.close()


@contextmanager
def statements(store: InternalStore) -> Iterator[list[str]]:
    """Collect the SQL statements the store sends while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def space_ids(store: InternalStore) -> dict[str, str]:
    page = await store.list_spaces(EVERYTHING, kind=None, after=None, limit=100)
    return {space.slug: space.id for space in page.items}


async def questions(store: InternalStore) -> dict[str, Question]:
    page = await store.list_questions(
        EVERYTHING, space_ids=None, unanswered=False, tag=None, after=None, limit=100
    )
    return {question.title: question for question in page.items}


async def discussion_topic_id(store: InternalStore) -> str:
    async with store.engine.connect() as conn:
        topic_id = await conn.scalar(select(forum_topics.c.id).where(~forum_topics.c.is_question))
    return str(topic_id)


async def titles(store: InternalStore, scope: StoreScope, **filters: Any) -> list[str]:
    options: dict[str, Any] = {"space_ids": None, "unanswered": False, "tag": None, "after": None}
    page = await store.list_questions(scope, **(options | filters), limit=100)
    assert not page.has_next
    return [question.title for question in page.items]


# --- surface and lifecycle -------------------------------------------------


async def test_package_exports_only_the_store() -> None:
    assert adapters.internal.__all__ == ["InternalStore"]
    store = InternalStore("sqlite+aiosqlite://")
    try:
        assert isinstance(store, Store)
        assert store.name is StoreName.INTERNAL
    finally:
        await store.close()


async def test_demo_loads_once_and_schema_creation_is_idempotent(
    databases: DatabaseFactory,
) -> None:
    store = InternalStore(await databases.create("internal"))
    try:
        await store.create_schema()
        assert await store.is_empty()
        for _ in range(2):  # what the gateway's start-up does on every boot
            if await store.is_empty():
                await store.load_demo(demo_data(LOADED_AT))
        await store.create_schema()
        assert not await store.is_empty()
        assert sorted(await space_ids(store)) == ALL_SLUGS

        # Loading again without the guard fails as a whole and leaves nothing behind.
        with pytest.raises(IntegrityError):
            await store.load_demo(demo_data(LOADED_AT))
        assert list(await questions(store)) == ALL_QUESTIONS
        assert set(await store.people_by_emails(sorted(PROFILED))) == PROFILED
    finally:
        await store.close()


async def test_ping(store: InternalStore) -> None:
    await store.ping()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres:s3cret-pw@127.0.0.1:1/x",
        "mysql+asyncmy://root:s3cret-pw@127.0.0.1:1/x",
        "sqlite+aiosqlite:////nonexistent-dir/s3cret-pw/internal.db",
    ],
)
async def test_ping_unreachable_names_the_store_without_the_password(url: str) -> None:
    store = InternalStore(url)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            await store.ping()
    finally:
        await store.close()
    assert "internal store" in str(raised.value)
    if "@" in url:
        assert "s3cret-pw" not in str(raised.value)


async def test_externals_get_profiles_without_department(databases: DatabaseFactory) -> None:
    data = demo_data(LOADED_AT)
    people = tuple(
        dataclasses.replace(p, department="Operations") if p.handle == "tara" else p
        for p in data.people
    )
    store = InternalStore(await databases.create("internal"))
    try:
        await store.create_schema()
        await store.load_demo(dataclasses.replace(data, people=people))
        found = await store.people_by_emails(["tara@customer.example", "carl@contractor.example"])
    finally:
        await store.close()
    assert found["tara@customer.example"].department is None
    assert found["tara@customer.example"].organisation == "Customer Inc"
    # The contractor is an "honorary employee" with a corporate directory entry.
    assert found["carl@contractor.example"].department == "Engineering"


# --- spaces ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (EVERYTHING, ALL_SLUGS),
        (OPEN, ["engineering", "engineering-qa"]),
        (FALCON, ["project-falcon"]),
        (EMPLOYEE, ["aurora-feedback", "engineering", "engineering-qa", "project-falcon"]),
        (NOT_HR, ["aurora-feedback", "engineering", "engineering-qa", "project-falcon"]),
        (NOT_RESTRICTED, ["aurora-feedback", "engineering", "engineering-qa"]),
        (WRONG_CLASS, []),
    ],
)
async def test_list_spaces_by_scope(
    store: InternalStore, scope: StoreScope, expected: list[str]
) -> None:
    page = await store.list_spaces(scope, kind=None, after=None, limit=10)
    assert [space.slug for space in page.items] == expected
    assert not page.has_next


@pytest.mark.parametrize("scope", [NOTHING, DENY_ALL])
async def test_empty_scope_sends_no_statement(store: InternalStore, scope: StoreScope) -> None:
    ids = list((await space_ids(store)).values())
    with statements(store) as sent:
        assert (await store.list_spaces(scope, kind=None, after=None, limit=10)).items == []
        assert await store.spaces_by_ids(ids, scope) == {}
        assert (await titles(store, scope)) == []
        assert await store.questions_by_ids([str(n) for n in range(1, 20)], scope) == {}
        assert await store.search_questions(scope, "aurora", 10) == []
        assert await store.answers_by_ids(["1", "2"], scope) == {}
        assert await store.prototypes_by_ids(["1", "2"], scope) == {}
        assert await store.feedback_by_ids(["1", "2"], scope) == {}
    assert sent == []


async def test_space_mapping(store: InternalStore) -> None:
    page = await store.list_spaces(EVERYTHING, kind=None, after=None, limit=10)
    aurora = page.items[0]
    assert aurora.store is StoreName.INTERNAL
    assert aurora.kind is SpaceKind.PROTOTYPE_FEEDBACK
    assert aurora.visibility is Visibility.SHARED
    assert aurora.name == "Aurora prototype feedback"
    assert aurora.description == "Feedback on the Aurora smart sensor prototypes."
    assert aurora.tags == ("aurora", "prototype")
    assert aurora.key == "internal/shared/aurora-feedback"
    assert aurora.id.isdigit()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (SpaceKind.GROUP, ["engineering", "hr-private", "project-falcon"]),
        (SpaceKind.QA, ["engineering-qa"]),
        (SpaceKind.PROTOTYPE_FEEDBACK, ["aurora-feedback"]),
    ],
)
async def test_list_spaces_by_kind(
    store: InternalStore, kind: SpaceKind, expected: list[str]
) -> None:
    page = await store.list_spaces(EVERYTHING, kind=kind, after=None, limit=10)
    assert [space.slug for space in page.items] == expected
    page = await store.list_spaces(OPEN, kind=kind, after=None, limit=10)
    assert [space.slug for space in page.items] == [s for s in expected if s.startswith("eng")]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 6])
async def test_list_spaces_pages_cover_everything_once(store: InternalStore, limit: int) -> None:
    seen: list[str] = []
    flags: list[bool] = []
    after = None
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        page = await store.list_spaces(EVERYTHING, kind=None, after=after, limit=limit)
        seen += [space.slug for space in page.items]
        flags.append(page.has_next)
        if not page.has_next:
            break
        after = NameCursor(page.items[-1].name, page.items[-1].id)
    assert seen == ALL_SLUGS
    pages = -(-len(ALL_SLUGS) // limit)
    assert flags == [True] * (pages - 1) + [False]


async def test_list_spaces_breaks_name_ties_by_id(store: InternalStore) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(communities),
            [
                {
                    "slug": f"engineering-{n}",
                    "title": "Engineering",
                    "description": "",
                    "community_type": "group",
                    "access": "open",
                    "tags": "",
                    "created_at": LOADED_AT.replace(tzinfo=None),
                }
                for n in (2, 3)
            ],
        )
    seen: list[str] = []
    after = NameCursor("Engineering", (await space_ids(store))["engineering"])
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        if after is None:
            break
        page = await store.list_spaces(OPEN, kind=None, after=after, limit=1)
        seen += [space.slug for space in page.items]
        after = NameCursor(page.items[-1].name, page.items[-1].id) if page.has_next else None
    assert seen == ["engineering-2", "engineering-3", "engineering-qa"]


async def test_spaces_by_ids(store: InternalStore) -> None:
    ids = await space_ids(store)
    wanted = [*ids.values(), *BAD_IDS, "424242"]
    found = await store.spaces_by_ids(wanted, OPEN)
    assert {space.slug for space in found.values()} == {"engineering", "engineering-qa"}
    assert all(found[key].id == key for key in found)
    found = await store.spaces_by_ids(wanted, NOT_HR)
    assert sorted(space.slug for space in found.values()) == [
        s for s in ALL_SLUGS if s != "hr-private"
    ]
    assert await store.spaces_by_ids(BAD_IDS, EVERYTHING) == {}


# --- memberships ---------------------------------------------------------------


async def test_memberships_for(store: InternalStore) -> None:
    ids = await space_ids(store)
    erin = await store.memberships_for("erin@corp.example")
    assert {(m.space_id, m.space_key, m.role, m.expires_at) for m in erin} == {
        (ids["engineering"], "internal/open/engineering", SpaceRole.MEMBER, None),
        (ids["project-falcon"], "internal/restricted/project-falcon", SpaceRole.MEMBER, None),
        (ids["aurora-feedback"], "internal/shared/aurora-feedback", SpaceRole.OWNER, None),
    }
    assert all(m.store is StoreName.INTERNAL for m in erin)

    # Matched case-insensitively; expired grants are still reported (the caller decides).
    (paula,) = await store.memberships_for(" Paula@Partner.EXAMPLE ")
    assert paula.space_key == "internal/shared/aurora-feedback"
    assert paula.role is SpaceRole.GUEST
    assert paula.expires_at == LOADED_AT + timedelta(days=180)
    assert paula.expires_at.tzinfo is not None
    assert not paula.active(LOADED_AT + timedelta(days=181))

    omar = await store.memberships_for("omar@corp.example")
    assert {(m.space_key, m.role) for m in omar} == {
        ("internal/open/engineering", SpaceRole.OWNER),
        ("internal/open/engineering-qa", SpaceRole.OWNER),
        ("internal/restricted/project-falcon", SpaceRole.OWNER),
    }
    assert await store.memberships_for("sam@corp.example") == []  # a profile, no memberships
    assert await store.memberships_for("nobody@corp.example") == []


@pytest.mark.parametrize(
    ("after", "aurora"),
    [
        (timedelta(0), 3),
        (timedelta(days=90), 2),  # tara's invitation ends exactly now: no longer counted
        (timedelta(days=100), 2),
        (timedelta(days=180), 1),
        (timedelta(days=365), 1),  # the owner's membership never expires
    ],
)
async def test_member_counts_respect_now(
    store: InternalStore, after: timedelta, aurora: int
) -> None:
    ids = await space_ids(store)
    # The caller's clock may be in any time zone.
    now = (LOADED_AT + after).astimezone(timezone(timedelta(hours=-5)))
    counts = await store.member_counts([*ids.values(), "abc"], now)
    assert counts == {
        ids["aurora-feedback"]: aurora,
        ids["engineering"]: 2,
        ids["engineering-qa"]: 1,
        ids["hr-private"]: 1,
        ids["project-falcon"]: 2,
    }


# --- questions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (EVERYTHING, ALL_QUESTIONS),
        (OPEN, OPEN_QUESTIONS),
        (FALCON, FALCON_QUESTIONS),
        (NOT_HR, [q for q in ALL_QUESTIONS if q != "Salary review calibration"]),
        (
            NOT_RESTRICTED,
            ["Can Aurora export CSV?", "Aurora battery spec?", *OPEN_QUESTIONS],
        ),
        (WRONG_CLASS, []),
    ],
)
async def test_list_questions_by_scope(
    store: InternalStore, scope: StoreScope, expected: list[str]
) -> None:
    assert await titles(store, scope) == expected


async def test_list_questions_filters(store: InternalStore) -> None:
    ids = await space_ids(store)
    assert await titles(store, EVERYTHING, unanswered=True) == [
        "Can Aurora export CSV?",
        "Falcon launch date?",
        "Salary review calibration",
        "Postgres 17 upgrade plan?",
    ]
    assert await titles(store, OPEN, unanswered=True) == ["Postgres 17 upgrade plan?"]
    assert await titles(store, EVERYTHING, tag="ci") == ["Who owns the build cache?"]
    assert await titles(store, EVERYTHING, tag="CI") == ["Who owns the build cache?"]
    assert await titles(store, EVERYTHING, tag="release") == []  # only a discussion has it
    assert await titles(store, OPEN, tag="compensation") == []
    assert await titles(store, EVERYTHING, space_ids=[ids["engineering"], "abc"]) == [
        "Who owns the build cache?"
    ]
    assert await titles(
        store, EVERYTHING, space_ids=[ids["project-falcon"], ids["aurora-feedback"]]
    ) == ["Can Aurora export CSV?", "Aurora battery spec?", *FALCON_QUESTIONS]
    # Naming a space does not get around the scope.
    assert await titles(store, OPEN, space_ids=[ids["project-falcon"]]) == []
    assert await titles(store, EVERYTHING, space_ids=[]) == []
    assert await titles(store, EVERYTHING, space_ids=["abc"]) == []


async def test_question_mapping(store: InternalStore) -> None:
    found = await questions(store)
    cache = found["Who owns the build cache?"]
    ids = await space_ids(store)
    assert cache.store is StoreName.INTERNAL
    assert cache.space_id == ids["engineering"]
    assert cache.body == "CI misses the cache on every fork build. @omar do you know?"
    assert cache.tags == ("ci",)
    assert cache.answered and cache.accepted_answer_id is not None
    erin = (await store.people_by_emails(["erin@corp.example"]))["erin@corp.example"]
    assert cache.author_id == erin.id
    assert not found["Postgres 17 upgrade plan?"].answered
    times = [q.created_at for q in found.values()]
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)
    assert all(t < LOADED_AT for t in times)
    assert times == sorted(set(times), reverse=True)


@pytest.mark.parametrize("limit", [1, 2, 3, 8, 9])
async def test_list_questions_pages_cover_everything_once(store: InternalStore, limit: int) -> None:
    seen: list[str] = []
    after = None
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        page = await store.list_questions(
            EVERYTHING, space_ids=None, unanswered=False, tag=None, after=after, limit=limit
        )
        seen += [question.title for question in page.items]
        assert len(page.items) == limit or not page.has_next
        if not page.has_next:
            break
        last = page.items[-1]
        after = TimeCursor(last.created_at, AtTime.BELOW_ID, last.id)
    assert seen == ALL_QUESTIONS


async def test_time_cursor_modes(store: InternalStore) -> None:
    launch = (await questions(store))["Falcon launch date?"]
    older = ALL_QUESTIONS[ALL_QUESTIONS.index(launch.title) + 1 :]
    # A cursor in another time zone names the same instant.
    elsewhere = launch.created_at.astimezone(timezone(timedelta(hours=5, minutes=30)))
    for at in (launch.created_at, elsewhere):
        cases = {
            TimeCursor(at): older,
            TimeCursor(at, AtTime.ALL): [launch.title, *older],
            TimeCursor(at, AtTime.BELOW_ID, launch.id): older,
            TimeCursor(at, AtTime.BELOW_ID, str(int(launch.id) + 1)): [launch.title, *older],
        }
        for cursor, expected in cases.items():
            assert await titles(store, EVERYTHING, after=cursor) == expected, cursor


async def test_time_cursor_modes_with_equal_times(store: InternalStore) -> None:
    ids = await space_ids(store)
    same = datetime(2025, 5, 1, 8, 0, 0, 654321)
    async with store.engine.begin() as conn:
        for n in range(3):
            await conn.execute(
                insert(forum_topics).values(
                    community_id=int(ids["engineering"]),
                    subject=f"Tie {n}",
                    content="same instant",
                    is_question=True,
                    created_at=same,
                )
            )
    mine = [ids["engineering"]]
    assert await titles(store, EVERYTHING, space_ids=mine) == [
        "Who owns the build cache?",
        "Tie 2",
        "Tie 1",
        "Tie 0",
    ]
    at = same.replace(tzinfo=UTC)
    assert await titles(store, EVERYTHING, space_ids=mine, after=TimeCursor(at)) == []
    assert await titles(store, EVERYTHING, space_ids=mine, after=TimeCursor(at, AtTime.ALL)) == [
        "Tie 2",
        "Tie 1",
        "Tie 0",
    ]

    # Walking one row at a time through the tie loses nothing and repeats nothing.
    seen: list[str] = []
    after = TimeCursor(at + timedelta(microseconds=1))
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        page = await store.list_questions(
            EVERYTHING, space_ids=mine, unanswered=False, tag=None, after=after, limit=1
        )
        seen += [q.title for q in page.items]
        if not page.has_next:
            break
        assert page.items[0].created_at == at  # exact to the microsecond
        after = TimeCursor(page.items[0].created_at, AtTime.BELOW_ID, page.items[0].id)
    assert seen == ["Tie 2", "Tie 1", "Tie 0"]


async def test_questions_by_ids(store: InternalStore) -> None:
    by_title = await questions(store)
    wanted = [q.id for q in by_title.values()] + [await discussion_topic_id(store), *BAD_IDS]
    found = await store.questions_by_ids(wanted, EVERYTHING)
    assert set(found) == {q.id for q in by_title.values()}
    assert found[by_title["Falcon launch date?"].id] == by_title["Falcon launch date?"]
    found = await store.questions_by_ids(wanted, OPEN)
    assert sorted(q.title for q in found.values()) == sorted(OPEN_QUESTIONS)
    found = await store.questions_by_ids(wanted, FALCON)
    assert sorted(q.title for q in found.values()) == sorted(FALCON_QUESTIONS)


@pytest.mark.parametrize(
    ("scope", "text", "limit", "expected"),
    [
        (EVERYTHING, "AURORA", 10, ["Can Aurora export CSV?", "Aurora battery spec?"]),
        (EVERYTHING, "aurora", 1, ["Can Aurora export CSV?"]),
        (
            EVERYTHING,
            "@omar",
            10,
            ["Falcon conflict resolution design", "Who owns the build cache?"],
        ),
        (OPEN, "@omar", 10, ["Who owns the build cache?"]),
        (NOT_HR, "calibration", 10, []),
        (EVERYTHING, "calibration", 10, ["Salary review calibration"]),
        (EVERYTHING, "release", 10, []),  # only in a discussion topic
        (EVERYTHING, "%", 10, []),
        (EVERYTHING, "_", 10, []),
        (EVERYTHING, "Cut%14th", 10, []),
        (EVERYTHING, "Postgres 17", 10, ["Postgres 17 upgrade plan?"]),
        (EVERYTHING, "", 3, ALL_QUESTIONS[:3]),
    ],
)
async def test_search_questions(
    store: InternalStore, scope: StoreScope, text: str, limit: int, expected: list[str]
) -> None:
    found = await store.search_questions(scope, text, limit)
    assert [q.title for q in found] == expected


async def test_search_is_literal_and_folds_unicode(store: InternalStore) -> None:
    ids = await space_ids(store)
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(forum_topics),
            [
                {
                    "community_id": int(ids["engineering"]),
                    "subject": subject,
                    "content": "",
                    "is_question": True,
                    "created_at": datetime(2025, 1, 1, 0, 0, n),
                }
                for n, subject in enumerate(["100% uptime?", "Über-Sensor pairing", "snake_case"])
            ],
        )
    assert [q.title for q in await store.search_questions(OPEN, "0% up", 10)] == ["100% uptime?"]
    assert [q.title for q in await store.search_questions(OPEN, "%", 10)] == ["100% uptime?"]
    assert [q.title for q in await store.search_questions(OPEN, "e_c", 10)] == ["snake_case"]
    assert [q.title for q in await store.search_questions(OPEN, "über-s", 10)] == [
        "Über-Sensor pairing"
    ]


# --- questions per space ------------------------------------------------------------

TIE = datetime(2025, 5, 1, 8, 0, 0, 654321)  # naive UTC, as the tables hold it
# Questions added to the demo per space as (title, answered, tags, created_at), newest first
# (ties by id: the later insert first). Engineering also gets a newer "ci" discussion topic,
# which is no question and never shows.
ADDED = {
    "engineering": [
        ("Flaky test triage?", False, ("ci",), LOADED_AT + timedelta(minutes=5)),
        ("Tie 3", False, (), TIE),
        ("Tie 2", False, ("ci", "flaky"), TIE),
        ("Tie 1", True, ("ci",), TIE),
        ("Tie 0", False, ("ci",), TIE),
        ("Oldest CI question", False, ("ci",), TIE - timedelta(days=1)),
    ],
    "engineering-qa": [
        ("Newer QA", True, ("ci",), LOADED_AT + timedelta(minutes=1)),
        ("Tie QA", False, ("ci",), TIE),
        ("Older QA", False, (), TIE - timedelta(seconds=1)),
    ],
}


async def add_questions(store: InternalStore) -> dict[str, str]:
    """Add :data:`ADDED` (and the discussion); the new topics' ids by title."""
    ids = await space_ids(store)
    added: dict[str, str] = {}
    rows = [
        (slug, title, answered, tags, at)
        for slug, topics in ADDED.items()
        for title, answered, tags, at in reversed(topics)  # oldest first: ties by id
    ]
    rows.append(("engineering", "Newest discussion", None, ("ci",), LOADED_AT + timedelta(hours=1)))
    async with store.engine.begin() as conn:
        for slug, title, answered, tags, at in rows:
            result = await conn.execute(
                insert(forum_topics).values(
                    community_id=int(ids[slug]),
                    subject=title,
                    content="",
                    is_question=answered is not None,
                    created_at=at.replace(tzinfo=None),
                )
            )
            (topic_id,) = result.inserted_primary_key or ()
            added[title] = str(topic_id)
            if tags:
                await conn.execute(
                    insert(topic_tags), [{"topic_id": topic_id, "tag": tag} for tag in tags]
                )
            if answered:
                result = await conn.execute(
                    insert(forum_replies).values(
                        topic_id=topic_id, content="Done.", created_at=at.replace(tzinfo=None)
                    )
                )
                (reply_id,) = result.inserted_primary_key or ()
                await conn.execute(
                    update(forum_topics)
                    .where(forum_topics.c.id == topic_id)
                    .values(accepted_reply_id=reply_id)
                )
    return added


@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_questions_for_spaces_match_list_questions(store: InternalStore, limit: int) -> None:
    added = await add_questions(store)
    ids = list((await space_ids(store)).values())
    launch = (await questions(store))["Falcon launch date?"]
    tie = TIE.replace(tzinfo=UTC)
    cursors = [
        None,
        TimeCursor(tie),
        TimeCursor(tie, AtTime.ALL),
        TimeCursor(tie, AtTime.BELOW_ID, added["Tie 2"]),
        TimeCursor(launch.created_at, AtTime.BELOW_ID, launch.id),
        TimeCursor(launch.created_at, AtTime.ALL),
    ]
    shapes: set[tuple[int, bool]] = set()
    for unanswered in (False, True):
        for tag in (None, "CI"):
            for after in cursors:
                filters: dict[str, Any] = {"unanswered": unanswered, "tag": tag, "after": after}
                pages = await store.questions_for_spaces(ids, **filters, limit=limit)
                assert list(pages) == ids
                for space_id in ids:
                    expected = await store.list_questions(
                        EVERYTHING, space_ids=[space_id], **filters, limit=limit
                    )
                    assert pages[space_id] == expected, (space_id, filters)
                    shapes.add((len(expected.items), expected.has_next))
    # Not vacuous: full pages with more and without, short pages and empty ones.
    assert {(limit, True), (limit, False), (0, False)} <= shapes
    assert limit == 1 or any(0 < size < limit for size, _ in shapes)


async def test_questions_for_spaces_pages_and_unknown_ids(store: InternalStore) -> None:
    await add_questions(store)
    ids = await space_ids(store)
    eng, qa, hr = ids["engineering"], ids["engineering-qa"], ids["hr-private"]
    wanted = [eng, *BAD_IDS, qa, "424242", hr, "9999"]
    options: dict[str, Any] = {"unanswered": False, "tag": None, "after": None}

    pages = await store.questions_for_spaces(wanted, **options, limit=2)
    # Every requested id gets a page, in the order asked, even ids that cannot name a space.
    assert list(pages) == wanted
    assert [q.title for q in pages[eng].items] == [
        "Flaky test triage?",
        "Who owns the build cache?",
    ]
    assert pages[eng].has_next
    flaky = pages[eng].items[0]
    assert (flaky.space_id, flaky.store, flaky.tags, flaky.answered) == (
        eng,
        StoreName.INTERNAL,
        ("ci",),
        False,
    )
    assert [q.title for q in pages[qa].items] == ["Newer QA", "Postgres 17 upgrade plan?"]
    assert pages[qa].has_next and pages[qa].items[0].answered
    assert [q.title for q in pages[hr].items] == ["Salary review calibration"]
    assert not pages[hr].has_next
    others = [other for other in wanted if other not in {eng, qa, hr}]
    assert all(pages[other] == Page() for other in others)

    # limit 0 still says whether there is anything.
    pages = await store.questions_for_spaces(wanted, **options, limit=0)
    assert {sid for sid, page in pages.items() if page.has_next} == {eng, qa, hr}
    assert all(page.items == [] for page in pages.values())

    # Unanswered and tagged (the discussion has the tag too, but is no question).
    filtered = {"unanswered": True, "tag": " Ci ", "after": None}
    pages = await store.questions_for_spaces([eng, qa], **filtered, limit=4)
    assert [q.title for q in pages[eng].items] == [
        "Flaky test triage?",
        "Tie 2",
        "Tie 0",
        "Oldest CI question",
    ]
    assert not pages[eng].has_next
    assert [q.title for q in pages[qa].items] == ["Tie QA"]
    pages = await store.questions_for_spaces([eng, qa], **filtered, limit=3)
    assert pages[eng].has_next and not pages[qa].has_next

    # Walking one space a row at a time through the tie loses nothing and repeats nothing.
    seen: list[str] = []
    after = None
    for _ in range(20):  # bounded: a cursor that does not advance fails, not hangs
        pages = await store.questions_for_spaces([qa, eng], **(options | {"after": after}), limit=1)
        seen += [q.title for q in pages[eng].items]
        if not pages[eng].has_next:
            break
        last = pages[eng].items[-1]
        after = TimeCursor(last.created_at, AtTime.BELOW_ID, last.id)
    assert seen == [
        "Flaky test triage?",
        "Who owns the build cache?",
        *(title for title, *_ in ADDED["engineering"][1:]),
    ]

    # No valid id: no statement at all; a valid but unknown one: no tags to fetch.
    with statements(store) as sent:
        assert await store.questions_for_spaces(BAD_IDS, **options, limit=5) == {
            bad: Page() for bad in BAD_IDS
        }
        assert await store.questions_for_spaces([], **options, limit=5) == {}
    assert sent == []
    with statements(store) as sent:
        assert await store.questions_for_spaces(["424242"], **options, limit=5) == {
            "424242": Page()
        }
    assert len(sent) == 1


async def test_questions_for_spaces_send_the_same_statements_for_1_or_all_spaces(
    store: InternalStore,
) -> None:
    await add_questions(store)
    by_slug = await space_ids(store)
    eng, ids = by_slug["engineering"], list(by_slug.values())
    tie = TIE.replace(tzinfo=UTC)
    for filters in (
        {"unanswered": False, "tag": None, "after": None},
        {
            "unanswered": True,
            "tag": "ci",
            "after": TimeCursor(tie, AtTime.ALL),
        },
    ):
        with statements(store) as sent_one:
            one = await store.questions_for_spaces([eng], **filters, limit=2)
        with statements(store) as sent_all:
            every = await store.questions_for_spaces([*ids, *ids, "abc"], **filters, limit=2)
        assert one[eng].items, filters
        assert every[eng] == one[eng]
        assert sum(len(page.items) for page in every.values()) > len(one[eng].items)
        # One ranked statement for the topics, one for all their tags.
        assert len(sent_one) == len(sent_all) == 2, (sent_one, sent_all)
        assert "row_number" in sent_all[0].lower()


# --- answers -----------------------------------------------------------------------


async def test_answers_for_questions(store: InternalStore) -> None:
    by_title = await questions(store)
    cache, postgres = by_title["Who owns the build cache?"], by_title["Postgres 17 upgrade plan?"]
    wanted = [q.id for q in by_title.values()] + [await discussion_topic_id(store), "abc", "9999"]
    pages = await store.answers_for_questions(wanted, after=None, limit=5)
    # Every requested id gets a page, even ids that cannot name a question.
    assert list(pages) == wanted
    assert all(not pages[other].items for other in wanted[-3:])
    assert pages[postgres.id].items == [] and not pages[postgres.id].has_next
    (answer,) = pages[cache.id].items
    assert answer.body == "Platform team owns it."
    assert answer.accepted and answer.id == cache.accepted_answer_id
    assert answer.question_id == cache.id and answer.space_id == cache.space_id
    assert answer.created_at > cache.created_at
    answered = {q.id for q in by_title.values() if q.answered}
    assert {qid for qid, page in pages.items() if page.items} == answered

    # limit 0 still says whether there is anything.
    pages = await store.answers_for_questions(wanted, after=None, limit=0)
    assert {qid for qid, page in pages.items() if page.has_next} == answered
    assert all(page.items == [] for page in pages.values())


async def test_answers_for_questions_pages_and_cursor(store: InternalStore) -> None:
    by_title = await questions(store)
    postgres, cache = by_title["Postgres 17 upgrade plan?"], by_title["Who owns the build cache?"]
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(forum_replies),
            [
                {
                    "topic_id": int(postgres.id),
                    "content": f"Reply {n}",
                    "created_at": LOADED_AT.replace(tzinfo=None) + timedelta(minutes=n),
                }
                for n in range(3)
            ],
        )
    wanted = [postgres.id, cache.id]
    pages = await store.answers_for_questions(wanted, after=None, limit=2)
    assert [a.body for a in pages[postgres.id].items] == ["Reply 2", "Reply 1"]
    assert pages[postgres.id].has_next
    assert not any(a.accepted for a in pages[postgres.id].items)
    assert [a.body for a in pages[cache.id].items] == ["Platform team owns it."]
    assert not pages[cache.id].has_next

    last = pages[postgres.id].items[-1]
    after = TimeCursor(last.created_at, AtTime.BELOW_ID, last.id)
    pages = await store.answers_for_questions(wanted, after=after, limit=2)
    assert [a.body for a in pages[postgres.id].items] == ["Reply 0"]
    assert not pages[postgres.id].has_next
    # The build-cache answer is older than the cursor, so it follows it too.
    assert [a.body for a in pages[cache.id].items] == ["Platform team owns it."]

    pages = await store.answers_for_questions(wanted, after=TimeCursor(last.created_at), limit=5)
    assert [a.body for a in pages[postgres.id].items] == ["Reply 0"]
    pages = await store.answers_for_questions(
        wanted, after=TimeCursor(last.created_at, AtTime.ALL), limit=5
    )
    assert [a.body for a in pages[postgres.id].items] == ["Reply 1", "Reply 0"]
    assert await store.answer_counts([*wanted, "abc"]) == {postgres.id: 3, cache.id: 1}


async def test_answers_by_ids_and_counts(store: InternalStore) -> None:
    by_title = await questions(store)
    pages = await store.answers_for_questions(
        [q.id for q in by_title.values()], after=None, limit=5
    )
    answer_ids = [a.id for page in pages.values() for a in page.items]
    assert len(answer_ids) == 4
    found = await store.answers_by_ids([*answer_ids, *BAD_IDS], EVERYTHING)
    assert sorted(a.body for a in found.values()) == [
        "Approved with two comments.",
        "File an access request in the portal.",
        "Platform team owns it.",
        "Target is 18 months at one reading a minute.",
    ]
    assert all(a.accepted for a in found.values())
    found = await store.answers_by_ids(answer_ids, OPEN)
    assert sorted(a.body for a in found.values()) == [
        "File an access request in the portal.",
        "Platform team owns it.",
    ]
    found = await store.answers_by_ids(answer_ids, FALCON)
    assert [a.body for a in found.values()] == ["Approved with two comments."]

    counts = await store.answer_counts([*(q.id for q in by_title.values()), "abc"])
    assert counts == {q.id: 1 for q in by_title.values() if q.answered}


# --- prototypes and feedback -------------------------------------------------------


async def test_prototypes_for_spaces(store: InternalStore) -> None:
    ids = await space_ids(store)
    wanted = [ids["aurora-feedback"], ids["engineering"], "abc", "9999"]
    pages = await store.prototypes_for_spaces(wanted, limit=1)
    assert list(pages) == wanted
    assert pages["abc"] == pages["9999"] == Page()
    assert [p.name for p in pages[ids["aurora-feedback"]].items] == ["Aurora hub"]
    assert pages[ids["aurora-feedback"]].has_next
    assert pages[ids["engineering"]].items == [] and not pages[ids["engineering"]].has_next

    pages = await store.prototypes_for_spaces(wanted, limit=2)
    hub, sensor = pages[ids["aurora-feedback"]].items
    assert not pages[ids["aurora-feedback"]].has_next
    assert (sensor.name, sensor.version, sensor.description) == (
        "Aurora sensor",
        "0.3",
        "Battery-powered sensor, first field build.",
    )
    assert hub.space_id == ids["aurora-feedback"] and hub.store is StoreName.INTERNAL

    found = await store.prototypes_by_ids([hub.id, sensor.id, *BAD_IDS], EMPLOYEE)
    assert found == {hub.id: hub, sensor.id: sensor}
    assert await store.prototypes_by_ids([hub.id, sensor.id], OPEN) == {}
    assert await store.prototypes_by_ids([hub.id, sensor.id], NOT_RESTRICTED) == found


async def test_feedback_for_prototypes(store: InternalStore) -> None:
    ids = await space_ids(store)
    pages = await store.prototypes_for_spaces([ids["aurora-feedback"]], limit=5)
    hub, sensor = pages[ids["aurora-feedback"]].items

    feedback = await store.feedback_for_prototypes([sensor.id, hub.id, "abc", "9999"], limit=1)
    assert list(feedback) == [sensor.id, hub.id, "abc", "9999"]
    assert feedback["abc"] == feedback["9999"] == Page()
    (newest,) = feedback[sensor.id].items
    assert newest.body == "Casing tolerances are tight for us."
    assert feedback[sensor.id].has_next
    (hub_fb,) = feedback[hub.id].items
    assert hub_fb.body == "Pairs 40 sensors in under a minute."
    assert not feedback[hub.id].has_next

    feedback = await store.feedback_for_prototypes([sensor.id], limit=2)
    paula_fb, tara_fb = feedback[sensor.id].items
    assert not feedback[sensor.id].has_next
    assert (tara_fb.rating, tara_fb.internal_note) == (
        4,
        "Customer is a renewal risk; prioritise pairing.",
    )
    assert tara_fb.created_at < paula_fb.created_at
    assert (tara_fb.prototype_id, tara_fb.space_id) == (sensor.id, ids["aurora-feedback"])
    people = await store.people_by_emails(["tara@customer.example"])
    assert tara_fb.author_id == people["tara@customer.example"].id

    all_ids = [paula_fb.id, tara_fb.id, hub_fb.id, *BAD_IDS]
    found = await store.feedback_by_ids(all_ids, EVERYTHING)
    assert sorted(f.rating for f in found.values()) == [3, 4, 5]
    assert found[tara_fb.id] == tara_fb
    assert await store.feedback_by_ids(all_ids, OPEN) == {}
    assert await store.feedback_by_ids(all_ids, NOT_RESTRICTED) == found


# --- people ------------------------------------------------------------------------


async def test_people_by_emails_and_ids(store: InternalStore) -> None:
    everyone = [p.email for p in demo_data(LOADED_AT).people]
    found = await store.people_by_emails([e.upper() for e in everyone] + ["nobody@corp.example"])
    # mo only has a community account: no internal profile.
    assert set(found) == PROFILED
    erin = found["erin@corp.example"]
    assert (erin.display_name, erin.handle, erin.email) == (
        "Erin Engel",
        "erin",
        "erin@corp.example",
    )
    assert (erin.organisation, erin.title, erin.department) == (
        "Corp",
        "Staff engineer",
        "Engineering",
    )
    assert erin.store is StoreName.INTERNAL
    paula = found["paula@partner.example"]
    assert (paula.organisation, paula.department) == ("Partner Ltd", None)

    by_id = await store.people_by_ids([p.id for p in found.values()] + BAD_IDS + ["424242"])
    assert {p.handle for p in by_id.values()} == {p.handle for p in found.values()}
    assert by_id[erin.id] == erin
    assert await store.people_by_emails([]) == {}
    assert await store.people_by_ids(BAD_IDS) == {}


# --- batching ------------------------------------------------------------------------


async def test_batched_lookups_send_the_same_statements_for_1_or_20_ids(
    store: InternalStore,
) -> None:
    now = LOADED_AT
    emails = sorted(PROFILED) + [f"x{n}@corp.example" for n in range(12)]
    lookups: dict[str, tuple[Any, int]] = {
        "spaces_by_ids": (lambda ids: store.spaces_by_ids(ids, EVERYTHING), 1),
        "member_counts": (lambda ids: store.member_counts(ids, now), 1),
        # one for the topics and one for all their tags
        "questions_by_ids": (lambda ids: store.questions_by_ids(ids, EVERYTHING), 2),
        "questions_for_spaces": (
            lambda ids: store.questions_for_spaces(
                ids, unanswered=False, tag=None, after=None, limit=3
            ),
            2,
        ),
        "answers_for_questions": (
            lambda ids: store.answers_for_questions(ids, after=None, limit=3),
            1,
        ),
        "answers_by_ids": (lambda ids: store.answers_by_ids(ids, EVERYTHING), 1),
        "answer_counts": (store.answer_counts, 1),
        "prototypes_for_spaces": (lambda ids: store.prototypes_for_spaces(ids, limit=3), 1),
        "prototypes_by_ids": (lambda ids: store.prototypes_by_ids(ids, EVERYTHING), 1),
        "feedback_for_prototypes": (lambda ids: store.feedback_for_prototypes(ids, limit=3), 1),
        "feedback_by_ids": (lambda ids: store.feedback_by_ids(ids, EVERYTHING), 1),
        "people_by_ids": (store.people_by_ids, 1),
        "people_by_emails": (lambda ids: store.people_by_emails(emails[: len(ids)]), 1),
    }
    # Id 2 exists in every table of the demo (and is a question topic).
    one, twenty = ["2"], [str(n) for n in range(1, 21)]
    for name, (lookup, expected) in lookups.items():
        with statements(store) as sent_one:
            small = await lookup(one)
        with statements(store) as sent_twenty:
            large = await lookup(twenty)
        assert small, name
        assert len(large) >= len(small), name
        assert len(sent_one) == len(sent_twenty) == expected, (name, sent_one, sent_twenty)


async def test_list_methods_send_one_statement_plus_tags(store: InternalStore) -> None:
    with statements(store) as sent:
        await store.list_spaces(EMPLOYEE, kind=None, after=None, limit=10)
    assert len(sent) == 1
    with statements(store) as sent:
        await titles(store, EMPLOYEE)
    assert len(sent) == 2
    with statements(store) as sent:
        await store.search_questions(EMPLOYEE, "nothing matches this", 10)
    assert len(sent) == 1  # no tags to fetch for no rows


# --- forged cursors ------------------------------------------------------------------


@pytest.mark.parametrize("forged", ["abc", "", "01", "-3", "99999999999999999999"])
async def test_forged_cursor_ids_are_rejected(store: InternalStore, forged: str) -> None:
    at = LOADED_AT - timedelta(days=1)
    for scope in (EVERYTHING, NOTHING):  # rejected before the scope is even looked at
        with pytest.raises(InvalidCursor):
            await store.list_spaces(
                scope, kind=None, after=NameCursor("Engineering", forged), limit=5
            )
        with pytest.raises(InvalidCursor):
            await titles(store, scope, after=TimeCursor(at, AtTime.BELOW_ID, forged))
    with pytest.raises(InvalidCursor):
        await store.answers_for_questions(
            ["2"], after=TimeCursor(at, AtTime.BELOW_ID, forged), limit=5
        )
    for spaces in (["2"], ["abc"]):  # rejected even when nothing would be queried
        with pytest.raises(InvalidCursor):
            await store.questions_for_spaces(
                spaces,
                unanswered=False,
                tag=None,
                after=TimeCursor(at, AtTime.BELOW_ID, forged),
                limit=5,
            )


async def test_time_cursor_ignores_the_id_unless_below_id(store: InternalStore) -> None:
    launch = (await questions(store))["Falcon launch date?"]
    older = ALL_QUESTIONS[ALL_QUESTIONS.index(launch.title) + 1 :]
    assert await titles(store, EVERYTHING, after=TimeCursor(launch.created_at, id="x")) == older
    with pytest.raises(InvalidCursor):  # BELOW_ID without an id cannot be honoured
        await titles(store, EVERYTHING, after=TimeCursor(launch.created_at, AtTime.BELOW_ID))
    pages = await store.questions_for_spaces(
        [launch.space_id],
        unanswered=False,
        tag=None,
        after=TimeCursor(launch.created_at, id="x"),
        limit=5,
    )
    assert [q.title for q in pages[launch.space_id].items] == [
        title for title in older if title in FALCON_QUESTIONS
    ]
    with pytest.raises(InvalidCursor):
        await store.questions_for_spaces(
            [launch.space_id],
            unanswered=False,
            tag=None,
            after=TimeCursor(launch.created_at, AtTime.BELOW_ID),
            limit=5,
        )


async def test_replies_to_discussions_are_not_answers(store: InternalStore) -> None:
    discussion = await discussion_topic_id(store)
    async with store.engine.begin() as conn:
        result = await conn.execute(
            insert(forum_replies).values(
                topic_id=int(discussion),
                content="Notes are in the wiki.",
                created_at=LOADED_AT.replace(tzinfo=None),
            )
        )
        (reply_id,) = result.inserted_primary_key or ()
    pages = await store.answers_for_questions([discussion], after=None, limit=5)
    assert pages == {discussion: Page()}
    assert await store.answers_by_ids([str(reply_id)], EVERYTHING) == {}
    assert await store.answer_counts([discussion]) == {}
    assert await store.questions_by_ids([discussion], EVERYTHING) == {}
