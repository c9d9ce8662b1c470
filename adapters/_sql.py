"""SQL plumbing every adapter needs the same way; private to the adapters package.

Each store's tables and mapping stay in its own package; what is here is what
must behave identically across stores (ids, cursors, time, collation, engines)
so that the gateway's contract holds whichever store answers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import and_, insert, or_, true
from sqlalchemy.dialects import postgresql, sqlite

from gateway.domain.errors import InvalidCursor
from gateway.domain.model import Page
from gateway.stores.interface import AtTime, TargetMissing
from gateway.stores.sql import (
    UtcDateTime,
    add_missing_columns,
    add_missing_indexes,
    exact_string,
    open_engine,
    read_connection,
    refresh_statistics,
    write_transaction,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlalchemy import ColumnElement, CursorResult, Insert, Row, Table

    from gateway.stores.interface import NameCursor, TimeCursor

    # A result row of any number of columns (``Row[Any]`` would be a row of exactly one).
    AnyRow: TypeAlias = Row[*tuple[Any, ...]]

T = TypeVar("T")

# Re-exported: the adapters take their engine and column plumbing from here.
__all__ = [
    "UtcDateTime",
    "add_missing_columns",
    "add_missing_indexes",
    "after_name",
    "after_time",
    "before_name",
    "before_time",
    "exact_string",
    "handle_candidates",
    "insert_ignoring_duplicates",
    "inserted_id",
    "name_bounds",
    "native_id",
    "native_ids",
    "native_or_missing",
    "open_engine",
    "page",
    "read_connection",
    "refresh_statistics",
    "time_bounds",
    "write_transaction",
]

MAX_ID = 2**31 - 1  # the INTEGER key range shared by SQLite, PostgreSQL and MariaDB


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


def native_or_missing(value: str) -> int:
    """The integer key for the id of a write's target; :class:`TargetMissing` when no row
    can have it (the same answer as for a row that does not exist)."""
    found = native_id(value)
    if found is None:
        raise TargetMissing(value)
    return found


def page(items: list[T], limit: int, *, backward: bool = False) -> Page[T]:
    """A page from up to ``limit + 1`` fetched items, in the list's order (the extra one
    tells has_next). Read ``backward`` (the rows nearest the end, see
    :func:`adapters._keyset.limited`), the extra one is the first and says more come before."""
    limit = max(limit, 0)
    more = len(items) > limit
    if backward:
        return Page(items[len(items) - limit :] if more else items, has_next=more)
    return Page(items[:limit], has_next=more)


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


def before_time(
    before: TimeCursor | None, created_at: ColumnElement[Any], row_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """Rows strictly before ``before`` in ``created_at DESC, id DESC`` order: every row that
    :func:`after_time` leaves out, but the cursor's own row."""
    if before is None:
        return true()
    if before.at_time is AtTime.NONE:  # every row at that time comes before the position
        return created_at >= before.created_at
    if before.at_time is AtTime.ALL:  # ... none does
        return created_at > before.created_at
    above = native_id(before.id)
    if above is None:  # a cursor this store never issued: forged or corrupted
        raise InvalidCursor(before.id or "")
    return or_(
        created_at > before.created_at, and_(created_at == before.created_at, row_id > above)
    )


def time_bounds(
    after: TimeCursor | None,
    before: TimeCursor | None,
    created_at: ColumnElement[Any],
    row_id: ColumnElement[int],
) -> ColumnElement[bool]:
    """Rows after ``after`` and before ``before`` (either may be None) in newest-first order;
    raises InvalidCursor for a forged one, so call it before deciding not to query."""
    return and_(after_time(after, created_at, row_id), before_time(before, created_at, row_id))


def after_name(
    after: NameCursor, name: ColumnElement[str], row_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """Rows strictly after ``after`` in ``name ASC, id ASC`` order."""
    after_id = native_id(after.id)
    if after_id is None:  # a cursor this store never issued: forged or corrupted
        raise InvalidCursor(after.id)
    return or_(name > after.name, and_(name == after.name, row_id > after_id))


def before_name(
    before: NameCursor, name: ColumnElement[str], row_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """Rows strictly before ``before`` in ``name ASC, id ASC`` order."""
    before_id = native_id(before.id)
    if before_id is None:  # a cursor this store never issued: forged or corrupted
        raise InvalidCursor(before.id)
    return or_(name < before.name, and_(name == before.name, row_id < before_id))


def name_bounds(
    after: NameCursor | None,
    before: NameCursor | None,
    name: ColumnElement[str],
    row_id: ColumnElement[int],
) -> ColumnElement[bool]:
    """Rows after ``after`` and before ``before`` (either may be None) in by-name order;
    raises InvalidCursor for a forged one, so call it before deciding not to query."""
    return and_(
        true() if after is None else after_name(after, name, row_id),
        true() if before is None else before_name(before, name, row_id),
    )


def insert_ignoring_duplicates(table: Table, dialect_name: str) -> Insert:
    """An INSERT that skips rows whose unique key already exists, on every backend."""
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")


def inserted_id(result: CursorResult[Any]) -> Any:
    """The primary key of the row that a single-row INSERT (without RETURNING) just made."""
    key = result.inserted_primary_key
    assert key is not None  # None only when no row went in: never after a plain INSERT
    return key[0]


def handle_candidates(email: str) -> Iterator[str]:
    """Handles to try for a new profile: the email's local part, then numbered variants."""
    local = re.sub(r"[^a-z0-9_.-]+", "", email.split("@", 1)[0].lower())[:48] or "user"
    yield local
    for n in range(2, 1000):
        yield f"{local}{n}"
