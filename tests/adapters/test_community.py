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
from gateway.domain.model import Page, SpaceKind, SpaceRole, StoreName, Visibility
from gateway.stores.interface import AtTime, Store, TimeCursor
from gateway.stores.scope import Grants, StoreScope
from tests.adapters.contract_community import C_EVERYTHING as EVERYTHING
from tests.adapters.contract_community import C_PUBLIC_SCOPE as PUBLIC
from tests.adapters.contract_community import (
    CHAMPIONS_QS,
    IDEAS_QS,
    LOUNGE_QS,
    NOW,
    SUPPORT_QS,
    native,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from gateway.domain.demo import DemoSpace
    from tests.databases import DatabaseFactory

C = StoreName.COMMUNITY


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


# --- questions -------------------------------------------------------------


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


# --- questions per space -------------------------------------------------------


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
    holders = await store.access_holders(after=None, limit=100)
    assert "eve@example.com" not in {h.email for h in holders.items}  # nor a holder


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


async def test_one_principals_memberships_are_the_grouped_reads(store: CommunityStore) -> None:
    """memberships_for reads its links as one JSON value and groups them in Python
    (_members.links_of); memberships_of groups in SQL. Both must give the same memberships,
    roles, expiries (to the microsecond, aware UTC) and order, on every backend."""
    await test_membership_expiry_merged_across_groups(store)  # many groups, mixed expiries
    async with store.engine.connect() as conn:
        emails = sorted((await conn.execute(select(t.users.c.email))).scalars())
    grouped = await store.memberships_of(emails)
    assert len(grouped) >= 4
    for email in emails:
        assert await store.memberships_for(email) == grouped.get(email.lower(), []), email


async def test_a_cut_list_of_links_is_read_grouped_instead(databases: DatabaseFactory) -> None:
    """MariaDB cuts an aggregate at group_concat_max_len (1 MiB by default) with only a
    warning: a cut value is not whole JSON, and the grouped read answers instead."""
    url = await databases.create("community")
    if not url.startswith("mysql"):
        pytest.skip("only MariaDB cuts an aggregate's value")
    s = CommunityStore(url)

    @event.listens_for(s.engine.sync_engine, "connect")
    def _short(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION group_concat_max_len = 40")
        cursor.close()

    try:
        await s.create_schema()
        await s.load_demo(demo_data(NOW))
        [mia] = (await s.memberships_of(["mia@corp.example"])).values()
        assert len(mia) == 4
        assert await s.memberships_for("mia@corp.example") == mia
    finally:
        await s.close()


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


# --- statements ---------------------------------------------------------------


async def test_questions_for_spaces_without_a_valid_id_ignore_the_cursor(
    store: CommunityStore,
) -> None:
    """No valid category id: nothing to ask, so not even the cursor is looked at (the
    internal store rejects a forged cursor first; the contract suite has the shared part)."""
    junk = ["abc", "", "-1", "0", "007", "1_0", " 1", "99999999999999999999"]
    bad_cursor = TimeCursor(NOW, AtTime.BELOW_ID, "abc")
    with counting(store) as statements:
        pages = await store.questions_for_spaces(
            junk, unanswered=False, tag=None, after=bad_cursor, limit=5
        )
        assert pages == {j: Page() for j in junk}
    assert statements == []


async def test_prototypes_run_no_statement(store: CommunityStore) -> None:
    """A forum holds no prototypes: nothing is asked (empty scopes are in the contract suite)."""
    ids = list((await space_ids(store)).values())
    with counting(store) as statements:
        assert await store.prototypes_for_spaces(ids, limit=5) == {i: Page() for i in ids}
        assert await store.feedback_for_prototypes(["1", "x"], limit=5) == {
            "1": Page(),
            "x": Page(),
        }
    assert statements == []
