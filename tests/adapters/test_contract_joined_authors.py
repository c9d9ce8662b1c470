"""The store contract: a question read carries its author's profile, joined in, and may
carry its space.

Every read of questions (a list, by ids, a search) joins the author's profile into its own
statement (``Question.author``), so that a page's authors need no statement of their own.
It must be exactly the profile ``people_by_ids`` gives: the same columns, the email only
where the store verified it, and nothing for an author whose profile is gone. Its space is
joined in too (``Question.space``): exactly what ``spaces_by_ids`` gives in the same scope,
tags and their order included (the community store's come as one JSON array per category,
ordered by the database where it can, by the adapter on SQLite). A topic's own tags come the
same way on both stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete as sa_delete
from sqlalchemy import insert, select

from adapters.community._tables import category_tags, tags, topic_tags
from adapters.internal._tables import topic_tags as internal_topic_tags
from tests.adapters.contract import questions
from tests.adapters.contract_adapters import COMMUNITY_ADAPTER, INTERNAL_ADAPTER

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
    assert joined == [len(listed), len(by_ids), len(found)]


# The internal store keeps a community's tags in one column: nothing is aggregated there.
@pytest.mark.parametrize("adapter", [COMMUNITY_ADAPTER], ids=str)
async def test_a_joined_categorys_tags_come_in_the_order_spaces_by_ids_gives(
    adapter: Adapter, store: Any
) -> None:
    """The community store aggregates a category's tags, and a topic's, into one JSON array: in the
    database's collation order where it can order an aggregate, sorted by the adapter on
    SQLite. Names whose order differs between collations (hyphens, digits, underscores)
    must come as ``spaces_by_ids`` orders them, on every backend."""
    scope = adapter.everything
    first = next(iter((await questions(store, scope)).values()))
    names = ["zz", "a-c", "ab", "a_b", "a1", "a", "b-a", "ba"]
    category = int(first.space_id)
    async with store.engine.begin() as conn:
        await conn.execute(sa_delete(category_tags).where(category_tags.c.category_id == category))
        for name in names:
            found = (await conn.execute(select(tags.c.id).where(tags.c.name == name))).scalar()
            if found is None:
                found = (await conn.execute(insert(tags).values(name=name))).inserted_primary_key[0]
            await conn.execute(insert(category_tags).values(category_id=category, tag_id=found))
            # The question's own tags come the same way, one JSON array per topic.
            await conn.execute(insert(topic_tags).values(topic_id=int(first.id), tag_id=found))
    listed = list((await questions(store, scope)).values())
    looked_up = (await store.spaces_by_ids([first.space_id], scope))[first.space_id]
    assert sorted(looked_up.tags) == sorted(names)
    joined = [q.space for q in listed if q.space_id == first.space_id]
    assert joined and all(space == looked_up for space in joined)
    # In the one collation order (spaces_by_ids orders in SQL), whatever it is.
    again = next(q for q in listed if q.id == first.id)
    assert [t for t in again.tags if t in names] == list(looked_up.tags)
    by_id = (await store.questions_by_ids([first.id], scope))[first.id]
    assert by_id.tags == again.tags


@pytest.mark.parametrize("adapter", [INTERNAL_ADAPTER], ids=str)
async def test_a_listed_topics_tags_come_in_the_order_a_per_space_read_gives(
    adapter: Adapter, store: Any
) -> None:
    """The internal store's question reads aggregate a topic's tags into one JSON array
    (ordered in the aggregate, or by the adapter on SQLite); its per-space read orders
    them in SQL. Names whose order differs between collations must come the same way."""
    scope = adapter.everything
    first = next(iter((await questions(store, scope)).values()))
    names = ["zz", "a-c", "ab", "a_b", "a1", "a", "b-a", "ba"]
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(internal_topic_tags), [{"topic_id": int(first.id), "tag": n} for n in names]
        )
    listed = (await questions(store, scope))[first.title]
    assert sorted(t for t in listed.tags if t in names) == sorted(names)
    per_space = await store.questions_for_spaces(
        [first.space_id], unanswered=False, tag=None, after=None, limit=100
    )
    [ordered] = [q for q in per_space[first.space_id].items if q.id == first.id]
    assert listed.tags == ordered.tags
    by_id = (await store.questions_by_ids([first.id], scope))[first.id]
    assert by_id.tags == listed.tags
    [found] = [q for q in await store.search_questions(scope, first.title, 5) if q.id == first.id]
    assert found.tags == listed.tags
