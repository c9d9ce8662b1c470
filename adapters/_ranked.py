"""Top N per parent: one windowed statement for the first page of many parents at once.

The per-parent store methods (``questions_for_spaces``, ``answers_for_questions`` and the
like) answer a page for every requested parent in one statement: ``row_number()`` ranks
each parent's children, and only the first ``limit + 1`` of each are fetched (the extra
one tells whether a next page exists). Every store ranks and pages the same way here.

Read backward (Relay's ``last``/``before``), the rank runs in the reversed order, so the
first ``limit + 1`` of each parent are those nearest the end; they are returned in the
list's own order all the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select

from adapters._keyset import newest_first
from gateway.domain.model import Page

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy import ColumnElement, Select

    from adapters._sql import AnyRow

T = TypeVar("T")

__all__ = ["PARENT", "RANK", "empty_pages", "newest_first", "pages_per_parent", "top_per_parent"]

PARENT = "parent_id"  # the column of a ranked row that holds its parent's id
RANK = "row_rank"  # ... and the one that holds its position within that parent, from 1


def top_per_parent(
    stmt: Select[Any],
    parent: ColumnElement[int],
    order_by: Sequence[ColumnElement[Any]],
    limit: int,
    *,
    backward: bool = False,
) -> Select[Any]:
    """At most ``limit + 1`` rows of ``stmt`` per ``parent`` value, first in ``order_by``
    order.

    Adds the columns ``parent_id`` (:data:`PARENT`, the ``parent`` value) and ``row_rank``
    (:data:`RANK`, the row's position within its parent, from 1) and orders the result by
    parent, then rank. ``backward``: ``order_by`` is the list's order reversed (so ranks
    count from the end) and each parent's rows come by descending rank, in the list's
    order again. ``stmt`` must not have columns of those names already.
    """
    ranked = stmt.add_columns(
        parent.label(PARENT),
        func.row_number().over(partition_by=parent, order_by=tuple(order_by)).label(RANK),
    ).subquery()
    return (
        select(ranked)
        .where(ranked.c[RANK] <= max(limit, 0) + 1)
        .order_by(ranked.c[PARENT], ranked.c[RANK].desc() if backward else ranked.c[RANK])
    )


def pages_per_parent(
    requested: Sequence[str], rows: Iterable[AnyRow], limit: int, build: Callable[[AnyRow], T]
) -> dict[str, Page[T]]:
    """One page per requested parent id from the rows of :func:`top_per_parent`.

    ``build`` maps the rows that make a page; a row ranked past ``limit`` only says that
    its parent has a next page (read backward: a previous one), wherever it comes.
    """
    pages: dict[str, Page[T]] = empty_pages(requested)
    for row in rows:
        parent = str(row.parent_id)  # canonical, so it is the requested spelling
        if row.row_rank > limit:
            pages[parent] = Page(pages[parent].items, has_next=True)
        else:
            pages[parent].items.append(build(row))
    return pages


def empty_pages(requested: Sequence[str]) -> dict[str, Page[Any]]:
    """An empty page per requested id."""
    # Every requested id gets a page, even one no row can have: the contract lets the
    # caller index the result without checking.
    return {parent: Page() for parent in requested}
