"""Seed both stores' native tables with a large, deterministic data set.

    python -m bench.seed --spaces 10000 --posts 1000000 [--out DIR]
                         [--internal-url URL --community-url URL] [--replace]

Rows go straight into each adapter's own tables (its private ``_tables``
metadata), the way a migrated production store would hold them, with bulk
``executemany`` inserts of thousands of rows inside one transaction per batch.
Ids are assigned here, so that replies, posts and tags can point at topics
without a round trip. The same ``--seed`` always writes the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, insert, text, update

from adapters.community import CommunityStore
from adapters.community import _tables as ct
from adapters.internal import InternalStore
from adapters.internal import _tables as it
from bench.common import (
    MANIFEST,
    OUT_ROOT,
    SIZES,
    db_size,
    default_urls,
    mib,
    size_name,
    sqlite_path,
)
from gateway.domain.demo import PEOPLE, DemoPerson

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# --- the shape of the data set ------------------------------------------------
# Content ends at a fixed moment (naive UTC, as both stores keep it) and spans the
# year before, so that two runs with one seed write byte-identical stores.
ANCHOR = datetime(2026, 1, 1)
YEAR_SECONDS = 365 * 86400
FAR_FUTURE = ANCHOR + timedelta(days=3650)  # invitations that are still valid when run
INTERNAL_SHARE = 0.6  # default share of the spaces and posts; the community gets the rest
INTERNAL_ACCESS = {"open": 45, "restricted": 40, "shared": 15}
COMMUNITY_CLASSES = {"public": 50, "members": 25, "trusted": 10, "private": 15}
QUESTION_SHARE = 0.7  # internal topics that are questions; the rest are discussions
MAX_REPLIES = 6  # replies per topic, uniform 0..6: about four posts per topic
ACCEPTED_SHARE = 0.4  # questions with replies that have an accepted answer
ACTIVITY_EXPONENT = 0.6  # Zipf-like activity: some busy spaces, a long quiet tail
LINKED_EMPLOYEES = 0.1  # employees who also have a community account (same email)
TOPIC_BATCH = 5_000  # topics per transaction, with their replies, posts and tags
ROW_BATCH = 20_000  # rows per executemany for everything else


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Ada Ben Chloe Dev Elif Femi Gus Hiro Ines Jon Kai Lena Milo Nia Otto Pia Quinn Rosa "
    "Sven Tomi Uma Vik Wen Xan Yara Zed Amir Bea Cruz Dana"
)
LAST = _words(
    "Abbott Berg Costa Dahl Ekwueme Fox Gupta Hale Ito Jensen Kowal Lind Mori Novak Ortiz "
    "Park Quist Reyes Sato Tan Uddin Varga Weber Xu Yilmaz Zhou Brandt Chen Diaz Evans"
)
WORDS = _words(
    "sync engine sensor hub battery release cache build pipeline onboarding access token "
    "quota latency rollout backup schema index replica invoice pricing firmware pairing "
    "dashboard export webhook alarm calibration review roadmap budget audit migration"
)
STEMS = (
    "How do I configure the",
    "Why does the",
    "Is there a limit on the",
    "Best practice for the",
    "Who owns the",
    "Can we automate the",
    "Problem with the",
    "Roadmap for the",
)
TAGS = [f"{w}-{n}" for w in WORDS for n in range(6)]  # 198 tags


# --- small helpers -----------------------------------------------------------
def _split(total: int, weights: dict[str, int]) -> list[str]:
    """``total`` class labels in proportion to ``weights``; every class at least once."""
    whole = sum(weights.values())
    counts = {k: max(1, round(total * w / whole)) for k, w in weights.items()}
    biggest = max(counts, key=counts.__getitem__)
    counts[biggest] += total - sum(counts.values())
    return [k for k, n in counts.items() for _ in range(n)]


def _ranks(rng: random.Random, n: int) -> list[int]:
    """Activity ranks (1 = busiest) of ``n`` spaces, in random order."""
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    return ranks


def _cum_weights(ranks: Sequence[int]) -> list[float]:
    """Cumulative Zipf-like weights for spaces with these ranks."""
    return list(itertools.accumulate(1.0 / r**ACTIVITY_EXPONENT for r in ranks))


def _moment(rng: random.Random) -> datetime:
    """A moment in the year before the anchor, with microseconds (so ties are rare)."""
    return ANCHOR - timedelta(seconds=rng.random() * YEAR_SECONDS)


def _later(rng: random.Random, start: datetime) -> datetime:
    """A reply's time: up to two weeks after ``start``, never after the anchor."""
    moment = start + timedelta(seconds=60 + rng.random() * 14 * 86400)
    return moment if moment < ANCHOR else ANCHOR - timedelta(seconds=rng.random() * 3600)


def _bodies(rng: random.Random, n: int = 2_000) -> list[str]:
    # Drawn once: composing a fresh text per row would dominate the seeding time.
    return [" ".join(rng.choices(WORDS, k=rng.randint(8, 60))).capitalize() + "." for _ in range(n)]


def _evenly(items: Sequence[int], k: int, offset: int = 0) -> list[int]:
    """``k`` items spread over ``items`` (deterministic, distinct while k <= len)."""
    if not items:
        return []
    k = min(k, len(items))
    return [items[(offset + i * len(items) // k) % len(items)] for i in range(k)]


def _chunks(rows: list[dict[str, Any]], size: int = ROW_BATCH) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


@dataclass
class Employee:
    """An internal profile that may also own a community account (linked by email)."""

    id: int
    email: str
    name: str
    handle: str


class Progress(Protocol):
    """What the seeder asks of its progress bar."""

    def update(self, n: float | None = 1) -> bool | None: ...


class _NoBar:
    """The bar without tqdm (installed with the gateway; not in a bare environment)."""

    def update(self, n: float | None = 1) -> bool | None:
        return None


@contextlib.contextmanager
def progress_bar(posts: int) -> Iterator[Progress]:
    """tqdm's bar of posts written out of ``posts``, with the rate and the time left: the
    posts are known in advance and are nearly all of the rows (the other tables are
    written first, in seconds). On stderr, and only when it is a terminal."""
    try:
        from tqdm import tqdm
    except ImportError:
        yield _NoBar()
        return
    with tqdm(
        desc="seeding",
        total=posts,
        unit=" posts",
        unit_scale=True,
        smoothing=0.1,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),  # quiet in logs and pipes
    ) as bar:
        yield bar


@dataclass
class Writer:
    """Bulk inserts on one connection, counting rows per table and feeding the bar with the
    posts (``posts=True``: topics and replies, or the forum's posts)."""

    conn: AsyncConnection
    store: str
    bar: Progress
    counts: Counter[str] = field(default_factory=Counter)

    async def insert(self, table: Table, rows: list[dict[str, Any]], posts: bool = False) -> None:
        for chunk in _chunks(rows):
            await self.conn.execute(insert(table), chunk)
            self.counts[f"{self.store}.{table.name}"] += len(chunk)
            if posts:
                self.bar.update(len(chunk))

    async def update(self, stmt: Any, rows: list[dict[str, Any]]) -> None:
        for chunk in _chunks(rows):
            await self.conn.execute(stmt, chunk)
            self.counts[f"{self.store}.{stmt.table.name} (updated)"] += len(chunk)


# --- internal store ------------------------------------------------------------
def _persona_profile(person: DemoPerson) -> dict[str, Any]:
    return {
        "email": person.email,
        "full_name": person.display_name,
        "handle": person.handle,
        "company": person.organisation,
        "job_title": person.title,
        "department": person.department if person.internal else None,
        "is_external": not person.internal,
    }


@dataclass
class InternalPlan:
    """Reference rows of the internal store, and who may write where."""

    profiles: list[dict[str, Any]]
    communities: list[dict[str, Any]]
    memberships: list[dict[str, Any]]
    employees: list[Employee]
    authors: dict[int, list[int]]  # community id -> profiles who write there
    cum_weights: list[float]
    persona_ids: dict[str, int]


def plan_internal(rng: random.Random, n_spaces: int) -> InternalPlan:
    """Profiles, communities and memberships, with the demo personas among them."""
    personas = [p for p in PEOPLE if p.internal or p.handle in {"paula", "tara"}]
    profiles = [{"id": i, **_persona_profile(p)} for i, p in enumerate(personas, start=1)]
    persona_ids = {p.handle: i for i, p in enumerate(personas, start=1)}
    n_profiles = max(1_000, n_spaces)
    employees: list[Employee] = [
        Employee(persona_ids[p.handle], p.email, p.display_name, p.handle)
        for p in personas
        if "employee" in p.roles
    ]
    contractors: list[int] = []
    externals: list[int] = []
    departments = ["Engineering", "Sales", "HR", "Finance", "Support", "Legal", "Design"]
    for pid in range(len(profiles) + 1, n_profiles + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        kind = rng.random()
        handle = f"{first.lower()}.{last.lower()}{pid}"
        if kind < 0.88:
            email, company, external = f"{handle}@corp.example", "Corp", False
            employees.append(Employee(pid, email, f"{first} {last}", handle))
        elif kind < 0.94:
            email, company, external = f"{handle}@contractor.example", "Contractor Co", False
            contractors.append(pid)
        else:
            org = f"partner{pid % 40}"
            email, company, external = f"{handle}@{org}.example", org.title(), True
            externals.append(pid)
        profiles.append(
            {
                "id": pid,
                "email": email,
                "full_name": f"{first} {last}",
                "handle": handle,
                "company": company,
                "job_title": rng.choice(["Engineer", "Manager", "Analyst", "Designer", None]),
                "department": None if external else rng.choice(departments),
                "is_external": external,
            }
        )

    access = _split(n_spaces, INTERNAL_ACCESS)
    rng.shuffle(access)
    communities = []
    for cid, acc in enumerate(access, start=1):
        word = rng.choice(WORDS)
        if acc == "shared" and rng.random() < 0.5:
            kind = "prototype_feedback"
        else:
            kind = rng.choice(["group", "qa"])
        communities.append(
            {
                "id": cid,
                "slug": f"{acc}-{word}-{cid}",
                "title": f"{word.title()} {rng.choice(WORDS)} {cid}",
                "description": f"Internal {kind} space about {word}.",
                "community_type": kind,
                "access": acc,
                "tags": ",".join(rng.sample(TAGS, rng.randint(1, 3))),
                "created_at": ANCHOR - timedelta(days=400 + rng.random() * 300),
            }
        )
    ranks = _ranks(rng, len(communities))
    by_access: dict[str, list[int]] = {"open": [], "restricted": [], "shared": []}
    for row in communities:
        by_access[row["access"]].append(row["id"])

    # (community, profile) -> membership row; a dict keeps the unique key unique.
    held: dict[tuple[int, int], dict[str, Any]] = {}

    def grant(cid: int, pid: int, role: str, expires_at: datetime | None = None) -> None:
        held.setdefault(
            (cid, pid),
            {"community_id": cid, "profile_id": pid, "member_role": role, "expires_at": expires_at},
        )

    # The personas first, so that their roles are the ones the benchmark relies on.
    ids = persona_ids
    restricted, shared, opened = by_access["restricted"], by_access["shared"], by_access["open"]
    for cid in _evenly(restricted, 25):
        grant(cid, ids["erin"], "member")
    for cid in _evenly(shared, 3, offset=len(shared) // 2):
        grant(cid, ids["erin"], "leader")
    for cid in _evenly(opened, 10):
        grant(cid, ids["erin"], "member")
    for cid in _evenly(restricted, 10, offset=7):
        grant(cid, ids["omar"], "leader")
    for cid in _evenly(restricted, 5, offset=3):
        grant(cid, ids["hana"], "leader")
    for cid in _evenly(restricted, 5, offset=11) + _evenly(opened, 5, offset=2):
        grant(cid, ids["carl"], "member")
    for handle in ("sam", "mia"):
        for cid in _evenly(opened, 3, offset=5):
            grant(cid, ids[handle], "member")
    # Paula is invited to three busy shared spaces (invitations go where the feedback is)
    # and to one more whose invitation has expired.
    busy_shared = sorted(shared, key=lambda cid: ranks[cid - 1])
    for cid in busy_shared[:3]:
        grant(cid, ids["paula"], "external", FAR_FUTURE)
    if len(busy_shared) > 3:
        grant(busy_shared[3], ids["paula"], "external", ANCHOR - timedelta(days=30))
    grant(busy_shared[0], ids["tara"], "external", FAR_FUTURE - timedelta(days=365))

    staff = [e.id for e in employees] + contractors
    for row in communities:
        cid, acc = row["id"], row["access"]
        grant(cid, rng.choice(employees).id, "leader")
        count = {"restricted": (5, 40), "shared": (5, 30), "open": (0, 10)}[acc]
        for pid in rng.sample(staff, rng.randint(*count)):
            grant(cid, pid, "member")
        if acc == "shared" and externals:
            for pid in rng.sample(externals, rng.randint(0, 4)):
                expired = rng.random() < 0.3
                moment = ANCHOR - timedelta(days=rng.randint(1, 300))
                grant(cid, pid, "external", moment if expired else FAR_FUTURE - (ANCHOR - moment))
    memberships = list(held.values())

    # Restricted and shared spaces are written in by their members; open ones by anyone.
    authors: dict[int, list[int]] = {}
    open_ids = set(opened)
    for m in memberships:
        if m["community_id"] not in open_ids:
            authors.setdefault(m["community_id"], []).append(m["profile_id"])
    return InternalPlan(
        profiles,
        communities,
        memberships,
        employees,
        authors,
        _cum_weights(ranks),
        persona_ids,
    )


async def seed_internal(
    conn: AsyncConnection, rng: random.Random, n_spaces: int, n_posts: int, bar: Progress
) -> tuple[Writer, InternalPlan]:
    plan = plan_internal(rng, n_spaces)
    out = Writer(conn, "internal", bar)
    async with conn.begin():
        await out.insert(it.profiles, plan.profiles)
        await out.insert(it.communities, plan.communities)
        await out.insert(it.community_memberships, plan.memberships)
    bodies = _bodies(rng)
    everyone = [p["id"] for p in plan.profiles if not p["is_external"]]
    community_ids = [c["id"] for c in plan.communities]
    accept = update(it.forum_topics).where(it.forum_topics.c.id == bindparam("t"))
    accept = accept.values(accepted_reply_id=bindparam("r"))
    left, topic_id, reply_id = n_posts, 0, 0
    while left > 0:
        topics: list[dict[str, Any]] = []
        replies: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        accepted: list[dict[str, Any]] = []
        for cid in rng.choices(community_ids, cum_weights=plan.cum_weights, k=TOPIC_BATCH):
            if left <= 0:
                break
            topic_id += 1
            n = min(rng.randint(0, MAX_REPLIES), left - 1)
            left -= 1 + n
            at = _moment(rng)
            writers = plan.authors.get(cid) or everyone
            question = rng.random() < QUESTION_SHARE
            stem = rng.choice(STEMS) if question else "Notes on the"
            topics.append(
                {
                    "id": topic_id,
                    "community_id": cid,
                    "author_profile_id": rng.choice(writers),
                    "subject": f"{stem} {rng.choice(WORDS)} {rng.choice(WORDS)} #i{topic_id}",
                    "content": rng.choice(bodies),
                    "is_question": question,
                    "accepted_reply_id": None,  # set below, once the replies exist
                    "created_at": at,
                }
            )
            first = reply_id + 1
            for _ in range(n):
                reply_id += 1
                replies.append(
                    {
                        "id": reply_id,
                        "topic_id": topic_id,
                        "author_profile_id": rng.choice(writers),
                        "content": rng.choice(bodies),
                        "created_at": _later(rng, at),
                    }
                )
            if question and n and rng.random() < ACCEPTED_SHARE:
                accepted.append({"t": topic_id, "r": rng.randint(first, reply_id)})
            tags.extend(
                {"topic_id": topic_id, "tag": tag} for tag in rng.sample(TAGS, rng.randint(0, 3))
            )
        # Topics and replies name each other (a real foreign key both ways): topics go
        # first, the accepted reply is set once it exists, all in one transaction.
        async with conn.begin():
            await out.insert(it.forum_topics, topics, posts=True)
            await out.insert(it.forum_replies, replies, posts=True)
            await out.insert(it.topic_tags, tags)
            await out.update(accept, accepted)
    return out, plan


def persona_memberships(plan: InternalPlan) -> dict[str, dict[str, int]]:
    """What the benchmarked personas hold in the internal store, e.g. "restricted member"."""
    access = {c["id"]: c["access"] for c in plan.communities}
    handle_of = {pid: handle for handle, pid in plan.persona_ids.items()}
    now = datetime.now(UTC).replace(tzinfo=None)
    held: dict[str, Counter[str]] = {"erin": Counter(), "paula": Counter()}
    for m in plan.memberships:
        handle = handle_of.get(m["profile_id"])
        if handle in held:
            expired = m["expires_at"] is not None and m["expires_at"] <= now
            label = f"{access[m['community_id']]} {m['member_role']}"
            held[handle][label + (" (expired)" if expired else "")] += 1
    return {handle: dict(sorted(c.items())) for handle, c in held.items()}


# --- community store -------------------------------------------------------------
CATEGORY_SETTINGS: dict[str, list[dict[str, Any]]] = {
    # Each class as ``visibility_of`` derives it back; "members" has three native spellings.
    "public": [{"login_required": False, "min_trust_level": 0, "read_restricted": False}],
    "members": [
        {"login_required": True, "min_trust_level": 0, "read_restricted": False},
        {"login_required": False, "min_trust_level": 1, "read_restricted": False},
        {"login_required": True, "min_trust_level": 2, "read_restricted": False},
    ],
    "trusted": [{"login_required": True, "min_trust_level": 3, "read_restricted": False}],
    "private": [{"login_required": True, "min_trust_level": 0, "read_restricted": True}],
}


async def seed_community(
    conn: AsyncConnection,
    rng: random.Random,
    n_spaces: int,
    n_posts: int,
    employees: list[Employee],
    bar: Progress,
) -> Writer:
    out = Writer(conn, "community", bar)
    # Users: the demo personas with a community account, some employees (linked to their
    # internal profile by the same verified email, under a shorter forum name), the public.
    users: list[dict[str, Any]] = []
    user_of: dict[str, int] = {}

    def add_user(
        username: str, name: str, email: str, verified: bool, trust: int, **kw: Any
    ) -> int:
        uid = len(users) + 1
        users.append(
            {
                "id": uid,
                "username": username,
                "name": name,
                "email": email,
                "email_verified": verified,
                "trust_level": trust,
                "company": kw.get("company"),
                "title": kw.get("title"),
                "created_at": ANCHOR - timedelta(days=rng.randint(380, 2000)),
            }
        )
        user_of[username] = uid
        return uid

    for p in PEOPLE:
        if p.community_trust is not None:
            add_user(
                p.handle, p.display_name, p.email, True, p.community_trust, company=p.organisation
            )
    staff_accounts = [
        user_of[p.handle] for p in PEOPLE if "employee" in p.roles and p.handle in user_of
    ]
    persona_emails = {p.email for p in PEOPLE}
    for e in employees:
        if e.email not in persona_emails and rng.random() < LINKED_EMPLOYEES:
            first, last = e.name.split(" ", 1)
            staff_accounts.append(
                add_user(
                    f"{e.handle}-corp", f"{first} {last[0]}.", e.email, True, 4, company="Corp"
                )
            )
    trust_levels = [0] * 40 + [1] * 30 + [2] * 15 + [3] * 10 + [4] * 5
    for n in range(len(users) + 1, max(2_000, 5 * n_spaces) + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        add_user(
            f"{first.lower()}{last.lower()}{n}",
            f"{first} {last}",
            f"{first.lower()}.{last.lower()}{n}@mail.example",
            rng.random() < 0.9,
            rng.choice(trust_levels),
        )
    public_users = list(range(1, len(users) + 1))

    classes = _split(n_spaces, COMMUNITY_CLASSES)
    rng.shuffle(classes)
    categories = []
    for cid, cls in enumerate(classes, start=1):
        word = rng.choice(WORDS)
        categories.append(
            {
                "id": cid,
                "slug": f"{cls}-{word}-{cid}",
                "name": f"{word.title()} {rng.choice(['help', 'talk', 'ideas', 'news'])} {cid}",
                "description": f"Community category about {word}.",
                "style": rng.choice([ct.STYLE_QA, ct.STYLE_QA, ct.STYLE_DISCUSSION]),
                **rng.choice(CATEGORY_SETTINGS[cls]),
                "created_at": ANCHOR - timedelta(days=400 + rng.random() * 300),
            }
        )
    tag_rows = [{"id": i, "name": name} for i, name in enumerate(TAGS, start=1)]
    category_tags = [
        {"category_id": c["id"], "tag_id": t}
        for c in categories
        for t in rng.sample(range(1, len(TAGS) + 1), rng.randint(1, 2))
    ]

    # Groups: "employees" (every staff account), one team per trusted or private category.
    groups = [{"id": 1, "name": "employees"}]
    group_users: dict[tuple[int, int], dict[str, Any]] = {}
    category_groups: list[dict[str, Any]] = []
    writers: dict[int, list[int]] = {}

    members: dict[int, list[int]] = {}

    def join(gid: int, uid: int, owner: bool = False, expires_at: datetime | None = None) -> None:
        if (gid, uid) not in group_users:
            members.setdefault(gid, []).append(uid)
            group_users[(gid, uid)] = {
                "group_id": gid,
                "user_id": uid,
                "owner": owner,
                "expires_at": expires_at,
            }

    for uid in staff_accounts:
        join(1, uid)
    private = [c["id"] for c, cls in zip(categories, classes, strict=True) if cls == "private"]
    personal = {  # demo personas in private categories' teams
        "erin": _evenly(private, 5),
        "tara": _evenly(private, 2, offset=1),
        "mo": _evenly(private, 1, offset=2),
        "paula": _evenly(private, 1, offset=3),
    }
    for c, cls in zip(categories, classes, strict=True):
        if cls not in {"private", "trusted"}:
            continue
        gid = len(groups) + 1
        groups.append({"id": gid, "name": f"{c['slug']}-team"})
        category_groups.append(
            {"category_id": c["id"], "group_id": gid, "permission_type": ct.PERMISSION_FULL}
        )
        if cls == "trusted" or rng.random() < 0.2:
            category_groups.append(
                {"category_id": c["id"], "group_id": 1, "permission_type": ct.PERMISSION_READONLY}
            )
        for handle, cids in personal.items():
            if c["id"] in cids:
                join(gid, user_of[handle], expires_at=FAR_FUTURE if handle == "paula" else None)
        join(gid, rng.choice(public_users), owner=True)
        for uid in rng.sample(public_users, rng.randint(5, 50)):
            expires = None
            if rng.random() < 0.1:
                expires = ANCHOR + timedelta(days=rng.randint(-200, 4000))
            join(gid, uid, expires_at=expires)
        if cls == "private":
            writers[c["id"]] = members[gid]

    async with conn.begin():
        await out.insert(ct.users, users)
        await out.insert(ct.groups, groups)
        await out.insert(ct.group_users, list(group_users.values()))
        await out.insert(ct.categories, categories)
        await out.insert(ct.category_groups, category_groups)
        await out.insert(ct.tags, tag_rows)
        await out.insert(ct.category_tags, category_tags)

    bodies = _bodies(rng)
    cum_weights = _cum_weights(_ranks(rng, len(categories)))
    category_ids = [c["id"] for c in categories]
    left, topic_id, post_id = n_posts, 0, 0
    while left > 0:
        topics: list[dict[str, Any]] = []
        posts: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for cid in rng.choices(category_ids, cum_weights=cum_weights, k=TOPIC_BATCH):
            if left <= 0:
                break
            topic_id += 1
            n = min(rng.randint(0, MAX_REPLIES), left - 1)
            left -= 1 + n
            at = _moment(rng)
            pool = writers.get(cid) or public_users
            author = rng.choice(pool)
            post_id += 1
            posts.append(
                {
                    "id": post_id,
                    "topic_id": topic_id,
                    "user_id": author,
                    "post_number": 1,
                    "raw": rng.choice(bodies),
                    "created_at": at,
                }
            )
            first = post_id + 1
            for number in range(2, n + 2):
                post_id += 1
                posts.append(
                    {
                        "id": post_id,
                        "topic_id": topic_id,
                        "user_id": rng.choice(pool),
                        "post_number": number,
                        "raw": rng.choice(bodies),
                        "created_at": _later(rng, at),
                    }
                )
            accepted = None
            if n and rng.random() < ACCEPTED_SHARE:
                accepted = rng.randint(first, post_id)
            title = f"{rng.choice(STEMS)} {rng.choice(WORDS)} {rng.choice(WORDS)} #c{topic_id}"
            topics.append(
                {
                    "id": topic_id,
                    "category_id": cid,
                    "user_id": author,
                    "title": title,
                    # No foreign key on this column: the post can be named before it exists.
                    "accepted_answer_post_id": accepted,
                    "created_at": at,
                }
            )
            tags.extend(
                {"topic_id": topic_id, "tag_id": t}
                for t in rng.sample(range(1, len(TAGS) + 1), rng.randint(0, 3))
            )
        async with conn.begin():
            await out.insert(ct.topics, topics)
            await out.insert(ct.posts, posts, posts=True)
            await out.insert(ct.topic_tags, tags)
    return out


# --- running it ------------------------------------------------------------------
async def _prepare(conn: AsyncConnection) -> None:
    """Per-connection settings that only make a bulk load faster."""
    if conn.dialect.name == "sqlite":
        # A bigger page cache keeps the indexes being filled in memory.
        await conn.exec_driver_sql("PRAGMA cache_size=-262144")
        await conn.commit()


async def _finish(engine: AsyncEngine, tables: Sequence[Table], analyze: bool) -> None:
    """Make the store ready to serve: sequences past our ids, WAL folded, optional stats."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # Ids were given explicitly, so the serial sequences never moved.
            for table in tables:
                if "id" in table.c and table.c.id.primary_key:
                    name = conn.dialect.identifier_preparer.quote(table.name)
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"coalesce((SELECT max(id) FROM {name}), 1))"
                        )
                    )
        # PostgreSQL always: any server in use has statistics (autovacuum gathers them
        # soon after a load), and without them the planner picks plans no running
        # gateway would see: the 20-question page took 400 ms on the large set, 8 ms after.
        if analyze or conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("ANALYZE")
        await conn.commit()
        if conn.dialect.name == "sqlite":
            # Fold the WAL into the main file, so that the size on disk is the data's.
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            await conn.commit()


def _remove_sqlite(url: str) -> None:
    path = sqlite_path(url)
    if path is None:
        raise SystemExit(f"--replace only deletes SQLite files; empty {url} yourself")
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)


async def seed(
    *,
    spaces: int,
    posts: int,
    internal_url: str,
    community_url: str,
    seed_value: int,
    replace: bool,
    analyze: bool,
    internal_share: float = INTERNAL_SHARE,
) -> dict[str, Any]:
    """Write the whole data set; returns the manifest (counts, timings, sizes)."""
    if replace:
        _remove_sqlite(internal_url)
        _remove_sqlite(community_url)
    for url in (internal_url, community_url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    internal, community = InternalStore(internal_url), CommunityStore(community_url)
    try:
        await internal.create_schema()
        await community.create_schema()
        for name, store in (("internal", internal), ("community", community)):
            if not await store.is_empty():
                raise SystemExit(
                    f"the {name} store already holds data; seed into empty stores "
                    "(for SQLite files under bench/out, pass --replace)"
                )
        n_internal_spaces = round(spaces * internal_share)
        n_internal_posts = round(posts * internal_share)
        # Separate generators: the community data does not shift when the internal one changes.
        rng_i = random.Random(f"{seed_value}/internal")
        rng_c = random.Random(f"{seed_value}/community")
        started = time.perf_counter()
        timings: dict[str, float] = {}
        with progress_bar(posts) as bar:
            async with internal.engine.connect() as conn:
                await _prepare(conn)
                written_i, plan = await seed_internal(
                    conn, rng_i, n_internal_spaces, n_internal_posts, bar
                )
            timings["internal"] = time.perf_counter() - started
            async with community.engine.connect() as conn:
                await _prepare(conn)
                written_c = await seed_community(
                    conn,
                    rng_c,
                    spaces - n_internal_spaces,
                    posts - n_internal_posts,
                    plan.employees,
                    bar,
                )
            timings["community"] = time.perf_counter() - started - timings["internal"]
        inserted = time.perf_counter() - started
        await _finish(internal.engine, it.metadata.sorted_tables, analyze)
        await _finish(community.engine, ct.metadata.sorted_tables, analyze)
        elapsed = time.perf_counter() - started
    finally:
        await internal.close()
        await community.close()
    counts = dict(sorted((written_i.counts + written_c.counts).items()))
    rows = sum(v for k, v in counts.items() if not k.endswith("(updated)"))
    return {
        "spaces": spaces,
        "posts": posts,
        "seed": seed_value,
        "analyze": analyze,
        "internal_share": internal_share,
        "internal_url": internal_url,
        "community_url": community_url,
        "counts": counts,
        "rows": rows,
        "insert_seconds": round(inserted, 2),
        "seconds": round(elapsed, 2),
        "rows_per_second": round(rows / inserted),
        "store_seconds": {k: round(v, 2) for k, v in timings.items()},
        "db_bytes": {"internal": db_size(internal_url), "community": db_size(community_url)},
        "internal_memberships": persona_memberships(plan),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--size", choices=sorted(SIZES), help="a preset for --spaces/--posts")
    parser.add_argument("--spaces", type=int, help="spaces over both stores (default 10000)")
    parser.add_argument("--posts", type=int, help="topics plus replies over both stores")
    parser.add_argument("--out", type=Path, help="directory for SQLite stores and the manifest")
    parser.add_argument("--internal-url", help="internal store URL (default: SQLite under --out)")
    parser.add_argument("--community-url", help="community store URL (default: SQLite under --out)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--internal-share",
        type=float,
        default=INTERNAL_SHARE,
        help=f"share of spaces and posts in the internal store (default {INTERNAL_SHARE})",
    )
    parser.add_argument(
        "--replace", action="store_true", help="delete existing SQLite store files first"
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE after loading SQLite stores (off by default: a fresh SQLite store "
        "has no statistics); PostgreSQL stores are always analyzed, as autovacuum would",
    )
    args = parser.parse_args(argv)
    preset = SIZES[args.size] if args.size else (10_000, 10_000)
    spaces = args.spaces or preset[0]
    posts = args.posts or preset[1]
    if spaces < 20 or posts < 100:
        parser.error("use at least 20 spaces and 100 posts")
    if not 0.05 <= args.internal_share <= 0.995:
        parser.error("--internal-share must be between 0.05 and 0.995 (both stores need data)")
    out_dir = args.out or OUT_ROOT / (args.size or size_name(spaces, posts))
    urls = default_urls(out_dir)
    internal_url = args.internal_url or urls[0]
    community_url = args.community_url or urls[1]
    print(f"seeding {spaces:,} spaces and {posts:,} posts into {out_dir}", file=sys.stderr)
    manifest = asyncio.run(
        seed(
            spaces=spaces,
            posts=posts,
            internal_url=internal_url,
            community_url=community_url,
            seed_value=args.seed,
            replace=args.replace,
            analyze=args.analyze,
            internal_share=args.internal_share,
        )
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    print_manifest(manifest)
    return 0


def print_manifest(manifest: dict[str, Any]) -> None:
    """The seeding summary: rows per table, time, rate, sizes on disk."""
    print(f"\nrows per table ({manifest['spaces']:,} spaces, {manifest['posts']:,} posts):")
    for table, count in manifest["counts"].items():
        print(f"  {table:<40} {count:>12,}")
    print(
        f"{manifest['rows']:,} rows inserted in {manifest['insert_seconds']:.1f} s "
        f"({manifest['rows_per_second']:,} rows/s); {manifest['seconds']:.1f} s with finishing"
    )
    sizes = manifest["db_bytes"]
    print(f"on disk: internal {mib(sizes['internal'])}, community {mib(sizes['community'])}")
    for handle, held in manifest["internal_memberships"].items():
        print(f"{handle} in the internal store: " + ", ".join(f"{n} {k}" for k, n in held.items()))


if __name__ == "__main__":
    raise SystemExit(main())
