"""How SQLite plans a scoped page of questions (adapters._base.judged_per_row): a scope
covering a whole visibility class is judged per topic, without a Bloom filter of every
space built before the page; a scope of named spaces still starts from those spaces.

SQLite builds such a filter only for tables with planner statistics and more estimated
lookups than rows, so the stores are seeded (bench.seed's tiny set) and analyzed, as a
started gateway analyzes them. The plan is read with ``EXPLAIN QUERY PLAN`` on the very
statement the store sent; nothing is timed.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event

from adapters.community import CommunityStore
from adapters.internal import InternalStore
from bench import seed
from gateway.domain.model import StoreName, Visibility
from gateway.stores.scope import Grants, StoreScope

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan")
    seed.main(["--spaces", "200", "--posts", "4000", "--out", str(out)])
    return out


async def _plan(store: Any, path: Path, scope: StoreScope) -> list[str]:
    """The plan of the page statement ``list_questions`` sends for ``scope``."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    await store.create_schema()  # analyzes, as the gateway's start does
    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        page = await store.list_questions(
            scope, space_ids=None, unanswered=False, tag=None, after=None, limit=20
        )
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
        await store.close()
    assert page.items  # a page, judged
    [(statement, parameters)] = sent
    with sqlite3.connect(path) as conn:
        return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]


def _slug(path: Path, sql: str) -> str:
    with sqlite3.connect(path) as conn:
        [(slug,)] = conn.execute(sql).fetchall()
        return str(slug)


async def test_a_broad_scope_is_judged_per_topic(seeded: Path) -> None:
    internal = seeded / "internal.db"
    restricted = _slug(internal, "SELECT slug FROM communities WHERE access = 'restricted' LIMIT 1")
    broad = StoreScope(
        StoreName.INTERNAL,
        allow=Grants(
            visibilities=frozenset({Visibility.OPEN, Visibility.SHARED}),
            spaces=frozenset({(Visibility.RESTRICTED, restricted)}),
        ),
    )
    plan = await _plan(InternalStore(f"sqlite+aiosqlite:///{internal}"), internal, broad)
    assert not any("BLOOM FILTER" in step for step in plan), plan
    assert any("SCAN forum_topics USING INDEX ix_forum_topics_created" in s for s in plan), plan

    community = seeded / "community.db"
    public = StoreScope(
        StoreName.COMMUNITY, allow=Grants(visibilities=frozenset({Visibility.PUBLIC}))
    )
    plan = await _plan(CommunityStore(f"sqlite+aiosqlite:///{community}"), community, public)
    assert not any("BLOOM FILTER" in step for step in plan), plan
    # Everything but one class: judged per topic too.
    not_private = StoreScope(
        StoreName.COMMUNITY,
        allow=Grants(everything=True),
        deny=Grants(visibilities=frozenset({Visibility.PRIVATE})),
    )
    plan = await _plan(CommunityStore(f"sqlite+aiosqlite:///{community}"), community, not_private)
    assert not any("BLOOM FILTER" in step for step in plan), plan


async def test_a_scope_of_named_spaces_starts_from_them(seeded: Path) -> None:
    internal = seeded / "internal.db"
    with sqlite3.connect(internal) as conn:
        busiest = conn.execute(
            "SELECT c.slug FROM communities c JOIN forum_topics t ON t.community_id = c.id"
            " WHERE c.access = 'shared' AND t.is_question GROUP BY c.id"
            " ORDER BY count(*) DESC LIMIT 2"
        ).fetchall()
    named = StoreScope(
        StoreName.INTERNAL,
        allow=Grants(spaces=frozenset((Visibility.SHARED, slug) for (slug,) in busiest)),
    )
    plan = await _plan(InternalStore(f"sqlite+aiosqlite:///{internal}"), internal, named)
    # The page's first step looks its spaces up by their (access, slug) index.
    assert plan[1].startswith("SEARCH communities USING COVERING INDEX"), plan


def test_which_scopes_name_spaces_by_class() -> None:
    internal = StoreName.INTERNAL
    one = frozenset({(Visibility.SHARED, "s")})
    open_ = frozenset({Visibility.OPEN})
    assert StoreScope(internal, Grants(visibilities=open_)).by_class
    assert StoreScope(internal, Grants(visibilities=open_, spaces=one)).by_class
    assert StoreScope(internal, Grants(everything=True), deny=Grants(spaces=one)).by_class
    # A plain TRUE, named spaces only, or nothing at all: judged as written.
    assert not StoreScope(internal, Grants(everything=True)).by_class
    assert not StoreScope(internal, Grants(spaces=one)).by_class
    assert not StoreScope(internal).by_class
    assert not StoreScope(
        internal, Grants(visibilities=open_), deny=Grants(everything=True)
    ).by_class
