"""The demo data set's recognition: the activity its content already holds (accepted
answers, prototype reviews) and its kudos (gateway.domain.demo.KUDOS), written to the
records database once the stores hold the posts, with the badges they earn.

Run at start-up right after the demo data is loaded into empty stores; every row is
unique by post (and giver), so running it again adds nothing. No notification is sent:
nobody earned these while anyone was watching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.domain.badges import Activity, earned
from gateway.domain.demo import PEOPLE
from gateway.domain.demo_records import KUDOS
from gateway.domain.permissions import USER_PREFIX
from gateway.stores.scope import Grants, StoreScope

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.domain.model import StoreName
    from gateway.records import Records
    from gateway.stores.interface import Store

_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class _Post:
    kind: Activity | None  # what it counts as by itself (None: an answer not accepted)
    author: str  # verified email
    subject: str
    space: str
    body: str
    at: datetime


async def _posts(name: StoreName, store: Store) -> list[_Post]:
    """Every answer and feedback of one store, with its author's email."""
    allow = Grants(everything=True)
    everything = StoreScope(name, allow=allow, reveal=StoreScope(name, allow=allow))
    spaces = await store.list_spaces(everything, kind=None, after=None, limit=_LIMIT)
    space_ids = [s.id for s in spaces.items]
    questions = await store.list_questions(
        everything, space_ids=None, unanswered=False, tag=None, after=None, limit=_LIMIT
    )
    answers = await store.answers_for_questions(
        [q.id for q in questions.items], after=None, limit=_LIMIT, reveal_hidden=True
    )
    prototypes = await store.prototypes_for_spaces(space_ids, limit=_LIMIT)
    feedback = await store.feedback_for_prototypes(
        [p.id for page in prototypes.values() for p in page.items], limit=_LIMIT
    )
    replies = [a for page in answers.values() for a in page.items]
    reviews = [f for page in feedback.values() for f in page.items]
    authors = {a.author_id for a in replies} | {f.author_id for f in reviews}
    people = await store.people_by_ids(sorted(a for a in authors if a))
    emails = {pid: p.email for pid, p in people.items() if p.email}
    posts = []
    for a in replies:
        if a.author_id in emails:
            kind = Activity.ACCEPTED_ANSWER if a.accepted else None
            subject = ids.encode("Answer", name, a.id)
            space = ids.encode("Space", name, a.space_id)
            posts.append(_Post(kind, emails[a.author_id], subject, space, a.body, a.created_at))
    for f in reviews:
        if f.author_id in emails:
            subject = ids.encode("Feedback", name, f.id)
            space = ids.encode("Space", name, f.space_id)
            posts.append(
                _Post(Activity.REVIEW, emails[f.author_id], subject, space, f.body, f.created_at)
            )
    return posts


async def seed_demo_recognition(
    stores: dict[StoreName, Store], records: Records, now: datetime
) -> int:
    """Write the demo's recognition; how many activities were new."""
    posts = [post for name, store in stores.items() for post in await _posts(name, store)]
    new = 0
    for post in posts:
        if post.kind is not None:
            new += await records.record_activity(
                person=post.author,
                kind=post.kind,
                subject=post.subject,
                space=post.space,
                at=post.at,
            )
    by_body = {post.body: post for post in posts}
    emails = {p.handle: p.email for p in PEOPLE}
    for kudos in KUDOS:
        thanked = by_body.get(kudos.body)
        if thanked is None or thanked.author != emails[kudos.author]:
            continue
        new += await records.record_activity(
            person=thanked.author,
            kind=Activity.KUDOS,
            subject=thanked.subject,
            space=thanked.space,
            at=now,
            actor=f"{USER_PREFIX}{emails[kudos.giver]}",
        )
    people = sorted({post.author for post in posts})
    activity = await records.activity_of(people)
    for person, events in activity.items():
        for found in earned([event for event, _space in events]):
            await records.award(person, found.badge.key, found.subject, found.at)
    return new
