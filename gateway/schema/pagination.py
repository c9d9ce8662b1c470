"""Relay connections built from keyset pages, and page-size checks.

Every connection pages forward with ``first``/``after`` or backward with ``last``/``before``
(not both at once: one page is read from one end). Backward, the page is the ``last``
items before ``before`` (or the end), in the list's own order; ``hasPreviousPage`` says
whether more come before them and ``hasNextPage`` is true when ``before`` was given
(the item it names, at least, follows), as the Relay specification allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry import relay

from gateway.domain.errors import InvalidArgument, InvalidCursor
from gateway.stores.cursors import NamePosition, TimePosition
from gateway.stores.interface import NameCursor

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from gateway.config import Settings
    from gateway.domain.model import StoreName
    from gateway.stores.interface import TimeCursor

# Any strawberry type: strawberry builds connections over types that are not relay Nodes
# (notifications), though its stubs bound a Connection's node type by ``relay.Node``; the
# ignores below say that bound is stricter than the library.
N = TypeVar("N")

FIRST = Annotated[
    int | None,
    strawberry.argument(description="How many, at most (default and maximum set by the gateway)."),
]
AFTER = Annotated[
    str | None,
    strawberry.argument(description="Start after this cursor (an edge's, or pageInfo.endCursor)."),
]
COUNTED = (
    "How many there are in all that you can see, on every page (one indexed count, "
    "batched across the page's parents)."
)
LAST = Annotated[
    int | None,
    strawberry.argument(description="How many, at most, from the end (paging backward)."),
]
BEFORE = Annotated[
    str | None,
    strawberry.argument(description="End before this cursor (an edge's, or pageInfo.startCursor)."),
]


def page_size(first: int | None, settings: Settings, name: str = "first") -> int:
    """The requested page size (``first``, or ``last`` named by ``name``), checked against
    the configured maximum."""
    if first is None:
        return settings.default_page_size
    if first < 1 or first > settings.max_page_size:
        raise InvalidArgument(f"{name} must be between 1 and {settings.max_page_size}, got {first}")
    return first


@dataclass(frozen=True, slots=True)
class Slice:
    """What a connection's ``first``/``after``/``last``/``before`` ask for."""

    limit: int
    after: str | None = None
    before: str | None = None
    backward: bool = False

    def has_next(self, more: bool) -> bool:
        """``hasNextPage`` for a page whose read found ``more`` beyond its limit."""
        return self.before is not None if self.backward else more

    def has_previous(self, more: bool) -> bool:
        """``hasPreviousPage`` for a page whose read found ``more`` beyond its limit."""
        return more if self.backward else self.after is not None


def slice_of(
    settings: Settings,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Slice:
    """The checked slice a connection's arguments ask for; refuses mixing directions."""
    backward = last is not None or before is not None
    if backward and (first is not None or after is not None):
        raise InvalidArgument("page with first/after or with last/before, not both")
    if backward:
        return Slice(page_size(last, settings, "last"), before=before, backward=True)
    return Slice(page_size(first, settings), after=after)


class _Edge(relay.Edge[Any]):
    """An edge whose cursor is encoded when it is read: a page that selects only its nodes
    (most front ends' first page) encodes none but the page info's two. A subclass of
    strawberry's edge, not a type of its own: the schema shows ``relay.Edge``."""

    def __init__(self, node: Any, cursor_of: Callable[[Any], str]) -> None:
        self.node = node
        self._cursor_of = cursor_of

    @property
    def cursor(self) -> str:  # type: ignore[override]  # read-only here, computed
        return self._cursor_of(self.node)


def connection(
    nodes: Sequence[N],
    has_next: bool,
    cursor_of: Callable[[Any], str],
    *,
    has_previous: bool,
    end_cursor: str | None = None,
    start_cursor: str | None = None,
    cls: type[relay.Connection[Any]] = relay.Connection,
    **extra: Any,
) -> relay.Connection[N]:  # type: ignore[type-var]  # see N
    """A connection (of ``cls``, given ``extra`` fields); ``end_cursor`` and ``start_cursor``
    override the last and first edges' cursors when items were left out after fetching
    (the next page starts after everything looked at, the previous one before it)."""
    edges: list[relay.Edge[Any]] = [_Edge(n, cursor_of) for n in nodes]
    return cls(
        **extra,
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=start_cursor or (edges[0].cursor if edges else None),
            end_cursor=end_cursor or (edges[-1].cursor if edges else None),
        ),
    )


def time_cursors(
    after: str | None, before: str | None, store: StoreName
) -> tuple[TimeCursor | None, TimeCursor | None]:
    """The positions ``after`` and ``before`` inside one store (a forged one is refused)."""
    return tuple(  # type: ignore[return-value]  # two in, two out
        TimePosition.decode(c).for_store(store) if c else None for c in (after, before)
    )


def name_cursor(cursor: str | None, store: StoreName) -> NameCursor | None:
    """A by-name position inside one store's per-parent list (a cursor of another store
    names no position there: it was not issued for this list)."""
    if not cursor:
        return None
    position = NamePosition.decode(cursor)
    if position.store != store:
        raise InvalidCursor(cursor)
    return NameCursor(position.name, position.id)
