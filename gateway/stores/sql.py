"""SQL plumbing shared by every database the gateway opens: the stores and its own records.

Engines, time columns and write transactions must behave identically on SQLite,
PostgreSQL and MariaDB, whichever database they serve.
"""

from __future__ import annotations

import asyncio
import weakref
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, MetaData, String, TypeDecorator, event, inspect
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.stores.sqlite_driver import connector

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy import Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "UtcDateTime",
    "add_missing_columns",
    "add_missing_indexes",
    "exact_string",
    "open_engine",
    "read_connection",
    "refresh_statistics",
    "write_transaction",
]


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


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that writes: committed when the block ends, rolled back on any error.

    On SQLite it takes the write lock up front (``BEGIN IMMEDIATE``). A deferred
    transaction that reads before it writes fails at once with "database is locked"
    when another writer committed in between; an immediate one waits its turn on the
    busy timeout, so concurrent writers queue instead of failing.
    """
    if engine.dialect.name != "sqlite":
        async with _transaction(engine) as conn:
            yield conn
        return
    # Writers of this process queue here rather than in SQLite's busy handler, which
    # sleeps in growing steps (up to 100 ms) and so turned 8 concurrent writers' p99 into
    # 600+ ms in the write benchmark. Other processes still meet the busy timeout.
    lock = _SQLITE_WRITERS.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock, _transaction(engine, immediate=True) as conn:
        yield conn


# One write lock per SQLite engine (the engine outlives none of its transactions).
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def _transaction(
    engine: AsyncEngine, *, immediate: bool = False
) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        if immediate:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()


async def add_missing_indexes(conn: AsyncConnection, metadata: MetaData) -> list[str]:
    """Create the indexes a newer version of a schema has and an existing table lacks
    (``create_all`` makes a missing table's indexes, never an existing one's). Indexes are
    matched by name; returns ``table.index`` for each one created."""

    def create(sync_conn: Any) -> list[str]:
        inspector = inspect(sync_conn)
        made = []
        for table in metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            have = {i["name"] for i in inspector.get_indexes(table.name)}
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                if index.name not in have:
                    index.create(sync_conn)
                    made.append(f"{table.name}.{index.name}")
        return made

    made: list[str] = await conn.run_sync(create)
    return made


async def add_missing_columns(conn: AsyncConnection, metadata: MetaData) -> list[str]:
    """Add the nullable columns a newer version of a schema has and the database lacks.

    ``create_all`` creates missing tables but never alters existing ones; a store created
    by an earlier version would otherwise fail on its first query. Only additive,
    nullable columns are handled (what this gateway's schema changes have been so far);
    anything else is a real migration. Returns ``table.column`` for each column added.
    """

    def missing(sync_conn: Any) -> list[tuple[str, Column[Any]]]:
        inspector = inspect(sync_conn)
        found = []
        for table in metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            found += [(table.name, c) for c in table.columns if c.name not in have]
        return found

    added = []
    quote = conn.dialect.identifier_preparer.quote
    for table, column in await conn.run_sync(missing):
        if not column.nullable:
            raise RuntimeError(f"{table}.{column.name} is missing and cannot be added as NULL")
        kind = column.type.compile(dialect=conn.dialect)
        await conn.exec_driver_sql(
            f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {kind}"
        )
        added.append(f"{table}.{column.name}")
    return added


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


def open_engine(url: str, timeout: float | None = None) -> AsyncEngine:
    """An async engine for one database, set up the same way for every database.

    With ``timeout`` (seconds), the drivers bound what they can on their own: waiting for
    a pooled connection (``pool_timeout``), connecting, and on PostgreSQL each statement
    (asyncpg's ``command_timeout`` and the server's ``statement_timeout``, so the server
    stops working on a statement nobody waits for any more). These back up the caller's
    overall deadline (``asyncio.timeout`` in gateway.stores.guard), they do not replace it:
    asyncmy bounds only connecting, and aiosqlite runs on a thread that a deadline cannot
    interrupt (SQLite's own busy timeout bounds its waiting for a lock).
    """
    backend = make_url(url).get_backend_name()
    if backend != "sqlite":
        # Server connections die behind load balancers and restarts; test them on checkout.
        # SQLAlchemy's pre-ping does that on MariaDB in one trip (the protocol's ping); on
        # PostgreSQL it wraps its ";" in BEGIN and ROLLBACK, three trips, so there the pool
        # sends the bare ";" itself (_ping_postgres).
        options: dict[str, Any] = {"pool_pre_ping": backend != "postgresql"}
        if timeout is not None:
            options["pool_timeout"] = timeout
            options["connect_args"] = _driver_timeouts(backend, timeout)
        engine = create_async_engine(url, **options)
        if backend == "postgresql":
            event.listen(engine.sync_engine, "checkout", _ping_postgres)
        return engine
    # What SQLAlchemy's dialect would hand sqlite3.connect, opened by a connection that
    # makes one trip to its thread per statement (gateway.stores.sqlite_driver).
    connect_args = {} if timeout is None else {"timeout": timeout}
    args, kwargs = create_async_engine(url).dialect.create_connect_args(make_url(url))
    engine = create_async_engine(url, async_creator=connector(args, {**kwargs, **connect_args}))
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _ping_postgres(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Test a pooled PostgreSQL connection as it is checked out, in one trip: a connection
    the server or the network ended is thrown away, and the pool tries a fresh one (up to
    three times; SQLAlchemy's documented "pessimistic" disconnect handling). Any other
    failure, a timeout included, is the caller's, as with SQLAlchemy's own pre-ping."""
    try:
        dbapi_connection.run_async(lambda driver: driver.fetchrow(";"))
    except Exception as exc:
        if dbapi_connection.driver_connection.is_closed() or isinstance(exc, OSError):
            raise DisconnectionError(str(exc)) from exc
        raise


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads. On PostgreSQL each statement runs on its own (autocommit),
    without the BEGIN and ROLLBACK that SQLAlchemy's driver adapter sends around every use
    of a connection, two trips to the server more per read. Under PostgreSQL's READ
    COMMITTED every statement reads its own snapshot anyway, so a read of several
    statements sees what it saw in a transaction; writes use :func:`write_transaction`.
    Elsewhere a plain connection: on MariaDB autocommit would cost a trip to set it and
    one to reset it, more than the rollback it saves."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def _driver_timeouts(backend: str, timeout: float) -> dict[str, Any]:
    if backend == "postgresql":
        return {
            "timeout": timeout,  # connecting (asyncpg)
            "command_timeout": timeout,  # each statement, client side (asyncpg)
            "server_settings": {"statement_timeout": str(max(int(timeout * 1000), 1))},
        }
    # asyncmy: connecting only (its read_timeout would leave a half-read connection).
    return {"connect_timeout": timeout}


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
