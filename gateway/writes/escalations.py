"""What escalating a community question writes besides the write path: the internal topic's
text, and the demo data set's escalations.

The mutations (``escalateQuestion``, ``answerFromEscalation``) are in
:mod:`gateway.schema.escalation_mutations`; the link itself in
:mod:`gateway.records.escalations`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.domain.model import Author, StoreName
from gateway.domain.permissions import USER_PREFIX
from gateway.stores.scope import Grants, StoreScope
from gateway.writes.path import MAX_TITLE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gateway.domain.demo import DemoData
    from gateway.records import Records
    from gateway.stores.interface import Store

__all__ = ["ALREADY", "quote", "seed_demo_escalations", "topic_title"]

ALREADY = "this question was escalated into this space already"


# The title of a topic that escalates a question only some may read (see quote()).
WITHHELD_TITLE = "Escalated community question"


def topic_title(title: str, *, public: bool = True) -> str:
    """The internal topic's title: the community question's, marked as escalated; for a
    question not everyone may read, a title that says nothing of it."""
    return f"Escalated: {title}"[:MAX_TITLE] if public else WITHHELD_TITLE


def quote(question_id: str, title: str, body: str, note: str, *, public: bool = True) -> str:
    """The internal topic's body: the community question quoted, a link to it (its global
    id), then the note.

    Only a question everyone may read (``public``: a guest may) is quoted. Any internal
    space can hold invited externals, who would read in the quote what the community does
    not show them; so a question from a members-only, trusted or private space is given
    by its link alone, which answers only those who may read it, and the note."""
    if public:
        quoted = "\n".join(f"> {line}" for line in body.splitlines() or [""])
        parts = [f"Escalated from the community: {title} ({question_id})", quoted]
    else:
        parts = [
            f"Escalated from the community: {question_id} (not quoted: not everyone who "
            "reads this space may read it there; follow the link)"
        ]
    if note:
        parts.append(note)
    return "\n\n".join(parts)


async def seed_demo_escalations(
    stores: Mapping[StoreName, Store], records: Records, data: DemoData
) -> int:
    """Make the demo's escalations (``data.escalations``) as an employee would: the internal
    topic quoting each question, and its link in the records. For a first start of the demo
    only (both stores just loaded); one already made is left alone. How many were made."""
    internal, community = stores[StoreName.INTERNAL], stores[StoreName.COMMUNITY]
    everything = StoreScope(StoreName.INTERNAL, allow=Grants(everything=True))
    spaces = await internal.list_spaces(everything, kind=None, after=None, limit=1000)
    by_slug = {s.slug: s for s in spaces.items}
    made = 0
    for wanted in data.escalations:
        found = await community.search_questions(
            StoreScope(StoreName.COMMUNITY, allow=Grants(everything=True)), wanted.question, 10
        )
        question = next(q for q in found if q.title == wanted.question)
        space = by_slug[wanted.space]
        if await records.escalation_into(question.id, space.id) is not None:
            continue
        person = data.person(wanted.by)
        author_id = await internal.ensure_author(
            Author(person.email, person.display_name, person.organisation, external=False)
        )
        question_id = ids.encode("Question", StoreName.COMMUNITY, question.id)
        topic = await internal.ask_question(
            space.id,
            author_id,
            title=topic_title(question.title),
            body=quote(question_id, question.title, question.body, wanted.note),
            tags=question.tags,
            now=data.loaded_at,
        )
        await records.add_escalation(
            question_id=question.id,
            space_id=space.id,
            topic_id=topic.id,
            actor=f"{USER_PREFIX}{person.email}",
            by_person_id=author_id,
            at=data.loaded_at,
        )
        made += 1
    return made
