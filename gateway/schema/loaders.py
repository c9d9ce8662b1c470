"""DataLoaders: every lookup a page needs is one batched statement per store.

Keys carry their store: ``(StoreName, native_id)``. A store that fails turns
into a :class:`StoreDown` for its own keys only; the other store's keys resolve.

Every loader is a :class:`Loader`: each caller awaits its own view of a key's result,
so one caller being cancelled never cancels the result for the others.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from gateway.domain.errors import StoreDown
from gateway.domain.model import Page, Person, StoreName
from gateway.stores.guard import guarded

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence
    from datetime import datetime

    from gateway.domain.model import Answer, Feedback, Invitation, Prototype, Question, Space
    from gateway.policies.compiler import Authorizer
    from gateway.stores.interface import NameCursor, Store, StoreReads, TimeCursor
    from gateway.stores.scope import Scope, StoreScope

K = TypeVar("K", bound=tuple)
V = TypeVar("V")
Ref = tuple[StoreName, str]


def _grouped(
    stores: Mapping[StoreName, Store],
    fetch: Callable[[Store, tuple[Any, ...], list[str]], Awaitable[Mapping[str, V]]],
    *,
    missing: Callable[[], V],
) -> Callable[[list[Any]], Awaitable[list[V | BaseException]]]:
    """A batch function: keys ``(store, id, *args)``, one call per ``(store, *args)``.

    ``fetch(store, args, ids)`` makes the call; ``missing()`` answers for an id it left out.
    """

    async def load(keys: list[Any]) -> list[V | BaseException]:
        groups: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for key in keys:
            store, native_id, *args = key
            group = groups[(store, *args)]
            if native_id not in group:
                group.append(native_id)
        names = list(groups)
        results = await asyncio.gather(
            *(guarded(g[0], fetch(stores[g[0]], tuple(g[1:]), ids)) for g, ids in groups.items()),
            return_exceptions=True,
        )
        found: dict[tuple[Any, ...], Mapping[str, V] | BaseException] = dict(
            zip(names, results, strict=True)
        )
        out: list[V | BaseException] = []
        for key in keys:
            store, native_id, *args = key
            result = found[(store, *args)]
            if isinstance(result, BaseException):
                out.append(result)
            else:
                value = result.get(native_id)
                out.append(missing() if value is None else value)
        return out

    return load


class Loader(DataLoader[K, V]):
    """A :class:`DataLoader` whose callers cannot cancel each other's result.

    strawberry's ``load`` hands every caller of a key the same cached future. When
    graphql-core cancels a field's task (a sibling failed in a non-null field, so the
    parent's other fields are abandoned), asyncio cancels the future that task awaits:
    the shared one. Every other field waiting on that key, anywhere in the query, then
    gets ``CancelledError`` instead of its data, and the request answers 500. Shielding
    gives each caller a future of its own: a cancelled caller drops only its view, the
    batch still runs, and the other callers get the value. (Upstream, strawberry's
    ``DataLoader.load`` could do the same; issue strawberry#3606 is about the reverse
    direction: cancelling every caller should cancel the batch.)
    """

    def load(self, key: K) -> Awaitable[V]:
        return asyncio.shield(super().load(key))

    def load_all(self, keys: Sequence[K]) -> Awaitable[list[V | BaseException]]:
        """Every key's value, or the exception its batch failed with, behind one shield
        for the lot (a page's forty lookups need not make forty)."""
        loads = [DataLoader.load(self, key) for key in keys]
        return asyncio.shield(asyncio.gather(*loads, return_exceptions=True))


class Loaders:
    """One set per request: caches live exactly as long as the principal's scope."""

    def __init__(
        self, stores: Mapping[StoreName, Store], authorizer: Authorizer, now: datetime
    ) -> None:
        self.stores = stores
        scope = authorizer.read_scope()

        def scoped(
            lookup: Callable[[StoreReads, list[str], StoreScope], Awaitable[Mapping[str, V]]],
        ) -> Callable[[list[Any]], Awaitable[list[V | BaseException | None]]]:
            """A batch function for a lookup by ids within the principal's scope; a store
            outside it is not called."""

            def fetch(
                store: Store, _args: tuple[Any, ...], ids: list[str]
            ) -> Awaitable[Mapping[str, V | None]]:
                store_scope = scope.for_store(store.name)
                if store_scope.empty:
                    return _nothing()
                return lookup(store, ids, store_scope)

            return _grouped(stores, fetch, missing=lambda: None)

        self.space: Loader[Ref, Space | None] = Loader(
            scoped(lambda s, ids, within: s.spaces_by_ids(ids, within))
        )
        self.question: Loader[Ref, Question | None] = Loader(
            scoped(lambda s, ids, within: s.questions_by_ids(ids, within))
        )
        self.answer: Loader[Ref, Answer | None] = Loader(
            scoped(lambda s, ids, within: s.answers_by_ids(ids, within))
        )
        self.prototype: Loader[Ref, Prototype | None] = Loader(
            scoped(lambda s, ids, within: s.prototypes_by_ids(ids, within))
        )
        self.feedback: Loader[Ref, Feedback | None] = Loader(
            scoped(lambda s, ids, within: s.feedback_by_ids(ids, within))
        )
        # Key (store, question id, reveal hidden answers).
        self.answer_count: Loader[tuple[StoreName, str, bool], int] = Loader(
            _grouped(
                stores,
                lambda s, a, ids: s.answer_counts(ids, reveal_hidden=a[0]),
                missing=lambda: 0,
            )
        )
        self.prototype_count: Loader[Ref, int] = Loader(
            _grouped(stores, lambda s, _a, ids: s.prototype_counts(ids), missing=lambda: 0)
        )
        self.feedback_count: Loader[Ref, int] = Loader(
            _grouped(stores, lambda s, _a, ids: s.feedback_counts(ids), missing=lambda: 0)
        )
        self.member_count: Loader[Ref, int] = Loader(
            _grouped(stores, lambda s, _a, ids: s.member_counts(ids, now), missing=lambda: 0)
        )
        # Connections nested under a parent: key (store, parent id, limit, after cursor, ...,
        # reveal hidden content: the caller moderates the parent's space, before cursor,
        # backward: read from the end).
        self.answers: Loader[
            tuple[StoreName, str, int, TimeCursor | None, bool, TimeCursor | None, bool],
            Page[Answer],
        ] = Loader(
            _grouped(
                stores,
                lambda s, a, ids: s.answers_for_questions(
                    ids, limit=a[0], after=a[1], reveal_hidden=a[2], before=a[3], backward=a[4]
                ),
                missing=Page,
            )
        )
        self.space_questions: Loader[
            tuple[
                StoreName,
                str,
                int,
                TimeCursor | None,
                bool,
                str | None,
                bool,
                bool,
                bool,
                TimeCursor | None,
                bool,
            ],
            Page[Question],
        ] = Loader(
            _grouped(
                stores,
                lambda s, a, ids: s.questions_for_spaces(
                    ids,
                    limit=a[0],
                    after=a[1],
                    unanswered=a[2],
                    tag=a[3],
                    featured=a[4],
                    reveal_hidden=a[5],
                    archived=a[6],
                    before=a[7],
                    backward=a[8],
                ),
                missing=Page,
            )
        )
        # Key (store, parent id, limit, after cursor, before cursor, backward).
        self.prototypes: Loader[
            tuple[StoreName, str, int, NameCursor | None, NameCursor | None, bool],
            Page[Prototype],
        ] = Loader(
            _grouped(
                stores,
                lambda s, a, ids: s.prototypes_for_spaces(
                    ids, limit=a[0], after=a[1], before=a[2], backward=a[3]
                ),
                missing=Page,
            )
        )
        self.feedback_page: Loader[
            tuple[StoreName, str, int, TimeCursor | None, TimeCursor | None, bool],
            Page[Feedback],
        ] = Loader(
            _grouped(
                stores,
                lambda s, a, ids: s.feedback_for_prototypes(
                    ids, limit=a[0], after=a[1], before=a[2], backward=a[3]
                ),
                missing=Page,
            )
        )
        self.invitations: Loader[Ref, list[Invitation]] = Loader(
            _grouped(stores, lambda s, _a, ids: s.invitations_for_spaces(ids), missing=list)
        )
        # Unscoped, like invitations per space: the caller checks the space's manage_members.
        self.invitation: Loader[Ref, Invitation | None] = Loader(
            _grouped(stores, lambda s, _a, ids: s.invitations_by_ids(ids), missing=lambda: None)
        )
        self.person: Loader[Ref, Person | None] = Loader(self._load_people)
        # Key (store, "id" or "email", value): whether it names an author of content in the
        # principal's scope there; one statement per store for the whole batch.
        self.authored: Loader[tuple[StoreName, str, str], bool] = Loader(
            lambda keys: self._load_authored(scope, keys)
        )

    async def _load_authored(
        self, scope: Scope, keys: Sequence[tuple[StoreName, str, str]]
    ) -> list[bool | BaseException]:
        wanted: dict[StoreName, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for store, kind, value in keys:
            wanted[store][0 if kind == "id" else 1].append(value)
        names = list(wanted)
        results = await asyncio.gather(
            *(
                guarded(n, self.stores[n].authors_in_scope(*wanted[n], scope.for_store(n)))
                for n in names
            ),
            return_exceptions=True,
        )
        found = dict(zip(names, results, strict=True))
        out: list[bool | BaseException] = []
        for store, kind, value in keys:
            result = found[store]
            if isinstance(result, BaseException):
                out.append(result)
            else:
                out.append((value.lower() if kind == "email" else value) in result)
        return out

    async def people_joined(self, people: Mapping[Ref, Person]) -> Mapping[Ref, Person]:
        """People a read joined in, each from its own store (a question's author), linked
        as :meth:`_load_people` links them and kept in :attr:`person` for the rest of the
        request: a page's authors then cost only the linking statement."""
        found: dict[Ref, Person | BaseException] = dict(people)
        await self._link(found, [])
        linked = {ref: p for ref, p in found.items() if isinstance(p, Person)}
        for ref, person in linked.items():
            self.person.prime(ref, person)
        return linked

    async def _link(self, found: dict[Ref, Person | BaseException], own: list[str]) -> None:
        """Ask the internal store once for its profiles ``own`` and for those the verified
        emails of ``found``'s other profiles link to, and put them in ``found``."""
        emails = sorted(
            {
                p.email.lower()
                for p in found.values()
                if isinstance(p, Person) and p.store is StoreName.COMMUNITY and p.email
            }
        )
        internal: dict[str, Person] = {}
        if (own or emails) and StoreName.INTERNAL in self.stores:
            try:
                profiles, internal = await guarded(
                    StoreName.INTERNAL,
                    self.stores[StoreName.INTERNAL].people_by_ids_and_emails(own, emails),
                )
            except StoreDown as exc:
                # The internal keys fail; a community profile still answers on its own.
                found.update({(StoreName.INTERNAL, i): exc for i in own})
            else:
                found.update({(StoreName.INTERNAL, i): p for i, p in profiles.items()})
        for ref, person in list(found.items()):
            if isinstance(person, Person) and person.store is StoreName.COMMUNITY:
                linked = internal.get((person.email or "").lower())
                if linked is not None:
                    found[ref] = linked

    async def _load_people(self, keys: Sequence[Ref]) -> list[Person | BaseException | None]:
        """Profiles, with a community account linked to its internal profile by verified email:
        one person across stores, one global id (the internal one).

        The other stores' profiles come first; the internal store is then asked once, for
        its own profiles and for those the others' verified emails link to (one statement).
        """
        by_store: dict[StoreName, list[str]] = defaultdict(list)
        for store, native_id in keys:
            by_store[store].append(native_id)
        found: dict[Ref, Person | BaseException] = {}
        own = by_store.pop(StoreName.INTERNAL, [])
        for store, ids in by_store.items():
            try:
                people = await guarded(store, self.stores[store].people_by_ids(ids))
            except StoreDown as exc:
                found.update({(store, i): exc for i in ids})
                continue
            found.update({(store, i): p for i, p in people.items()})
        await self._link(found, own)
        return [found.get(key) for key in keys]


async def _nothing() -> dict[str, Any]:
    return {}
