"""The store contract: a question read carries its author's profile, joined in, and may
carry its space.

Every read of questions (a list, by ids, a search) joins the author's profile into its own
statement (``Question.author``), so that a page's authors need no statement of their own.
It must be exactly the profile ``people_by_ids`` gives: the same columns, the email only
where the store verified it, and nothing for an author whose profile is gone. A space
joined in (``Question.space``: the internal store's, whose communities are one row each)
must be exactly what ``spaces_by_ids`` gives in the same scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain.model import StoreName
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


async def _spaces_as_looked_up(store: Any, scope: Any, found: list[Question]) -> int:
    """How many of ``found`` carry their space; each must be the one looked up."""
    joined = [q for q in found if q.space is not None]
    spaces = await store.spaces_by_ids(sorted({q.space_id for q in joined}), scope)
    for q in joined:
        assert q.space == spaces[q.space_id], q.title
    return len(joined)


async def test_every_question_read_joins_its_author(adapter: Adapter, store: Any) -> None:
    scope = adapter.everything
    listed = list((await questions(store, scope)).values())
    await _same_as_looked_up(store, listed)
    by_ids = list((await store.questions_by_ids([q.id for q in listed], scope)).values())
    await _same_as_looked_up(store, by_ids)
    found = await store.search_questions(scope, "a", 100)
    await _same_as_looked_up(store, found)
    joined = [await _spaces_as_looked_up(store, scope, qs) for qs in (listed, by_ids, found)]
    if store.name is StoreName.INTERNAL:
        assert all(n > 0 for n in joined) and joined[0] == len(listed)
