"""The store contract, part three: answers and people.

Every test runs against each adapter (tests/adapters/contract.py says what differs) on every
reachable backend, with the adapter's demo data loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain.demo import demo_data
from gateway.domain.model import Page
from tests.adapters.contract import BAD_IDS, questions

if TYPE_CHECKING:
    from tests.adapters.contract import Adapter

pytestmark = pytest.mark.backend


async def test_answers_for_questions(adapter: Adapter, store: Any) -> None:
    by_title = await questions(store, adapter.everything)
    assert set(by_title) == set(adapter.answer_counts)
    non_questions = await adapter.non_questions(store)
    wanted = [q.id for q in by_title.values()] + [*non_questions, "abc", "9999"]
    pages = await store.answers_for_questions(wanted, after=None, limit=5)
    # Every requested id gets a page, in the order asked, even ids that cannot name a question.
    assert list(pages) == wanted
    assert all(pages[other] == Page() for other in wanted[len(by_title) :])
    assert {title: len(pages[q.id].items) for title, q in by_title.items()} == adapter.answer_counts
    assert {title for title, q in by_title.items() if q.answered} == adapter.answered
    for q in by_title.values():
        page = pages[q.id]
        assert not page.has_next
        assert all(a.question_id == q.id and a.space_id == q.space_id for a in page.items)
        assert all(a.created_at > q.created_at for a in page.items)
        assert all(a.created_at.tzinfo is not None for a in page.items)
        assert all(a.store is adapter.store_name for a in page.items)
        # The one accepted answer is the question's accepted answer.
        accepted = [a.id for a in page.items if a.accepted]
        assert accepted == ([q.accepted_answer_id] if q.answered else []), q.title
    title, body = adapter.single_answer
    question = by_title[title]
    (answer,) = pages[question.id].items
    assert answer.body == body
    assert answer.accepted and answer.id == question.accepted_answer_id

    # limit 0 still says whether there is anything.
    pages = await store.answers_for_questions(wanted, after=None, limit=0)
    assert {qid for qid, page in pages.items() if page.has_next} == {
        by_title[t].id for t, n in adapter.answer_counts.items() if n
    }
    assert all(page.items == [] for page in pages.values())


async def test_answers_by_ids_and_counts(adapter: Adapter, store: Any) -> None:
    by_title = await questions(store, adapter.everything)
    pages = await store.answers_for_questions(
        [q.id for q in by_title.values()], after=None, limit=5
    )
    answer_ids = [a.id for page in pages.values() for a in page.items]
    assert len(answer_ids) == len(adapter.answer_bodies)
    natives, non_answers = await adapter.native_answers(store)
    assert set(answer_ids) == set(natives)
    found = await store.answers_by_ids([*answer_ids, *non_answers, *BAD_IDS], adapter.everything)
    assert set(found) == set(answer_ids)  # what is no answer (a topic's own post) is never found
    assert all(found[key].id == key for key in found)
    assert sorted(a.body for a in found.values()) == adapter.answer_bodies
    assert {a.body for a in found.values() if a.accepted} == adapter.accepted_bodies
    found = await store.answers_by_ids(answer_ids, adapter.open)
    assert sorted(a.body for a in found.values()) == sorted(adapter.open_answer_bodies)
    found = await store.answers_by_ids(answer_ids, adapter.one)
    assert sorted(a.body for a in found.values()) == sorted(adapter.one_answer_bodies)

    counts = await store.answer_counts([*(q.id for q in by_title.values()), "abc"])
    # Only questions with answers are counted.
    assert counts == {by_title[title].id: n for title, n in adapter.answer_counts.items() if n}


async def test_people_by_emails_and_ids(adapter: Adapter, store: Any) -> None:
    everyone = [p.email for p in demo_data(adapter.loaded_at).people]
    asked = [e.upper() for e in everyone] + ["nobody@corp.example"]
    found = await store.people_by_emails(asked)
    # Only people with a profile (an account) in this store are found.
    assert set(found) == adapter.profiled
    assert all(found[email].email == email for email in found)
    assert all(person.store is adapter.store_name for person in found.values())
    for email, fields in adapter.people.items():
        person = found[email]
        assert (
            person.display_name,
            person.handle,
            person.email,
            person.organisation,
            person.title,
            person.department,
        ) == fields
    # Matched however the email is written.
    padded = await store.people_by_emails([f" {e.title()} " for e in sorted(adapter.profiled)])
    assert padded == found

    by_id = await store.people_by_ids([p.id for p in found.values()] + BAD_IDS + ["424242"])
    assert set(by_id) == {p.id for p in found.values()}
    assert {p.handle for p in by_id.values()} == {p.handle for p in found.values()}
    assert all(by_id[person.id] == person for person in found.values())
    assert await store.people_by_emails([]) == {}
    assert await store.people_by_ids(BAD_IDS) == {}
