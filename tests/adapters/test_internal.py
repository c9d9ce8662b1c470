"""The internal store adapter against real SQLite, PostgreSQL and MariaDB databases.

Expectations are spelled out from the demo data set (gateway/domain/demo.py), so a wrong
scope predicate, ordering or mapping fails here rather than in the gateway.
"""

from __future__ import annotations

import dataclasses
import itertools
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import IntegrityError

import adapters.internal
from adapters.internal import InternalStore
from adapters.internal._tables import forum_replies, forum_topics
from gateway.domain.demo import demo_data
from gateway.domain.errors import InvalidCursor
from gateway.domain.model import Page, SpaceKind, SpaceRole, StoreName, Visibility
from gateway.stores.interface import AtTime, NameCursor, Store, TimeCursor
from gateway.stores.scope import Grants, StoreScope
from tests.adapters.contract import BAD_IDS
from tests.adapters.contract_internal import ADDED, INTERNAL_ADAPTER, LOADED_AT, add_questions
from tests.adapters.contract_internal import I_ALL_SLUGS as ALL_SLUGS
from tests.adapters.contract_internal import I_EMPLOYEE as EMPLOYEE
from tests.adapters.contract_internal import I_EVERYTHING as EVERYTHING
from tests.adapters.contract_internal import I_NOT_RESTRICTED as NOT_RESTRICTED
from tests.adapters.contract_internal import I_OPEN as OPEN
from tests.adapters.contract_internal import I_QUESTIONS as ALL_QUESTIONS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from gateway.domain.model import Question
    from tests.databases import DatabaseFactory

pytestmark = pytest.mark.backend

INTERNAL = StoreName.INTERNAL
NOTHING = StoreScope(INTERNAL)
PROFILED = INTERNAL_ADAPTER.profiled


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


# --- questions -------------------------------------------------------------------


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


# --- questions per space ------------------------------------------------------------


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


# --- answers -----------------------------------------------------------------------


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


# --- batching ------------------------------------------------------------------------


async def test_list_methods_send_one_statement_tags_included(store: InternalStore) -> None:
    with statements(store) as sent:
        await store.list_spaces(EMPLOYEE, kind=None, after=None, limit=10)
    assert len(sent) == 1
    with statements(store) as sent:
        await titles(store, EMPLOYEE)
    assert len(sent) == 1  # the topics with their tags and answer counts
    with statements(store) as sent:
        await store.search_questions(EMPLOYEE, "Postgres", 10)
    assert len(sent) == 1


# --- forged cursors ------------------------------------------------------------------


@pytest.mark.parametrize("forged", ["abc", "", "01", "-3", "99999999999999999999"])
async def test_forged_cursors_are_rejected_even_when_nothing_would_be_queried(
    store: InternalStore, forged: str
) -> None:
    """The internal store checks a cursor first (the community store answers an empty
    scope, or no valid space id, without looking at it); the shared part of forged-cursor
    handling is in the contract suite."""
    at = LOADED_AT - timedelta(days=1)
    with pytest.raises(InvalidCursor):
        await store.list_spaces(
            NOTHING, kind=None, after=NameCursor("Engineering", forged), limit=5
        )
    with pytest.raises(InvalidCursor):
        await store.questions_for_spaces(
            ["abc"],
            unanswered=False,
            tag=None,
            after=TimeCursor(at, AtTime.BELOW_ID, forged),
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


# --- PostgreSQL's lateral listing ----------------------------------------------------

# A partner's kind of scope: spaces named one by one, of every visibility class.
BY_NAME = StoreScope(
    INTERNAL,
    allow=Grants(
        spaces=frozenset(
            {
                (Visibility.OPEN, "engineering"),
                (Visibility.OPEN, "engineering-qa"),
                (Visibility.RESTRICTED, "project-falcon"),
            }
        )
    ),
)
# The same, moderating engineering: its hidden and archived topics are shown too.
BY_NAME_MODERATING = dataclasses.replace(
    BY_NAME,
    reveal=StoreScope(INTERNAL, allow=Grants(spaces=frozenset({(Visibility.OPEN, "engineering")}))),
)
# (unanswered, tag, archived): no filter, both filters, and the archived list.
FILTERED = [(False, None, False), (True, "CI", False), (False, None, True)]


async def test_lateral_listing_reads_the_same_pages_as_the_plain_join(
    store: InternalStore,
) -> None:
    """On PostgreSQL a list of a few named communities is read as each community's newest
    topics, merged (adapters.internal._questions._newest_of_each): every page, forward and
    backward, from every cursor, filtered or not, must be the plain join's page."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL joins LATERAL (adapters._keyset.first_of_each)")
    enriched = await INTERNAL_ADAPTER.enrich(store)
    ids = await space_ids(store)
    async with store.engine.begin() as conn:  # one hidden and one archived topic
        for title, column in (("Tie 1", "hidden_at"), ("Oldest CI question", "archived_at")):
            await conn.execute(
                update(forum_topics)
                .where(forum_topics.c.subject == title)
                .values({column: LOADED_AT.replace(tzinfo=None)})
            )
    cases = [
        (scope, spaces)
        for scope in (BY_NAME, BY_NAME_MODERATING, EVERYTHING, OPEN, EMPLOYEE)
        for spaces in (None, ["engineering"], ["engineering", "engineering-qa", "hr-private"])
        if scope.by_name or spaces is not None
    ]
    reads = lateral_reads = nonempty = 0
    for (scope, spaces), cursor, backward, (unanswered, tag, archived) in itertools.product(
        cases, enriched.cursors, (False, True), FILTERED
    ):
        asked: dict[str, Any] = {
            "space_ids": None if spaces is None else [ids[slug] for slug in spaces],
            "unanswered": unanswered,
            "tag": tag,
            "after": None if backward else cursor,
            "before": cursor if backward else None,
            "backward": backward,
            "limit": 3,
            "archived": archived,
        }
        store.lateral = False
        plain = await store.list_questions(scope, **asked)
        store.lateral = True
        with statements(store) as sent:
            joined = await store.list_questions(scope, **asked)
        assert joined == plain, (scope, asked)
        reads += 1
        lateral_reads += any("LATERAL" in s for s in sent)
        nonempty += bool(plain.items)
    # Every case took the lateral form, and most pages held something to compare.
    assert lateral_reads == reads
    assert nonempty > reads / 2
