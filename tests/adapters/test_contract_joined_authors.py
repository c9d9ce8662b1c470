"""The store contract: a question read carries its author's profile, joined in.

Every read of questions (a list, by ids, a search) joins the author's profile into its own
statement (``Question.author``), so that a page's authors need no statement of their own.
It must be exactly the profile ``people_by_ids`` gives: the same columns, the email only
where the store verified it, and nothing for an author whose profile is gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.adapters.contract import questions

if TYPE_CHECKING:
    from gateway.domain.model import Question
    from tests.adapters.contract import Adapter

pytestmark = pytest.mark.backend


async def _same_as_looked_up(store: Any, found: list[Question]) -> None:
    authored = [q for q in found if q.author_id is not None]
    assert authored
    people = await store.people_by_ids(sorted({q.author_id for q in authored}))
    for q in authored:
        assert q.author == people.get(q.author_id), q.title
    assert all(q.author is None for q in found if q.author_id is None)


async def test_every_question_read_joins_its_author(adapter: Adapter, store: Any) -> None:
    listed = list((await questions(store, adapter.everything)).values())
    await _same_as_looked_up(store, listed)
    by_ids = await store.questions_by_ids([q.id for q in listed], adapter.everything)
    await _same_as_looked_up(store, list(by_ids.values()))
    found = await store.search_questions(adapter.everything, "a", 100)
    await _same_as_looked_up(store, found)
