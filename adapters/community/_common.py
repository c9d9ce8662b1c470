"""What the community adapter repeats from the internal one, kept together in one place.

The engine and its connections with one failure convention, the health check, schema
creation, the "newest N per parent" pagination and the handling of native ids and scope:
the internal adapter does the same, so these are to move to a base shared by both
adapters; until then they live here, apart from the forum's own statements.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import func, select, text

from adapters._sql import (
    add_missing_columns,
    native_id,
    open_engine,
    page,
    refresh_statistics,
    write_transaction,
)
from adapters.community._tables import categories, visibility_of
from gateway.domain.model import Page
from gateway.stores.interface import StoreUnavailable, TargetMissing

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Sequence

    from sqlalchemy import Column, ColumnElement, MetaData, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.stores.scope import StoreScope

__all__ = ["SqlStore", "in_scope", "native_or_missing", "newest_per", "pages_per", "shown"]

T = TypeVar("T")

_PING_TIMEOUT = 5.0


class SqlStore:
    """The engine, connections, schema and health check of the store."""

    metadata: ClassVar[MetaData]

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        """``timeout``: the drivers' own bounds (see gateway.stores.sql.open_engine); the call's
        deadline is the gateway's guard's."""
        self.engine = open_engine(url, timeout)

    @asynccontextmanager
    async def _connect(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection (a transaction when writing). A lost store's driver error goes
        through to the gateway's guard, as the internal store's does."""
        if write:
            async with write_transaction(self.engine) as conn:
                yield conn
        else:
            async with self.engine.connect() as conn:
                yield conn

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        # The URL is rendered with its password masked; the driver's message may echo
        # connection details, so only the error's type is named.
        where = self.engine.url.render_as_string(hide_password=True)
        return StoreUnavailable(f"community store unavailable at {where} ({type(exc).__name__})")

    # --- lifecycle --------------------------------------------------------
    async def create_schema(self) -> None:
        """Create the native tables if they do not exist (never drops anything)."""
        async with self._connect(write=True) as conn:
            await conn.run_sync(self.metadata.create_all)
            await add_missing_columns(conn, self.metadata)
            await refresh_statistics(conn)

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers ``SELECT 1``."""
        try:
            async with asyncio.timeout(_PING_TIMEOUT), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # whatever went wrong, the store did not answer
            raise self._unavailable(exc) from exc

    async def close(self) -> None:
        """Dispose of the engine and its connections."""
        await self.engine.dispose()


def in_scope(scope: StoreScope) -> ColumnElement[bool]:
    return scope.predicate(visibility_of(categories), categories.c.slug)


def shown(scope: StoreScope, hidden_at: ColumnElement[Any]) -> ColumnElement[bool]:
    """Not hidden by a moderator, or in a category this principal moderates."""
    return scope.shown(hidden_at, visibility_of(categories), categories.c.slug)


def newest_per(
    stmt: Select[Any],
    parent: Column[Any],
    created_at: ColumnElement[Any],
    id_: ColumnElement[int],
    limit: int,
) -> Select[Any]:
    """At most ``limit + 1`` rows of ``stmt`` per ``parent`` value, newest first.

    Ranks rows with ``row_number()`` over ``created_at DESC, id DESC`` per parent (the
    rank is the ``rank`` column) and orders the result by parent, then rank.
    """
    ranked = stmt.add_columns(
        func.row_number()
        .over(partition_by=parent, order_by=(created_at.desc(), id_.desc()))
        .label("rank")
    ).subquery()
    return (
        select(ranked)
        .where(ranked.c.rank <= max(limit, 0) + 1)
        .order_by(ranked.c[parent.name], ranked.c.rank)
    )


def pages_per(ids: Sequence[str], items: Iterable[tuple[int, T]], limit: int) -> dict[str, Page[T]]:
    """A Page per requested id from ``(parent id, item)`` pairs in order; empty when none."""
    grouped: dict[str, list[T]] = {}
    for parent_id, item in items:
        grouped.setdefault(str(parent_id), []).append(item)
    pages: dict[str, Page[T]] = {i: Page() for i in ids}
    for parent_id, found in grouped.items():
        pages[parent_id] = page(found, limit)
    return pages


def native_or_missing(value: str) -> int:
    found = native_id(value)
    if found is None:
        raise TargetMissing(value)
    return found
