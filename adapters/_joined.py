"""A page and its tags in one statement: the page's rows left-joined to a one-to-many column.

A page of topics (or categories) and their tags used to be two statements: the page, then
the tags of its rows. Here the page's own statement, ``LIMIT`` and all, becomes a derived
table that is left-joined to the tags, so one round trip brings both: a row per (owner, tag),
or one row with a NULL tag for an owner without any. :func:`grouped` folds the rows back
into one per owner, in the statement's order. The owner's ``LIMIT`` stays inside the derived
table, so the join multiplies rows by their tags, never the page's size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy import ColumnElement, FromClause, Select, Subquery

    from adapters._sql import AnyRow

__all__ = ["LISTINGS", "TAG", "grouped", "with_tags"]

TAG = "tag_value"  # the column of a joined row that holds one of its owner's tags (or NULL)
# How many built list statements each adapter keeps (by scope and arguments), most recent.
LISTINGS = 256


def with_tags(
    stmt: Select[Any],
    join: Callable[[Subquery], tuple[FromClause, ColumnElement[str]]],
    order_by: Callable[[Subquery], Sequence[ColumnElement[Any]]],
    *,
    extra: Callable[[Subquery], Sequence[ColumnElement[Any]]] = lambda _page: (),
) -> Select[Any]:
    """``stmt``'s rows, each left-joined to its tags (:data:`TAG`), in ``order_by`` then tag
    order, with the ``extra(page)`` columns (e.g. a correlated count): computed on the
    derived table's rows, so only for the page, however many rows ``stmt`` filters.

    ``join(page)`` builds the left join of the derived table ``page`` to the tags and names
    the tag column; ``order_by(page)`` is ``stmt``'s order on the derived table's columns,
    a total one (ending in the id): the outer query must order again, since a derived
    table's order is not kept. ``stmt`` must have an ``id`` column and none named
    :data:`TAG`.
    """
    page = stmt.subquery("page")
    joined, tag = join(page)
    return (
        select(page, *extra(page), tag.label(TAG))
        .select_from(joined)
        .order_by(*order_by(page), tag)
    )


def grouped(rows: Iterable[AnyRow]) -> list[tuple[AnyRow, tuple[str, ...]]]:
    """The rows of :func:`with_tags`, one per owner (its first row) with its tags, in order."""
    owners: dict[Any, tuple[AnyRow, list[str]]] = {}
    for row in rows:
        owner = owners.setdefault(row.id, (row, []))
        value = getattr(row, TAG)
        if value is not None:
            owner[1].append(value)
    return [(row, tuple(tags)) for row, tags in owners.values()]
