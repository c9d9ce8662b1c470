"""Lists that span both stores: each store answers its part in SQL, the gateway merges.

A store that fails is left out of the merged list and reported (``failures``),
so the other store's data is still served.

Every list reads between two optional positions (``after``, ``before``) from the start,
or ``backward`` from the end (Relay's ``last``): then the merged page is the ``limit``
items nearest ``before``, still in the list's order, and its ``has_next`` says that more
come before them (see gateway.stores.interface).
"""

from __future__ import annotations

import asyncio
import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from gateway.domain.errors import StoreDown
from gateway.domain.model import Page, Question, Space
from gateway.stores.cursors import STORE_ORDER, NamePosition, TimePosition
from gateway.stores.guard import guarded

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from gateway.domain.model import SpaceKind, StoreName
    from gateway.stores.interface import StoreReads
    from gateway.stores.scope import Scope


T = TypeVar("T")


@dataclass
class Merged(Generic[T]):
    page: Page[T]
    failures: list[StoreDown] = field(default_factory=list)


async def _gather(
    stores: Mapping[StoreName, StoreReads],
    calls: Mapping[StoreName, Callable[[StoreReads], Awaitable[Page[T]]]],
) -> tuple[dict[StoreName, Page[T]], list[StoreDown]]:
    names = [s for s in STORE_ORDER if s in calls and s in stores]
    results = await asyncio.gather(
        *(guarded(name, calls[name](stores[name])) for name in names), return_exceptions=True
    )
    pages: dict[StoreName, Page[T]] = {}
    failures: list[StoreDown] = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, StoreDown):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            pages[name] = result
    if failures and not pages and names:
        raise failures[0]
    return pages, failures


def _window(merged: list[T], limit: int, backward: bool, more: bool) -> Page[T]:
    """The page of a merged list (in the list's order) that a store-by-store read of
    ``limit`` each covers: its first ``limit``, or (``backward``) its last ``limit``."""
    more = more or len(merged) > limit
    return Page(merged[max(len(merged) - limit, 0) :] if backward else merged[:limit], more)


def _newest_first(question: Question) -> tuple[float, int]:
    """The cross-store order (see gateway.stores.cursors): time, newest first, then store; each
    store's own id order is kept by merging its already-sorted page stably."""
    return (-question.created_at.timestamp(), STORE_ORDER.index(question.store))


async def list_questions(
    stores: Mapping[StoreName, StoreReads],
    scope: Scope,
    *,
    space_ids: Mapping[StoreName, Sequence[str]] | None,
    unanswered: bool,
    tag: str | None,
    after: TimePosition | None,
    limit: int,
    featured: bool = False,
    archived: bool = False,
    before: TimePosition | None = None,
    backward: bool = False,
) -> Merged[Question]:
    """Questions newest first across stores (or only in ``space_ids`` per store)."""
    calls = {}
    for name in STORE_ORDER:
        store_scope = scope.for_store(name)
        if store_scope.empty or (space_ids is not None and not space_ids.get(name)):
            continue
        ids = None if space_ids is None else space_ids[name]
        cursor = after.for_store(name) if after else None
        end = before.for_store(name) if before else None

        def call(
            store: StoreReads, s=store_scope, ids=ids, cursor=cursor, end=end
        ) -> Awaitable[Page[Question]]:
            return store.list_questions(
                s,
                space_ids=ids,
                unanswered=unanswered,
                tag=tag,
                after=cursor,
                before=end,
                backward=backward,
                limit=limit,
                featured=featured,
                archived=archived,
            )

        calls[name] = call
    pages, failures = await _gather(stores, calls)
    merged = list(
        heapq.merge(*(pages[n].items for n in STORE_ORDER if n in pages), key=_newest_first)
    )
    more = any(p.has_next for p in pages.values())
    return Merged(_window(merged, limit, backward, more), failures)


async def list_spaces(
    stores: Mapping[StoreName, StoreReads],
    scope: Scope,
    *,
    only: StoreName | None,
    kind: SpaceKind | None,
    after: NamePosition | None,
    limit: int,
    before: NamePosition | None = None,
    backward: bool = False,
) -> Merged[Space]:
    """Spaces by store, then name: stores are read in order (in reverse order ``backward``)
    until the page is full."""
    items: list[Space] = []
    failures: list[StoreDown] = []
    has_next = False
    for name in reversed(STORE_ORDER) if backward else STORE_ORDER:
        if (only is not None and name != only) or name not in stores:
            continue
        store_scope = scope.for_store(name)
        start = after.for_store(name) if after else True
        end = before.before_in(name) if before else True
        if start is False or end is False or store_scope.empty:
            continue
        remaining = limit - len(items)
        try:
            # With the page already full, one row from the next store tells has_next.
            page = await guarded(
                name,
                stores[name].list_spaces(
                    store_scope,
                    kind=kind,
                    after=None if start is True else start,
                    before=None if end is True else end,
                    backward=backward,
                    limit=max(remaining, 1),
                ),
            )
        except StoreDown as exc:
            failures.append(exc)
            continue
        if remaining <= 0:
            has_next = has_next or bool(page.items)
            break
        items = [*page.items, *items] if backward else [*items, *page.items]
        has_next = page.has_next
    if failures and not items and len(failures) == len(stores):
        raise failures[0]
    return Merged(Page(items, has_next), failures)


async def search_questions(
    stores: Mapping[StoreName, StoreReads],
    scope: Scope,
    text: str,
    limit: int,
    after: TimePosition | None = None,
    *,
    before: TimePosition | None = None,
    backward: bool = False,
) -> Merged[Question]:
    """Questions whose title or body contains ``text``, newest first, across stores
    (between ``after`` and ``before``). Each store is asked for one more than a page: then
    more exist exactly when more than a page came back."""
    calls = {}
    for name in STORE_ORDER:
        store_scope = scope.for_store(name)
        if store_scope.empty:
            continue
        cursor = after.for_store(name) if after else None
        end = before.for_store(name) if before else None

        async def call(store: StoreReads, s=store_scope, cursor=cursor, end=end) -> Page[Question]:
            found = await store.search_questions(
                s, text, limit + 1, cursor, before=end, backward=backward
            )
            return Page(found)

        calls[name] = call
    pages, failures = await _gather(stores, calls)
    merged = sorted((q for p in pages.values() for q in p.items), key=_newest_first)
    return Merged(_window(merged, limit, backward, more=False), failures)
