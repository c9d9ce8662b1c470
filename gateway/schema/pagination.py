"""Relay connections built from keyset pages, and page-size checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from strawberry import relay

from gateway.domain.errors import InvalidArgument

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from gateway.config import Settings

# Any strawberry type: strawberry builds connections over types that are not relay Nodes
# (notifications), though its stubs bound a Connection's node type by ``relay.Node``; the
# ignores below say that bound is stricter than the library.
N = TypeVar("N")


def page_size(first: int | None, settings: Settings, name: str = "first") -> int:
    """The requested page size (``first``, or ``last`` named by ``name``), checked against
    the configured maximum."""
    if first is None:
        return settings.default_page_size
    if first < 1 or first > settings.max_page_size:
        raise InvalidArgument(f"{name} must be between 1 and {settings.max_page_size}, got {first}")
    return first


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
    edges = [relay.Edge(cursor=cursor_of(n), node=n) for n in nodes]  # type: ignore[type-var]  # see N
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
