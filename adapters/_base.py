"""The SQL store every adapter is built on: its engine, connections, schema and health check.

An adapter subclasses :class:`SqlStore`, names its store and its tables' ``metadata``, and
keeps its own statements and mapping. What is here must behave the same in every store,
above all the failure convention of gateway.stores.interface: when the store cannot be
reached, a method lets the driver's (SQLAlchemy's) error through to the gateway's one
guard (gateway.stores.guard); only :meth:`SqlStore.ping` raises
:class:`StoreUnavailable` itself.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import Boolean, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from adapters._sql import (
    add_missing_columns,
    add_missing_indexes,
    open_engine,
    read_connection,
    refresh_statistics,
    write_transaction,
)
from gateway.stores.interface import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from sqlalchemy import ColumnElement, MetaData, Select
    from sqlalchemy.ext.asyncio import AsyncConnection
    from sqlalchemy.sql.compiler import SQLCompiler

    from adapters._sql import AnyRow
    from gateway.domain.model import Membership, StoreName
    from gateway.stores.scope import StoreScope

__all__ = ["PING_TIMEOUT", "RowsMemo", "ScopeColumns", "SqlStore"]

PING_TIMEOUT = 5.0  # seconds; a health check must answer even when the server blackholes us
T = TypeVar("T")
R = TypeVar("R", bound="Sequence[Any]")  # a row: a sequence of values


class RowsMemo(Generic[T]):
    """What was last made of each key's rows, made again only when the rows differ.

    An employee's memberships are hundreds of rows, read on every request (a revoked or
    expired one must count on the very next), and nearly always the same as last time;
    making an object of each took as long as reading them. The rows (the community store
    reads them as one JSON value: adapters.community._members.links_of) are still read and
    compared, whole, every time: a value is kept only beside the rows it was made from.
    Bounded: the ``size`` keys used last.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._kept: OrderedDict[Any, tuple[tuple[Any, ...], T]] = OrderedDict()

    def made(self, key: Any, rows: Sequence[R], make: Callable[[Sequence[R]], T]) -> T:
        """``make(rows)``, or what it made of equal rows for this key before."""
        # Compared as plain tuples: comparing Row objects took five times as long.
        values = tuple(map(tuple, rows))
        kept = self._kept.get(key)
        if kept is not None and kept[0] == values:
            self._kept.move_to_end(key)
            return kept[1]
        made = make(rows)
        self._kept[key] = (values, made)
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return made


@dataclass(frozen=True, slots=True)
class ScopeColumns:
    """The column expressions of a store's space that a :class:`StoreScope` is compiled on:
    its visibility class and its slug (the two halves of a space key)."""

    visibility: ColumnElement[str]
    slug: ColumnElement[str]

    def in_scope(self, scope: StoreScope) -> ColumnElement[bool]:
        """The SQL condition that the row's space is in ``scope``."""
        return scope.predicate(self.visibility, self.slug)

    def of_each_row(
        self, scope: StoreScope, row_space: ColumnElement[Any], space_id: ColumnElement[Any]
    ) -> ColumnElement[bool]:
        """:meth:`in_scope` for a read that walks rows (topics, newest first) and looks up
        each one's space by ``space_id = row_space``; on SQLite, where the scope names spaces
        by class (``StoreScope.by_class``), judged row by row (see :class:`judged_per_row`).
        A scope of named spaces only stays plain: the planner then starts from those
        spaces, by their index."""
        condition = self.in_scope(scope)
        return judged_per_row(row_space, space_id, condition) if scope.by_class else condition

    def shown(self, scope: StoreScope, hidden_at: ColumnElement[Any]) -> ColumnElement[bool]:
        """Not hidden by a moderator, or in a space this principal moderates."""
        return scope.shown(hidden_at, self.visibility, self.slug)


class judged_per_row(FunctionElement[bool]):
    """A space's ``condition`` in a join of rows to their space by ``space_id =
    row_space``: the condition itself, but on SQLite ``CASE WHEN row_space = space_id THEN
    condition END``, the same truth for every joined row (the join holds the two equal).

    SQLite's planner walks a page's topics newest first and looks up each one's space by
    its key; a condition on the space alone then makes it build a Bloom filter of the
    spaces first, evaluating the condition for every space in the store, because it
    estimates lookups for every topic: it does not count the ``LIMIT`` that stops the walk
    after a page. On the large benchmark set that filter was most of the page's SQL (an
    employee's internal page 2.35 ms with it, 0.20 ms without; a guest's community page
    1.05 ms, 0.33 ms). A condition that names the row's column too is judged where the lookup
    is, and builds none. Servers' planners count the limit: the condition stays plain there.
    """

    type = Boolean()
    inherit_cache = True
    name = "judged_per_row"

    def __init__(
        self,
        row_space: ColumnElement[Any],
        space_id: ColumnElement[Any],
        condition: ColumnElement[bool],
    ) -> None:
        super().__init__(row_space, space_id, condition)


@compiles(judged_per_row)
def _judged_per_row(element: judged_per_row, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses.clauses[2], **kw)})"


@compiles(judged_per_row, "sqlite")
def _judged_per_row_sqlite(element: judged_per_row, compiler: SQLCompiler, **kw: Any) -> str:
    row_space, space_id, condition = (compiler.process(c, **kw) for c in element.clauses)
    return f"CASE WHEN {row_space} = {space_id} THEN {condition} END"


class SqlStore:
    """A store adapter over one SQL database (SQLite, PostgreSQL or MariaDB).

    Subclasses set ``name`` (which store this is) and ``metadata`` (its native tables).
    """

    name: StoreName
    metadata: ClassVar[MetaData]

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        """``timeout``: the drivers' own bounds (see gateway.stores.sql.open_engine); the call's
        deadline is the gateway's guard's."""
        self.engine = open_engine(url, timeout)
        # Whether a read may join LATERAL (adapters._keyset.first_of_each): PostgreSQL's.
        self.lateral = self.engine.dialect.name == "postgresql"
        # One principal's memberships, by email, as last read (see RowsMemo).
        self.memberships_made: RowsMemo[tuple[Membership, ...]] = RowsMemo()

    @asynccontextmanager
    async def _connect(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection (a transaction when writing; see read_connection for reads). A lost
        store's driver error goes through to the gateway's guard: one failure convention
        for every adapter."""
        if write:
            async with write_transaction(self.engine) as conn:
                yield conn
        else:
            async with read_connection(self.engine) as conn:
                yield conn

    async def _authors_among(
        self,
        ids: Sequence[str],
        emails: Sequence[str],
        statement: Callable[[Sequence[str], list[str]], Select[Any] | None],
    ) -> set[str]:
        """Which of ``ids`` and (lower-cased) ``emails`` the rows of ``statement(ids,
        emails)`` name by their ``id`` and ``email`` columns: the shared half of each
        adapter's ``authors_in_scope``, whose statement is its own native query."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        stmt = statement(ids, wanted)
        asked, matched = set(ids), set(wanted)
        found: set[str] = set()
        for row in [] if stmt is None else await self._all(stmt):
            found |= {str(row.id)} & asked
            found |= {(row.email or "").lower()} & matched
        return found

    async def _all(self, stmt: Select[Any], params: dict[str, Any] | None = None) -> list[AnyRow]:
        """Every row of one read statement (with ``params``, its bound values)."""
        async with self._connect() as conn:
            return (await conn.execute(stmt, params)).all()

    # --- lifecycle --------------------------------------------------------
    async def create_schema(self) -> None:
        """Create the native tables if they do not exist (never drops anything)."""
        async with self._connect(write=True) as conn:
            await conn.run_sync(self.metadata.create_all)
            await add_missing_columns(conn, self.metadata)
            await add_missing_indexes(conn, self.metadata)
            await refresh_statistics(conn)

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers ``SELECT 1``."""
        try:
            async with asyncio.timeout(PING_TIMEOUT), self.engine.connect() as conn:
                await conn.execute(select(1))
        except Exception as exc:  # whatever the driver raises, the answer is "unavailable"
            raise self._unavailable(exc) from exc

    async def close(self) -> None:
        """Dispose of the engine and its connections."""
        await self.engine.dispose()

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        # The URL is rendered with its password masked; the driver's message may echo
        # connection details, so only the error's type is named.
        where = self.engine.url.render_as_string(hide_password=True)
        return StoreUnavailable(
            f"{self.name.value} store unavailable at {where} ({type(exc).__name__})"
        )
