"""Writes the demo data set's internal part into the native schema."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, update

from adapters.internal._tables import (
    communities,
    community_invitations,
    community_memberships,
    forum_replies,
    forum_topics,
    profiles,
    prototype_feedback,
    prototypes,
    topic_tags,
)
from gateway.domain.model import SpaceKind, SpaceRole, StoreName, Visibility

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.domain.demo import DemoData, DemoPerson, DemoSpace

COMMUNITY_TYPES = {
    SpaceKind.GROUP: "group",
    SpaceKind.QA: "qa",
    SpaceKind.PROTOTYPE_FEEDBACK: "prototype_feedback",
}
ACCESS = {Visibility.OPEN: "open", Visibility.RESTRICTED: "restricted", Visibility.SHARED: "shared"}
MEMBER_ROLES = {SpaceRole.OWNER: "leader", SpaceRole.MEMBER: "member", SpaceRole.GUEST: "external"}


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as the naive UTC value the tables store (naive input is taken as UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


async def write_demo(conn: AsyncConnection, data: DemoData) -> None:
    """Insert the internal spaces of ``data`` and everyone taking part in them, in bulk."""
    spaces = data.spaces_in(StoreName.INTERNAL)
    loaded_at = naive_utc(data.loaded_at)
    people = _profiled_people(data, spaces)

    community_ids = await _insert_returning_ids(
        conn,
        communities,
        [
            {
                "slug": space.slug,
                "title": space.name,
                "description": space.description,
                "community_type": COMMUNITY_TYPES[space.kind],
                "access": _access(space),
                "tags": ",".join(space.tags),
                "created_at": loaded_at - timedelta(days=30, minutes=len(spaces) - i),
            }
            for i, space in enumerate(spaces)
        ],
    )
    profile_ids = dict(
        zip(
            [p.handle for p in people],
            await _insert_returning_ids(conn, profiles, [_profile_row(p) for p in people]),
            strict=True,
        )
    )

    memberships = [
        {
            "community_id": community_id,
            "profile_id": profile_ids[member.handle],
            "member_role": MEMBER_ROLES[member.role],
            "expires_at": None
            if member.expires_in is None
            else naive_utc(data.loaded_at + member.expires_in),
        }
        for space, community_id in zip(spaces, community_ids, strict=True)
        for member in space.members
    ]
    if memberships:
        await conn.execute(insert(community_memberships), memberships)
    # Invited guests came in through an invitation from the space's owner, accepted a
    # day later: access reports show who sponsored them.
    emails = {p.handle: p.email.strip().lower() for p in people}
    invitations = [
        {
            "community_id": community_id,
            "email": emails[member.handle],
            "member_role": MEMBER_ROLES[member.role],
            "invited_by_profile_id": profile_ids[owner.handle],
            "created_at": loaded_at - timedelta(days=30),
            "expires_at": None
            if member.expires_in is None
            else naive_utc(data.loaded_at + member.expires_in),
            "accepted_at": loaded_at - timedelta(days=29),
            "accepted_profile_id": profile_ids[member.handle],
        }
        for space, community_id in zip(spaces, community_ids, strict=True)
        for owner in [m for m in space.members if m.role is SpaceRole.OWNER][:1]
        for member in space.members
        if member.role is SpaceRole.GUEST
    ]
    if invitations:
        await conn.execute(insert(community_invitations), invitations)

    # One strictly increasing clock over all content, in the order the data set lists it,
    # so that "newest first" is deterministic and every created_at is distinct.
    total = sum(len(q.answers) + 1 for s in spaces for q in s.questions) + sum(
        len(p.feedback) for s in spaces for p in s.prototypes
    )
    ticks = iter(range(total))

    def next_time() -> datetime:
        return loaded_at - timedelta(minutes=total - next(ticks))

    topic_rows: list[dict[str, Any]] = []
    reply_rows: list[list[dict[str, Any]]] = []
    for space, community_id in zip(spaces, community_ids, strict=True):
        for question in space.questions:
            asked = next_time()
            if question.age is not None:  # aged: its answers an hour apart after it
                asked = loaded_at - question.age
            topic_rows.append(
                {
                    "community_id": community_id,
                    "author_profile_id": profile_ids[question.author],
                    "subject": question.title,
                    "content": question.body,
                    "is_question": question.is_question,
                    "accepted_reply_id": None,  # set once the replies have ids
                    "created_at": asked,
                    "archived_at": loaded_at if question.archived else None,
                }
            )
            reply_rows.append(
                [
                    {
                        "author_profile_id": profile_ids[answer.author],
                        "content": answer.body,
                        "created_at": next_time()
                        if question.age is None
                        else asked + timedelta(hours=n),
                        "accepted": answer.accepted,
                    }
                    for n, answer in enumerate(question.answers, start=1)
                ]
            )
    if topic_rows:
        topic_ids = await _insert_returning_ids(conn, forum_topics, topic_rows)
        questions = [q for s in spaces for q in s.questions]
        tag_rows = [
            {"topic_id": topic_id, "tag": tag}
            for topic_id, question in zip(topic_ids, questions, strict=True)
            for tag in sorted({t.strip().lower() for t in question.tags if t.strip()})
        ]
        if tag_rows:
            await conn.execute(insert(topic_tags), tag_rows)
        await _write_replies(conn, topic_ids, reply_rows)

    prototype_rows = [
        {
            "community_id": community_id,
            "name": prototype.name,
            "version": prototype.version,
            "summary": prototype.description,
        }
        for space, community_id in zip(spaces, community_ids, strict=True)
        for prototype in space.prototypes
    ]
    if prototype_rows:
        prototype_ids = await _insert_returning_ids(conn, prototypes, prototype_rows)
        all_prototypes = [p for s in spaces for p in s.prototypes]
        feedback_rows = [
            {
                "prototype_id": prototype_id,
                "author_profile_id": profile_ids[feedback.author],
                "rating": feedback.rating,
                "comment": feedback.body,
                "internal_note": feedback.internal_note,
                "created_at": next_time(),
            }
            for prototype_id, prototype in zip(prototype_ids, all_prototypes, strict=True)
            for feedback in prototype.feedback
        ]
        if feedback_rows:
            await conn.execute(insert(prototype_feedback), feedback_rows)


async def _write_replies(
    conn: AsyncConnection, topic_ids: list[int], replies: list[list[dict[str, Any]]]
) -> None:
    rows = [
        {key: value for key, value in reply.items() if key != "accepted"} | {"topic_id": topic_id}
        for topic_id, topic_replies in zip(topic_ids, replies, strict=True)
        for reply in topic_replies
    ]
    if not rows:
        return
    reply_ids = iter(await _insert_returning_ids(conn, forum_replies, rows))
    accepted = []
    for topic_id, topic_replies in zip(topic_ids, replies, strict=True):
        for reply in topic_replies:
            reply_id = next(reply_ids)
            if reply["accepted"]:
                accepted.append({"topic": topic_id, "reply": reply_id})
    if accepted:
        # The accepted reply can only be named once it exists (topics and replies refer
        # to each other), hence a second, batched pass.
        await conn.execute(
            update(forum_topics)
            .where(forum_topics.c.id == bindparam("topic"))
            .values(accepted_reply_id=bindparam("reply")),
            accepted,
        )


async def _insert_returning_ids(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]
) -> list[int]:
    """Bulk-insert ``rows`` and return their generated ids in the same order."""
    if not rows:
        return []
    result = await conn.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


def _profiled_people(data: DemoData, spaces: list[DemoSpace]) -> list[DemoPerson]:
    """Everyone with an internal profile, plus every external taking part in an internal space."""
    taking_part: set[str] = set()
    for space in spaces:
        taking_part.update(m.handle for m in space.members)
        for question in space.questions:
            taking_part.add(question.author)
            taking_part.update(a.author for a in question.answers)
        for prototype in space.prototypes:
            taking_part.update(f.author for f in prototype.feedback)
    known = {p.handle for p in data.people}
    if unknown := taking_part - known:
        raise ValueError(f"demo data names unknown people: {', '.join(sorted(unknown))}")
    return [p for p in data.people if p.internal or p.handle in taking_part]


def _profile_row(person: DemoPerson) -> dict[str, Any]:
    return {
        "email": person.email.strip().lower(),
        "full_name": person.display_name,
        "handle": person.handle,
        "company": person.organisation,
        "job_title": person.title,
        # The corporate directory only knows departments of its own staff.
        "department": person.department if person.internal else None,
        "is_external": not person.internal,
    }


def _access(space: DemoSpace) -> str:
    try:
        return ACCESS[space.visibility]
    except KeyError:
        raise ValueError(
            f"internal space {space.slug!r} has visibility {space.visibility.value!r};"
            f" the internal store knows only {', '.join(ACCESS.values())}"
        ) from None
