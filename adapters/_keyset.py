"""Keyset orders read either way: forward from the start, or backward from the end.

A list has one order (``created_at DESC, id DESC``, or ``name ASC, id ASC``). Paging
forward takes the first ``limit + 1`` rows after a cursor; paging backward (Relay's
``last``/``before``) takes the ``limit + 1`` rows nearest the end, or nearest a cursor,
by reading the same order reversed. Either way the rows come back in the list's own
order, so mapping and merging never need to know which way a page was read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.sql.elements import KeyedColumnElement
    from sqlalchemy.sql.selectable import LateralFromClause

__all__ = ["by_name", "first_of_each", "limited", "newest_first", "ordered"]


def ordered(
    columns: Sequence[ColumnElement[Any]], *, descending: bool, backward: bool = False
) -> tuple[ColumnElement[Any], ...]:
    """ORDER BY clauses for ``columns``, all one way: the list's order, or (``backward``)
    its reverse."""
    down = descending != backward
    return tuple(c.desc() if down else c.asc() for c in columns)


def newest_first(
    created_at: ColumnElement[Any], row_id: ColumnElement[int], *, backward: bool = False
) -> tuple[ColumnElement[Any], ...]:
    """The order of time-keyed lists: ``created_at DESC, id DESC`` (reversed ``backward``)."""
    return ordered((created_at, row_id), descending=True, backward=backward)


def by_name(
    name: ColumnElement[str], row_id: ColumnElement[int], *, backward: bool = False
) -> tuple[ColumnElement[Any], ...]:
    """The order of named lists: ``name ASC, id ASC`` (reversed ``backward``)."""
    return ordered((name, row_id), descending=False, backward=backward)


def limited(
    stmt: Select[Any],
    columns: Sequence[KeyedColumnElement[Any]],
    *,
    descending: bool,
    rows: int,
    backward: bool,
) -> Select[Any]:
    """``stmt`` in the order of ``columns``, ``rows`` of them: the first ones, or
    (``backward``) the last ones, still in the list's order (a page's extra row then comes
    first). ``columns`` must be among ``stmt``'s columns, under their own names."""
    rows = max(rows, 0)
    if not backward:
        return stmt.order_by(*ordered(columns, descending=descending)).limit(rows)
    # The nearest rows from the end, then turned back: a derived table keeps its LIMIT
    # on every backend, and the outer query restores the list's order.
    nearest = stmt.order_by(*ordered(columns, descending=descending, backward=True)).limit(rows)
    page = nearest.subquery("nearest")
    return select(page).order_by(*ordered([page.c[c.key] for c in columns], descending=descending))


def first_of_each(
    stmt: Select[Any],
    columns: Sequence[KeyedColumnElement[Any]],
    *,
    descending: bool,
    rows: int,
    backward: bool,
    name: str = "each",
) -> LateralFromClause:
    """``stmt``'s first ``rows`` in the order of ``columns`` (or, ``backward``, its last
    ones, nearest first), as a ``LATERAL`` derived table: ``stmt`` names a column of the
    query it is joined into (a parent's key), and is read once per parent row.

    For a list over a few parents, each with many rows: ``limited`` over a lateral join of
    the parents to this reads at most ``rows`` a parent, each parent's newest by its index,
    where a plain join reads every row of every parent and sorts them for the first page
    (see adapters.internal._questions.listing). PostgreSQL; MariaDB and SQLite have no
    ``LATERAL``."""
    down = ordered(columns, descending=descending, backward=backward)
    return stmt.order_by(*down).limit(max(rows, 0)).lateral(name)
