"""The store contract, experts: who wrote what on a subject, counted inside the scope.

Every test runs against each adapter on every reachable backend, with the adapter's demo
data loaded. The counts must be what the adapter's own scoped lists show (questions by
``list_questions``/``search_questions``, their answers by ``answers_for_questions``), in
one statement; the best answers a subset of those, best first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.adapters.contract import statements

if TYPE_CHECKING:
    from gateway.domain.model import Answer, Question
    from gateway.stores.scope import StoreScope
    from tests.adapters.contract import Adapter

pytestmark = pytest.mark.backend


async def _readable(
    store: Any, scope: StoreScope, tag: str | None, text: str | None
) -> tuple[list[Question], dict[str, list[Answer]]]:
    if text is not None:
        found = await store.search_questions(scope, text, 100)
        found = [q for q in found if tag is None or tag in q.tags]
    else:
        page = await store.list_questions(
            scope, space_ids=None, unanswered=False, tag=tag, after=None, limit=100
        )
        found = page.items
    pages = await store.answers_for_questions([q.id for q in found], after=None, limit=100)
    return found, {qid: page.items for qid, page in pages.items()}


def _subjects(adapter: Adapter) -> list[tuple[str | None, str | None]]:
    _title, tags = adapter.tagged_question
    _scope, text, _limit, _titles = adapter.searches[0]
    tag = tags[0].lower()  # the gateway hands stores tags lower-cased, as they keep them
    return [(None, None), (tag, None), (None, text), (tag, text), ("no-such-tag", None)]


def _scopes(adapter: Adapter) -> dict[str, StoreScope]:
    return {
        "everything": adapter.everything,
        "open": adapter.open,
        "one": adapter.one,
        "deny": adapter.deny,
        **adapter.extra_scopes,
    }


async def test_expert_counts_are_the_scoped_lists_counted(adapter: Adapter, store: Any) -> None:
    for name, scope in _scopes(adapter).items():
        for tag, text in _subjects(adapter):
            found, answers = await _readable(store, scope, tag, text)
            expected: dict[str, list[int]] = {}
            for question in found:
                if question.author_id:
                    expected.setdefault(question.author_id, [0, 0, 0])[2] += 1
                for answer in answers[question.id]:
                    if answer.author_id:
                        mine = expected.setdefault(answer.author_id, [0, 0, 0])
                        mine[1] += 1
                        mine[0] += answer.accepted
            with statements(store) as sent:
                counted = await store.expert_counts(scope, tag=tag, text=text)
            assert len(sent) == 1, (name, tag, text)
            got = {c.person_id: [c.accepted_answers, c.answers, c.questions] for c in counted}
            assert got == expected, (name, tag, text)
            assert all(c.store is adapter.store_name for c in counted)
            people = await store.people_by_ids([c.person_id for c in counted])
            for c in counted:
                assert c.email == (people[c.person_id].email or None), c


async def test_best_answers_are_readable_and_best_first(adapter: Adapter, store: Any) -> None:
    for name, scope in _scopes(adapter).items():
        for tag, text in _subjects(adapter):
            _found, answers = await _readable(store, scope, tag, text)
            readable = {a.id: a for page in answers.values() for a in page}
            authors = sorted({a.author_id for a in readable.values() if a.author_id})
            with statements(store) as sent:
                best = await store.best_answers(
                    scope, [*authors, "abc"], tag=tag, text=text, limit=2
                )
            assert len(sent) == (1 if authors else 0), (name, tag, text)
            for author, chosen in best.items():
                mine = [a for a in readable.values() if a.author_id == author]
                order = sorted(mine, key=lambda a: (a.accepted, a.created_at), reverse=True)
                assert [a.id for a in chosen] == [a.id for a in order[:2]], (name, author)
                assert chosen == [readable[a.id] for a in chosen]
            assert set(best) == set(authors) & {a.author_id for a in readable.values()}


async def test_an_empty_scope_asks_nothing(adapter: Adapter, store: Any) -> None:
    with statements(store) as sent:
        assert await store.expert_counts(adapter.nothing, tag=None, text=None) == []
        assert await store.best_answers(adapter.nothing, ["1"], tag=None, text=None, limit=3) == {}
    assert sent == []
