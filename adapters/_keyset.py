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

    from sqlalchemy import Column, ColumnElement, Select

__all__ = ["by_name", "limited", "newest_first", "ordered"]


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
    columns: Sequence[Column[Any]],
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
