"""Compiled scopes: which spaces of one store a principal may act on.

A scope is what the policy compiler hands to a store adapter. It is small (it
grows with the principal's grants, never with the number of spaces) and it
turns into one SQL predicate over a space's visibility and slug columns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, not_, or_, true

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from gateway.domain.model import Space, StoreName, Visibility


@dataclass(frozen=True, slots=True)
class Grants:
    """A set of spaces named by patterns: everything, whole visibility classes, single spaces."""

    everything: bool = False
    visibilities: frozenset[Visibility] = frozenset()
    spaces: frozenset[tuple[Visibility, str]] = frozenset()  # (visibility, slug)

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.visibilities or self.spaces)

    def covers(self, visibility: Visibility, slug: str) -> bool:
        return (
            self.everything or visibility in self.visibilities or (visibility, slug) in self.spaces
        )

    def predicate(
        self, visibility: ColumnElement[str], slug: ColumnElement[str]
    ) -> ColumnElement[bool]:
        if self.everything:
            return true()
        terms: list[ColumnElement[bool]] = []
        if self.visibilities:
            terms.append(visibility.in_(sorted(v.value for v in self.visibilities)))
        by_visibility: dict[Visibility, list[str]] = defaultdict(list)
        for vis, name in self.spaces:
            if vis not in self.visibilities:
                by_visibility[vis].append(name)
        for vis, names in sorted(by_visibility.items()):
            terms.append(and_(visibility == vis.value, slug.in_(sorted(names))))
        return or_(*terms) if terms else false()


@dataclass(frozen=True, slots=True)
class StoreScope:
    """Spaces of one store that one principal may act on: ``allow`` minus ``deny``."""

    store: StoreName
    allow: Grants = field(default_factory=Grants)
    deny: Grants = field(default_factory=Grants)
    # For reads: the spaces where hidden (moderated) content is shown too, i.e. those the
    # principal may moderate. None: hidden content is shown nowhere.
    reveal: StoreScope | None = None

    @property
    def empty(self) -> bool:
        """True when no space can be in scope; adapters then skip the query entirely."""
        return self.allow.nothing or self.deny.everything

    @property
    def by_class(self) -> bool:
        """True when the allowed spaces are named by class (a whole visibility class, or
        everything but denied ones), so that most spaces of a store may be in scope and
        :meth:`predicate` is more than a plain TRUE: a read then walks its rows rather than
        starting from the spaces (see adapters._base.judged_per_row)."""
        if self.empty:
            return False
        return bool(self.allow.visibilities) or (self.allow.everything and not self.deny.nothing)

    @property
    def by_name(self) -> bool:
        """True when the allowed spaces are named one by one and nothing more: a few of a
        store's spaces, which a read of their rows is best started from (each space's rows
        by its index) rather than walking the store's rows for those of these spaces."""
        return not self.empty and not self.by_class and not self.allow.everything

    def admits(self, space: Space) -> bool:
        """The same decision as :meth:`predicate`, for one space already in memory."""
        return (
            space.store == self.store
            and self.allow.covers(space.visibility, space.slug)
            and not self.deny.covers(space.visibility, space.slug)
        )

    def shown(
        self,
        hidden_at: ColumnElement[Any],
        visibility: ColumnElement[str],
        slug: ColumnElement[str],
    ) -> ColumnElement[bool]:
        """The SQL condition that a row with this ``hidden_at`` is shown: not hidden, or in
        a space whose hidden content this principal may see (moderates)."""
        if self.reveal is None or self.reveal.empty:
            return hidden_at.is_(None)
        return or_(hidden_at.is_(None), self.reveal.predicate(visibility, slug))

    def reveals(self, space: Space) -> bool:
        """Whether hidden content of this space (already in memory) is shown."""
        return self.reveal is not None and self.reveal.admits(space)

    def predicate(
        self, visibility: ColumnElement[str], slug: ColumnElement[str]
    ) -> ColumnElement[bool]:
        """The SQL condition, given the column expressions of a space's visibility and slug."""
        if self.empty:
            return false()
        allowed = self.allow.predicate(visibility, slug)
        if self.deny.nothing:
            return allowed
        return and_(allowed, not_(self.deny.predicate(visibility, slug)))


@dataclass(frozen=True, slots=True)
class Scope:
    """One principal's compiled scope for one action, per store."""

    action: str
    stores: dict[StoreName, StoreScope]

    def for_store(self, store: StoreName) -> StoreScope:
        return self.stores.get(store) or StoreScope(store)

    def admits(self, space: Space) -> bool:
        return self.for_store(space.store).admits(space)
