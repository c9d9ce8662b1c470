"""aiosqlite with one trip to its thread per statement, instead of five.

aiosqlite runs each SQLite connection on a thread of its own and hands it every call
through a queue. SQLAlchemy's aiosqlite dialect makes five such calls for one read:
open a cursor, execute, fetch every row, close the cursor, and roll back when the
connection goes back to the pool. On the benchmark's machine each trip costs 0.15 to
0.25 ms of waiting for the thread (more than the statement: a primary-key read of 20
users takes 0.09 ms in SQLite), so a store call spent about 2.5 ms where its SQL took
a tenth of that (``python -m bench.profile_page``).

Here the connection makes that one trip: the cursor executes, fetches every row (as
SQLAlchemy's dialect does right after executing, for every non-streaming cursor) and
closes in the thread, and hands back the rows with the description, the row count and
the last row id. A rollback with no transaction open (pysqlite's own rollback does
nothing then) makes no trip. Everything else is aiosqlite's and SQLAlchemy's: the pool,
the compiled statements, the result processing, the connect event, the errors.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import TYPE_CHECKING, Any

import aiosqlite

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["OneTripConnection", "connector"]

_Outcome = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid


def _run(
    connection: sqlite3.Connection, sql: str, parameters: Any, *, many: bool = False
) -> _Outcome:
    """In the connection's thread: the whole statement, its rows fetched."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """The part of :class:`aiosqlite.Cursor` SQLAlchemy's dialect uses, over rows fetched
    with the statement."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: deque[Any] = deque()

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        self._took(await self._connection.run(_run, sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneTripCursor:
        self._took(await self._connection.run(_run, sql, parameters, many=True))
        return self

    def _took(self, outcome: _Outcome) -> None:
        self.description, rows, self.rowcount, self.lastrowid = outcome
        self._rows = deque(rows)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    async def close(self) -> None:
        self._rows.clear()


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip per statement (see above)."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]  # SQLAlchemy awaits __aenter__
        return OneTripCursor(self)

    async def run(self, fn: Callable[..., _Outcome], *args: Any, **kwargs: Any) -> _Outcome:
        """``fn(sqlite3_connection, *args)`` in the connection's thread."""
        return await self._execute(lambda: fn(self._conn, *args, **kwargs))

    async def rollback(self) -> None:
        connection = self._connection
        if connection is not None and not connection.in_transaction:
            return  # nothing to roll back (pysqlite would not issue a ROLLBACK either)
        await super().rollback()


def connector(args: Sequence[Any], kwargs: dict[str, Any]) -> Callable[[], OneTripConnection]:
    """SQLAlchemy's ``async_creator``: a connection opened with ``sqlite3.connect(*args,
    **kwargs)`` (what the dialect would pass) on its own daemon thread, as
    ``aiosqlite.connect`` opens one."""

    def create() -> OneTripConnection:
        connection = OneTripConnection(lambda: sqlite3.connect(*args, **kwargs), 64)
        connection._thread.daemon = True  # as SQLAlchemy's dialect does for its own
        return connection

    return create
