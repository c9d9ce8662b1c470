"""Lists that span both stores: each store answers its part in SQL, the gateway merges.

A store that fails is left out of the merged list and reported (``failures``),
so the other store's data is still served.
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
) -> Merged[Question]:
    """Questions newest first across stores (or only in ``space_ids`` per store)."""
    calls = {}
    for name in STORE_ORDER:
        store_scope = scope.for_store(name)
        if store_scope.empty or (space_ids is not None and not space_ids.get(name)):
            continue
        ids = None if space_ids is None else space_ids[name]
        cursor = after.for_store(name) if after else None

        def call(
            store: StoreReads, s=store_scope, ids=ids, cursor=cursor
        ) -> Awaitable[Page[Question]]:
            return store.list_questions(
                s,
                space_ids=ids,
                unanswered=unanswered,
                tag=tag,
                after=cursor,
                limit=limit,
                featured=featured,
                archived=archived,
            )

        calls[name] = call
    pages, failures = await _gather(stores, calls)
    merged = list(
        heapq.merge(*(pages[n].items for n in STORE_ORDER if n in pages), key=_newest_first)
    )
    has_next = len(merged) > limit or any(p.has_next for p in pages.values())
    return Merged(Page(merged[:limit], has_next), failures)


async def list_spaces(
    stores: Mapping[StoreName, StoreReads],
    scope: Scope,
    *,
    only: StoreName | None,
    kind: SpaceKind | None,
    after: NamePosition | None,
    limit: int,
) -> Merged[Space]:
    """Spaces by store, then name: stores are read in order until the page is full."""
    items: list[Space] = []
    failures: list[StoreDown] = []
    has_next = False
    for name in STORE_ORDER:
        if (only is not None and name != only) or name not in stores:
            continue
        store_scope = scope.for_store(name)
        position = after.for_store(name) if after else True
        if position is False or store_scope.empty:
            continue
        remaining = limit - len(items)
        cursor = None if position is True else position
        try:
            # With the page already full, one row from the next store tells has_next.
            page = await guarded(
                name,
                stores[name].list_spaces(
                    store_scope, kind=kind, after=cursor, limit=max(remaining, 1)
                ),
            )
        except StoreDown as exc:
            failures.append(exc)
            continue
        if remaining <= 0:
            has_next = has_next or bool(page.items)
            break
        items.extend(page.items)
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
) -> Merged[Question]:
    """Questions whose title or body contains ``text``, newest first, across stores (after
    ``after``). Each store is asked for one more than a page: then more exist exactly when
    more than a page came back."""
    calls = {}
    for name in STORE_ORDER:
        store_scope = scope.for_store(name)
        if store_scope.empty:
            continue
        cursor = after.for_store(name) if after else None

        async def call(store: StoreReads, s=store_scope, cursor=cursor) -> Page[Question]:
            return Page(await store.search_questions(s, text, limit + 1, cursor))

        calls[name] = call
    pages, failures = await _gather(stores, calls)
    merged = sorted((q for p in pages.values() for q in p.items), key=_newest_first)
    return Merged(Page(merged[:limit], len(merged) > limit), failures)
