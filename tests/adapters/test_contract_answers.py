"""The store contract, part three: answers (and their counts) and people.

Every test runs against each adapter (tests/adapters/contract.py says what differs) on every
reachable backend, with the adapter's demo data loaded.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain.demo import demo_data
from gateway.domain.model import Page
from gateway.stores.scope import Grants, StoreScope
from tests.adapters.contract import BAD_IDS, questions, statements

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


async def test_people_by_ids_and_emails_is_both_lookups_in_one_statement(
    adapter: Adapter, store: Any
) -> None:
    everyone = [p.email for p in demo_data(adapter.loaded_at).people]
    emails = [e.upper() for e in everyone] + ["nobody@corp.example"]
    by_email = await store.people_by_emails(emails)
    some = sorted(p.id for p in by_email.values())[:2]
    ids = [*some, *BAD_IDS, "424242"]
    for asked_ids, asked_emails in [(ids, emails), (ids, []), ([], emails), (some, emails[:1])]:
        with statements(store) as sent:
            both = await store.people_by_ids_and_emails(asked_ids, asked_emails)
        assert both == (
            await store.people_by_ids(asked_ids),
            await store.people_by_emails(asked_emails),
        ), (asked_ids, asked_emails)
        assert len(sent) == 1
    # Ids found only because of their email are not among the ids, and the other way round.
    by_id, linked = await store.people_by_ids_and_emails(some[:1], [everyone[0]])
    assert set(by_id) <= set(some[:1])
    assert set(linked) <= {everyone[0]}
    with statements(store) as sent:
        assert await store.people_by_ids_and_emails(BAD_IDS, []) == ({}, {})
    assert sent == []


def _revealing(scope: StoreScope) -> StoreScope:
    """``scope``, moderating everything it reads."""
    return dataclasses.replace(scope, reveal=StoreScope(scope.store, allow=Grants(everything=True)))


async def test_scoped_question_reads_count_answers_as_the_reader_sees_them(
    adapter: Adapter, store: Any
) -> None:
    """list_questions, questions_by_ids and search_questions count each question's answers
    in the same statement, exactly as answer_counts does for the same reader: hidden
    answers only where the reader moderates the space."""
    by_title = await questions(store, adapter.everything)
    assert {t: q.answer_count for t, q in by_title.items()} == adapter.answer_counts
    busiest = max(by_title.values(), key=lambda q: adapter.answer_counts[q.title])
    pages = await store.answers_for_questions([busiest.id], after=None, limit=1)
    hidden = pages[busiest.id].items[0]
    await store.set_hidden(hidden.id, answer=True, hidden=True, now=adapter.loaded_at)
    ids = [q.id for q in by_title.values()]
    for scope, reveal in [(adapter.everything, False), (_revealing(adapter.everything), True)]:
        expected = await store.answer_counts(ids, reveal_hidden=reveal)
        listed = await store.list_questions(
            scope, space_ids=None, unanswered=False, tag=None, after=None, limit=100
        )
        found = await store.questions_by_ids(ids, scope)
        searched = await store.search_questions(scope, busiest.title, 10)
        assert {q.id: q.answer_count for q in listed.items} == {i: expected.get(i, 0) for i in ids}
        assert {i: q.answer_count for i, q in found.items()} == {i: expected.get(i, 0) for i in ids}
        assert busiest.id in {q.id for q in searched}
        assert all(q.answer_count == expected.get(q.id, 0) for q in searched)
        assert found[busiest.id].answer_count == adapter.answer_counts[busiest.title] - (
            0 if reveal else 1
        )


async def _authors_read(store: Any, scope: StoreScope, reveal: bool) -> set[str]:
    """The authors of everything the store's own scoped reads show (questions, their
    answers, feedback on prototypes in spaces in scope)."""
    listed = await store.list_questions(
        scope, space_ids=None, unanswered=False, tag=None, after=None, limit=100
    )
    ids = [q.id for q in listed.items]
    answers = await store.answers_for_questions(ids, after=None, limit=100, reveal_hidden=reveal)
    spaces = await store.list_spaces(scope, kind=None, after=None, limit=100)
    prototypes = await store.prototypes_for_spaces([s.id for s in spaces.items], limit=100)
    proto_ids = [p.id for page in prototypes.values() for p in page.items]
    feedback = await store.feedback_for_prototypes(proto_ids, limit=100)
    written = [
        *listed.items,
        *(a for page in answers.values() for a in page.items),
        *(f for page in feedback.values() for f in page.items),
    ]
    return {w.author_id for w in written if w.author_id is not None}


@pytest.mark.parametrize("scope_name", ["everything", "open", "one", "deny", "nothing"])
async def test_authors_in_scope_are_the_authors_the_scoped_reads_show(
    adapter: Adapter, store: Any, scope_name: str
) -> None:
    """Whom ``node(id)`` may answer as an author: exactly the authors of what the reader
    can read, asked for by id or by email, in one statement (none without a scope)."""
    scope = adapter.scope(scope_name)
    everyone = await store.people_by_emails([p.email for p in demo_data(adapter.loaded_at).people])
    ids = sorted(p.id for p in everyone.values())
    expected = await _authors_read(store, scope, reveal=False) if not scope.empty else set()
    with statements(store) as sent:
        found = await store.authors_in_scope([*ids, *BAD_IDS], [], scope)
    assert found == expected
    assert len(sent) == (0 if scope.empty else 1)
    if scope_name == "everything":
        assert found, "the demo data has authors"
    by_email = await store.authors_in_scope(
        [], [f" {p.email.upper()} " for p in everyone.values() if p.email], scope
    )
    emails = {p.id: p.email for p in everyone.values()}
    assert by_email == {emails[i] for i in expected}
    # Both at once: each asked id and email answered as itself.
    both = await store.authors_in_scope(ids[:1], [emails[ids[-1]]], scope)
    assert both == ({ids[0]} & expected) | ({emails[ids[-1]]} if ids[-1] in expected else set())
    assert await store.authors_in_scope([], [], scope) == set()


async def test_hidden_content_makes_no_author_but_for_moderators(
    adapter: Adapter, store: Any
) -> None:
    by_title = await questions(store, adapter.everything)
    authors = await store.authors_in_scope(
        [q.author_id for q in by_title.values() if q.author_id], [], adapter.everything
    )
    # Hide everything someone wrote: they are no author to a reader, still one to a moderator.
    who = sorted(authors)[0]
    for q in by_title.values():
        pages = await store.answers_for_questions([q.id], after=None, limit=100)
        for a in pages[q.id].items:
            if a.author_id == who:
                await store.set_hidden(a.id, answer=True, hidden=True, now=adapter.loaded_at)
        if q.author_id == who:
            await store.set_hidden(q.id, answer=False, hidden=True, now=adapter.loaded_at)
    everything = adapter.everything
    shown = await store.authors_in_scope([who], [], everything)
    assert shown == ({who} & await _authors_read(store, everything, reveal=False))
    assert await store.authors_in_scope([who], [], _revealing(everything)) == {who}
