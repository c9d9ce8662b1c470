"""Writes the demo data set's community part in the forum's native schema."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, insert, update

from adapters.community._tables import (
    PERMISSION_FULL,
    STYLE_DISCUSSION,
    STYLE_QA,
    categories,
    category_groups,
    category_tags,
    group_users,
    groups,
    posts,
    tags,
    topic_tags,
    topics,
    users,
)
from gateway.domain.model import SpaceKind, SpaceRole, StoreName, Visibility

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime
    from typing import Any

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.domain.demo import DemoData, DemoSpace

STYLES = {SpaceKind.QA: STYLE_QA, SpaceKind.GROUP: STYLE_DISCUSSION}

# The category settings that make ``visibility_of`` derive each class back.
CATEGORY_SETTINGS: dict[Visibility, dict[str, Any]] = {
    Visibility.PUBLIC: {"login_required": False, "min_trust_level": 0, "read_restricted": False},
    Visibility.MEMBERS: {"login_required": True, "min_trust_level": 0, "read_restricted": False},
    Visibility.TRUSTED: {"login_required": True, "min_trust_level": 3, "read_restricted": False},
    Visibility.PRIVATE: {"login_required": True, "min_trust_level": 0, "read_restricted": True},
}


def _clock(start: datetime) -> Iterator[datetime]:
    """Distinct, increasing times (with microseconds, so round-trips are really tested)."""
    n = 0
    while True:
        yield start + n * timedelta(minutes=7, microseconds=1001)
        n += 1


async def _insert_ids(
    conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Bulk insert, returning the new ids in the order of ``rows``."""
    if not rows:
        return []
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    result = await conn.execute(stmt, list(rows))
    return list(result.scalars())


def _authors(space: DemoSpace) -> Iterator[str]:
    for member in space.members:
        yield member.handle
    for question in space.questions:
        yield question.author
        for answer in question.answers:
            yield answer.author


async def load_demo(conn: AsyncConnection, data: DemoData) -> None:
    """Write ``data.spaces_in(COMMUNITY)`` on ``conn`` (the caller owns the transaction)."""
    spaces = data.spaces_in(StoreName.COMMUNITY)
    clock = _clock(data.loaded_at - timedelta(days=30))

    # Declared community accounts first; anyone else who writes in (or belongs to) a
    # community space gets a new account at trust level 0. Every demo email is the
    # one the development issuer logs that person in with, so all count as verified
    # (which is what links an employee's community account to their profile).
    declared = [p.handle for p in data.people if p.community_trust is not None]
    handles = list(dict.fromkeys([*declared, *(h for s in spaces for h in _authors(s))]))
    user_rows = []
    for handle in handles:
        person = data.person(handle)
        user_rows.append(
            {
                "username": person.handle,
                "name": person.display_name,
                "email": person.email.strip().lower(),
                "email_verified": True,
                "trust_level": person.community_trust or 0,
                "company": person.organisation,
                "title": person.title,
                "created_at": next(clock),
            }
        )
    user_ids = dict(zip(handles, await _insert_ids(conn, users, user_rows), strict=True))

    category_rows = []
    for space in spaces:
        if space.kind not in STYLES or space.visibility not in CATEGORY_SETTINGS:
            raise ValueError(
                f"the community store cannot hold {space.slug!r} ({space.kind}, {space.visibility})"
            )
        category_rows.append(
            {
                "slug": space.slug,
                "name": space.name,
                "description": space.description,
                "style": STYLES[space.kind],
                **CATEGORY_SETTINGS[space.visibility],
                "created_at": next(clock),
            }
        )
    category_ids = await _insert_ids(conn, categories, category_rows)
    category_of = dict(zip((s.slug for s in spaces), category_ids, strict=True))

    tag_names = sorted(
        {t.lower() for s in spaces for t in s.tags}
        | {t.lower() for s in spaces for q in s.questions for t in q.tags}
    )
    tag_ids = await _insert_ids(conn, tags, [{"name": n} for n in tag_names])
    tag_of = dict(zip(tag_names, tag_ids, strict=True))
    category_tag_rows = [
        {"category_id": category_of[s.slug], "tag_id": tag_of[t]}
        for s in spaces
        for t in dict.fromkeys(t.lower() for t in s.tags)
    ]
    if category_tag_rows:
        await conn.execute(insert(category_tags), category_tag_rows)

    # Groups: one "<slug>-team" per category for its members, plus named groups
    # (e.g. "employees") that a category grants as a whole.
    group_members: dict[str, dict[int, dict[str, Any]]] = {}
    grants: list[tuple[str, str]] = []  # (group name, category slug)
    for space in spaces:
        team = f"{space.slug}-team"
        group_members[team] = {
            user_ids[m.handle]: {
                "owner": m.role == SpaceRole.OWNER,
                "expires_at": None if m.expires_in is None else data.loaded_at + m.expires_in,
            }
            for m in space.members
        }
        grants.append((team, space.slug))
        if space.group:
            group_members.setdefault(
                space.group,
                {
                    user_ids[p.handle]: {"owner": False, "expires_at": None}
                    for p in data.people
                    if "employee" in p.roles and p.handle in user_ids
                },
            )
            grants.append((space.group, space.slug))
    group_names = list(group_members)
    group_ids = await _insert_ids(conn, groups, [{"name": n} for n in group_names])
    group_of = dict(zip(group_names, group_ids, strict=True))
    membership_rows = [
        {"group_id": group_of[name], "user_id": user_id, **row}
        for name, members in group_members.items()
        for user_id, row in members.items()
    ]
    if membership_rows:
        await conn.execute(insert(group_users), membership_rows)
    await conn.execute(
        insert(category_groups),
        [
            {
                "category_id": category_of[slug],
                "group_id": group_of[name],
                "permission_type": PERMISSION_FULL,
            }
            for name, slug in grants
        ],
    )

    questions = [(s, q) for s in spaces for q in s.questions]
    topic_rows = [
        {
            "category_id": category_of[space.slug],
            "user_id": user_ids[question.author],
            "title": question.title,
            "created_at": next(clock) if question.age is None else data.loaded_at - question.age,
            "archived_at": data.loaded_at if question.archived else None,
        }
        for space, question in questions
    ]
    topic_ids = await _insert_ids(conn, topics, topic_rows)
    post_rows: list[dict[str, Any]] = []
    accepted_index: dict[int, int] = {}  # topic id -> index of its accepted post in post_rows
    for topic_id, (_, question), topic in zip(topic_ids, questions, topic_rows, strict=True):
        post_rows.append(
            {
                "topic_id": topic_id,
                "user_id": topic["user_id"],
                "post_number": 1,
                "raw": question.body,
                "created_at": topic["created_at"],
            }
        )
        for number, answer in enumerate(question.answers, start=2):
            if answer.accepted:
                accepted_index[topic_id] = len(post_rows)
            post_rows.append(
                {
                    "topic_id": topic_id,
                    "user_id": user_ids[answer.author],
                    "post_number": number,
                    "raw": answer.body,
                    # An aged question's answers an hour apart after it, else the clock's.
                    "created_at": next(clock)
                    if question.age is None
                    else data.loaded_at - question.age + timedelta(hours=number - 1),
                }
            )
    post_ids = await _insert_ids(conn, posts, post_rows)
    topic_tag_rows = [
        {"topic_id": topic_id, "tag_id": tag_of[t]}
        for topic_id, (_, question) in zip(topic_ids, questions, strict=True)
        for t in dict.fromkeys(t.lower() for t in question.tags)
    ]
    if topic_tag_rows:
        await conn.execute(insert(topic_tags), topic_tag_rows)
    if accepted_index:
        await conn.execute(
            update(topics)
            .where(topics.c.id == bindparam("topic_id"))
            .values(accepted_answer_post_id=bindparam("post_id")),
            [{"topic_id": t, "post_id": post_ids[i]} for t, i in accepted_index.items()],
        )
