"""The SQL plumbing both adapters share: ids, pages, cursors, planner statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, text

from adapters._sql import (
    MAX_ID,
    UtcDateTime,
    after_time,
    native_id,
    native_ids,
    open_engine,
    page,
    refresh_statistics,
)
from gateway.domain.errors import InvalidCursor
from gateway.stores.interface import AtTime, TimeCursor

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7),
        ("07", None),
        ("+7", None),
        (" 7", None),
        ("7_0", None),
        ("0", None),
        ("-1", None),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("٣", None),
        ("", None),
    ],
)
def test_native_id_accepts_only_the_canonical_spelling(value: str, expected: int | None) -> None:
    assert native_id(value) == expected


def test_native_ids_and_pages() -> None:
    assert native_ids(["3", "1", "x", "3"]) == [1, 3]
    assert page([1, 2, 3], 2).items == [1, 2] and page([1, 2, 3], 2).has_next
    assert page([1, 2], 2).has_next is False


def test_after_time_refuses_a_forged_cursor_id() -> None:
    rows = Table("t", MetaData(), Column("id", Integer), Column("at", UtcDateTime))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidCursor):
        after_time(TimeCursor(at, AtTime.BELOW_ID, "abc"), rows.c.at, rows.c.id)
    assert after_time(None, rows.c.at, rows.c.id) is not None


async def test_sqlite_gets_planner_statistics(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    rows = Table("t", MetaData(), Column("id", Integer, primary_key=True, index=True))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(rows.metadata.create_all)
            await conn.execute(rows.insert(), [{"id": i} for i in range(1, 50)])
            await refresh_statistics(conn)
        async with engine.connect() as conn:
            stats = (await conn.execute(text("SELECT tbl FROM sqlite_stat1"))).scalars().all()
            assert "t" in stats
            assert (await conn.execute(select(rows.c.id).limit(1))).scalar() == 1
    finally:
        await engine.dispose()
