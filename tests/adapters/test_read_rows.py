"""A page's rows are read as named tuples of their columns (adapters._joined.read_rows):
the adapters' mappings must read them exactly as they read SQLAlchemy's rows, joined parts
included, and a result whose columns cannot be a tuple's fields comes as SQLAlchemy gives it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import literal_column, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters._joined import joined, read_rows

if TYPE_CHECKING:
    from pathlib import Path

_PAGE = select(
    literal_column("7").label("id"),
    literal_column("'Title'").label("title"),
    literal_column("NULL").label("archived_at"),
    literal_column("3").label("author_id"),
    literal_column("'Ann'").label("author_name"),
    literal_column("NULL").label("asked_in_id"),
    literal_column("'lost'").label("asked_in_name"),
)


async def test_page_rows_read_as_sqlalchemys_do(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'rows.db'}")
    try:
        async with engine.connect() as conn:
            [plain] = (await conn.execute(_PAGE)).all()
            [read] = read_rows(await conn.execute(_PAGE))
            assert type(read) is not type(plain)
            assert tuple(read) == tuple(plain)
            for name in ("id", "title", "archived_at", "author_name"):
                assert getattr(read, name) == getattr(plain, name)
                assert read._mapping.get(name) == plain._mapping.get(name)
            assert read._mapping.get("answer_count") is None  # absent: the default
            assert read._mapping.get("answer_count", 0) == 0
            # The joined author: its columns without the prefix, as Prefixed reads them.
            author, plain_author = joined(read, "author_", "id"), joined(plain, "author_", "id")
            assert author is not None and plain_author is not None
            assert (author.id, author.name) == (plain_author.id, plain_author.name) == (3, "Ann")
            assert author._mapping.get("name") == "Ann"
            assert author._mapping.get("email") is None
            # Its key NULL (an outer join that found nothing), or no such part: none.
            assert joined(read, "asked_in_", "id") is None is joined(plain, "asked_in_", "id")
            assert joined(read, "nobody_", "id") is None is joined(plain, "nobody_", "id")
            assert joined(read, "author_", "handle") is None  # no such key column
            # Columns a tuple cannot name: read as SQLAlchemy gives them.
            odd = text('SELECT 1 AS id, 2 AS _private, 3 AS "class"')
            [kept] = read_rows(await conn.execute(odd))
            assert type(kept) is type(plain)
            assert (kept.id, kept._mapping["_private"], kept._mapping["class"]) == (1, 2, 3)
            [kept] = read_rows(await conn.execute(text("SELECT 1 AS id, 2 AS get")))
            assert type(kept) is type(plain)
            assert kept.get == 2
    finally:
        await engine.dispose()
