"""The store contract, schema: the author columns that ``authors_in_scope`` looks up by
are indexed on every backend, and ``create_schema`` adds an index a store created by an
earlier version lacks (``create_all`` never touches an existing table)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import inspect, text

if TYPE_CHECKING:
    from tests.adapters.contract import Adapter

pytestmark = pytest.mark.backend

# (table, index, column) per adapter: what authors_in_scope correlates on.
AUTHOR_INDEXES = {
    "internal": [
        ("forum_topics", "ix_forum_topics_author", "author_profile_id"),
        ("forum_replies", "ix_forum_replies_author", "author_profile_id"),
        ("prototype_feedback", "ix_prototype_feedback_author", "author_profile_id"),
    ],
    "community": [
        ("topics", "ix_topics_user", "user_id"),
        ("posts", "ix_posts_user", "user_id"),
    ],
}


async def _indexes(store: Any) -> dict[str, dict[str, list[str]]]:
    """Each table's indexes by name, with their columns."""

    def read(sync_conn: Any) -> dict[str, dict[str, list[str]]]:
        inspector = inspect(sync_conn)
        return {
            table: {i["name"]: list(i["column_names"]) for i in inspector.get_indexes(table)}
            for table, _index, _column in AUTHOR_INDEXES[store.name.value]
        }

    async with store.engine.connect() as conn:
        return await conn.run_sync(read)


async def test_author_columns_are_indexed(adapter: Adapter, store: Any) -> None:
    found = await _indexes(store)
    for table, index, column in AUTHOR_INDEXES[adapter.name]:
        assert found[table].get(index) == [column], (table, found[table])


async def test_create_schema_adds_a_missing_index(adapter: Adapter, store: Any) -> None:
    table, index, column = AUTHOR_INDEXES[adapter.name][0]
    async with store.engine.begin() as conn:
        if store.engine.dialect.name in ("mysql", "mariadb"):
            # InnoDB keeps an index on every foreign key column: a store made before this
            # index had InnoDB's own, which is what stands in for it here.
            await conn.execute(text(f"CREATE INDEX fk_index_before ON {table} ({column})"))
            await conn.execute(text(f"DROP INDEX {index} ON {table}"))
        else:
            await conn.execute(text(f"DROP INDEX {index}"))
    assert index not in (await _indexes(store))[table]
    await store.create_schema()
    assert (await _indexes(store))[table].get(index) == [column]
    await store.create_schema()  # and again: nothing left to add, nothing fails
    assert (await _indexes(store))[table].get(index) == [column]
