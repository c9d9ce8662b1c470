"""A page and its tags in one statement: the page's rows left-joined to a one-to-many column.

A page of topics (or categories) and their tags used to be two statements: the page, then
the tags of its rows. Here the page's own statement, ``LIMIT`` and all, becomes a derived
table that is left-joined to the tags, so one round trip brings both: a row per (owner, tag),
or one row with a NULL tag for an owner without any. :func:`grouped` folds the rows back
into one per owner, in the statement's order. The owner's ``LIMIT`` stays inside the derived
table, so the join multiplies rows by their tags, never the page's size.

A page of questions takes its tags as one JSON array per row instead (:class:`names_in_order`
in a correlated subquery, read back by :func:`names_of`): a row per topic.
"""

from __future__ import annotations

import json
from collections import namedtuple
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import Text, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy import ColumnElement, FromClause, Result, Select, Subquery
    from sqlalchemy.sql.compiler import SQLCompiler

    from adapters._sql import AnyRow

__all__ = [
    "LISTINGS",
    "TAG",
    "Prefixed",
    "grouped",
    "joined",
    "names_in_order",
    "names_of",
    "read_rows",
    "with_tags",
]

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


class Prefixed:
    """The columns of a joined row labelled ``prefix + name``, read as ``name``: so the
    mapping of a row of the joined table (a question's author, its space) reads them too.
    ``_mapping.get(name)`` reads that part of the row alone, as ``Row._mapping`` reads the
    whole row."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: AnyRow, prefix: str) -> None:
        self._row = row._mapping
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        try:
            return self._row[self._prefix + name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> Prefixed:
        """Itself: what the mappings read of a row's ``_mapping`` is :meth:`get`, and this
        part's columns are found by name without copying them (a copy went through every
        column of the row, for each joined part of each row of a page)."""
        return self

    def get(self, name: str, default: Any = None) -> Any:
        return self._row.get(self._prefix + name, default)


def joined(row: AnyRow, prefix: str, key: str) -> AnyRow | None:
    """The part of ``row`` labelled ``prefix``, to hand to that table's own mapping; None
    when the row has no such part or its ``key`` column is NULL (an outer join that found
    nothing)."""
    if isinstance(row, _Read):
        return cast("AnyRow", row._part(prefix, key))
    if row._mapping.get(prefix + key) is None:
        return None
    return cast("AnyRow", Prefixed(row, prefix))


class _Read:
    """What the rows :func:`read_rows` makes (named tuples of one result's columns) add to
    a tuple: the mappings' ``row._mapping.get(name)``, and the joined parts of the row."""

    __slots__ = ()
    # Per prefix and key: the position of the part's key, what picks its columns, its class.
    _parts: ClassVar[
        dict[tuple[str, str], tuple[int | None, Callable[[Any], tuple[Any, ...]], type]]
    ]
    _fields: tuple[str, ...]

    @property
    def _mapping(self) -> _Read:
        return self

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    def _part(self, prefix: str, key: str) -> _Read | None:
        part = self._parts.get((prefix, key))
        if part is None:
            part = self._parts[(prefix, key)] = _part_of(self._fields, prefix, key)
        at_key, pick, cls = part
        if at_key is None or self[at_key] is None:  # type: ignore[index]
            return None
        return cast("_Read", tuple.__new__(cls, pick(self)))


@lru_cache(maxsize=LISTINGS)
def _read_class(names: tuple[str, ...]) -> type | None:
    """A named tuple of these columns, read as :class:`_Read`; None when a column's name
    cannot be a tuple's field, or is one of :class:`_Read`'s own (the rows are then read
    as SQLAlchemy gives them)."""
    if "get" in names:
        return None
    try:
        base = namedtuple("Read", names)  # type: ignore[misc]
    except ValueError:
        return None
    return type("Read", (_Read, base), {"__slots__": (), "_parts": {}})


def _part_of(
    names: tuple[str, ...], prefix: str, key: str
) -> tuple[int | None, Callable[[Any], tuple[Any, ...]], type]:
    at = [i for i, name in enumerate(names) if name.startswith(prefix)]
    part = tuple(names[i][len(prefix) :] for i in at)
    cls = _read_class(part) if part else None
    if cls is None or key not in part:
        return None, tuple, tuple
    pick = itemgetter(*at)
    one = (lambda row: (pick(row),)) if len(at) == 1 else pick
    return at[part.index(key)], one, cls


def read_rows(result: Result[Any]) -> list[AnyRow]:
    """Every row of ``result``, as named tuples of its columns.

    A page's rows are read by the adapters' mappings column by column (a question, its
    author, its space: about thirty columns a row). An attribute of SQLAlchemy's ``Row``
    costs a lookup by name, and a joined part read through :class:`Prefixed` costs a
    Python call per column; a named tuple's field is read by position. The mappings take
    these rows as they take SQLAlchemy's (``row.name``, ``row._mapping.get(name)``,
    :func:`joined`), so nothing else changes."""
    cls = _read_class(tuple(result.keys()))
    rows = result.all()
    if cls is None:
        return list(rows)
    return [cast("AnyRow", tuple.__new__(cls, row)) for row in rows]


# A page's tags as one JSON array per row instead: the page is then a row per owner, where
# joining the tags made a row per tag, each carrying every other column of the page
# through SQLAlchemy's result processing once more.
class names_in_order(FunctionElement[Any]):
    """An aggregate: a JSON array of one column's values, in the order of its collation on
    PostgreSQL and MariaDB (as ``ORDER BY tags.name`` orders them); in no order on SQLite
    before 3.44, which knows no ORDER BY inside an aggregate: :func:`names_of` then
    sorts them, as SQLite's BINARY collation does."""

    type = Text()
    inherit_cache = True
    name = "names_in_order"


@compiles(names_in_order)
def _names_in_order(element: names_in_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(names_in_order, "postgresql")
def _names_in_order_pg(element: names_in_order, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"json_agg({column} ORDER BY {column})"


@compiles(names_in_order, "mysql")
def _names_in_order_mariadb(element: names_in_order, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"JSON_ARRAYAGG({column} ORDER BY {column})"  # MariaDB 10.5 and later


def names_of(value: str | list[str] | None, *, sort: bool) -> tuple[str, ...]:
    """The names of a :class:`names_in_order` column (None: there were none), sorted where the
    database could not order them (``sort``: SQLite)."""
    # Text on SQLite and MariaDB; asyncpg decodes PostgreSQL's json itself.
    names = value if isinstance(value, list) else json.loads(value or "[]")
    return tuple(sorted(names) if sort else names)
