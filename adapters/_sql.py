"""SQL plumbing every adapter needs the same way; private to the adapters package.

Each store's tables and mapping stay in its own package; what is here is what
must behave identically across stores (ids, cursors, time, collation, engines)
so that the gateway's contract holds whichever store answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import DateTime, String, TypeDecorator, and_, event, or_, true
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.domain import Page
from gateway.errors import InvalidCursor
from gateway.stores import AtTime

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import ColumnElement, Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.stores import NameCursor, TimeCursor

T = TypeVar("T")

MAX_ID = 2**31 - 1  # the INTEGER key range shared by SQLite, PostgreSQL and MariaDB


class UtcDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python (arguments may be any aware time)."""

    # MariaDB's DATETIME drops fractions unless asked: cursors must round-trip exactly.
    impl = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def exact_string(length: int) -> String:
    """A VARCHAR compared byte-for-byte on MariaDB too (its default collation ignores case).

    Slugs and visibility classes feed the authorization predicate, so a grant for
    ``project-falcon`` must not also match ``Project-Falcon`` on one backend only.
    """
    return String(length).with_variant(
        mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def native_id(value: object) -> int | None:
    """The integer key for a gateway id string, or None when no row can have it.

    Only the spelling a store hands out counts ("7", not "07", "+7", " 7" or "7_0"):
    results are keyed by that spelling, and an out-of-range number would be a driver error.
    """
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    if str(number) != value or not 0 < number <= MAX_ID:
        return None
    return number


def native_ids(values: Iterable[str]) -> list[int]:
    """The distinct valid integer keys among ``values``; anything else cannot name a row."""
    return sorted({n for n in map(native_id, values) if n is not None})


def page(items: list[T], limit: int) -> Page[T]:
    """A page from up to ``limit + 1`` fetched items (the extra one tells has_next)."""
    limit = max(limit, 0)
    return Page(items[:limit], has_next=len(items) > limit)


def after_time(
    after: TimeCursor | None, created_at: ColumnElement[Any], row_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """Rows strictly after ``after`` in ``created_at DESC, id DESC`` order."""
    if after is None:
        return true()
    if after.at_time is AtTime.NONE:
        return created_at < after.created_at
    if after.at_time is AtTime.ALL:
        return created_at <= after.created_at
    below = native_id(after.id)
    if below is None:  # a cursor this store never issued: forged or corrupted
        raise InvalidCursor(after.id or "")
    return or_(created_at < after.created_at, and_(created_at == after.created_at, row_id < below))


def after_name(
    after: NameCursor, name: ColumnElement[str], row_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """Rows strictly after ``after`` in ``name ASC, id ASC`` order."""
    after_id = native_id(after.id)
    if after_id is None:  # a cursor this store never issued: forged or corrupted
        raise InvalidCursor(after.id)
    return or_(name > after.name, and_(name == after.name, row_id > after_id))


async def refresh_statistics(conn: AsyncConnection) -> None:
    """Give SQLite's planner statistics; servers keep their own (autovacuum, InnoDB).

    Without them SQLite picks index-by-space plus a sort for a principal who sees many
    spaces (the read benchmark measured 15 ms instead of 1.4 ms per page at 1M posts).
    ``analysis_limit`` samples a bounded number of rows per index, so this stays a few
    milliseconds however large the store grows, and can run at every start.
    """
    if conn.dialect.name != "sqlite":
        return
    await conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    await conn.exec_driver_sql("ANALYZE")


def open_engine(url: str) -> AsyncEngine:
    """An async engine for one store, set up the same way for every store."""
    if make_url(url).get_backend_name() != "sqlite":
        # Server connections die behind load balancers and restarts; test them on checkout.
        return create_async_engine(url, pool_pre_ping=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings: SQLite forgets them between connections."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        # Readers then never block the writer (and vice versa) across gateway workers.
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()
    # SQLite's own lower() folds ASCII only; search must fold "Ü" like the servers do.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value
