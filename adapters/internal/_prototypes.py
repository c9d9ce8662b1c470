"""Prototypes and their feedback: columns, mapping, the per-parent pages and lookups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from adapters._base import SqlStore
from adapters._keyset import by_name, newest_first
from adapters._ranked import empty_pages, pages_per_parent, top_per_parent
from adapters._sql import name_bounds, native_ids, time_bounds
from adapters.internal._shared import SCOPE, STORE, check_limit, str_or_none
from adapters.internal._tables import communities, prototype_feedback, prototypes
from gateway.domain.model import Feedback, Prototype

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Select

    from adapters._sql import AnyRow
    from gateway.domain.model import Page
    from gateway.stores.interface import NameCursor, TimeCursor
    from gateway.stores.scope import StoreScope

_PROTOTYPE_COLUMNS = (
    prototypes.c.id,
    prototypes.c.community_id,
    prototypes.c.name,
    prototypes.c.version,
    prototypes.c.summary,
)
_FEEDBACK_COLUMNS = (
    prototype_feedback.c.id,
    prototype_feedback.c.prototype_id,
    prototypes.c.community_id,
    prototype_feedback.c.rating,
    prototype_feedback.c.comment,
    prototype_feedback.c.author_profile_id,
    prototype_feedback.c.internal_note,
    prototype_feedback.c.created_at,
)
_feedback_prototype = prototype_feedback.join(
    prototypes, prototypes.c.id == prototype_feedback.c.prototype_id
)


def prototype(row: AnyRow) -> Prototype:
    """A prototype from a row with the prototype columns."""
    return Prototype(
        store=STORE,
        id=str(row.id),
        space_id=str(row.community_id),
        name=row.name,
        version=row.version,
        description=row.summary,
    )


def feedback(row: AnyRow) -> Feedback:
    """Feedback from a row with the feedback columns."""
    return Feedback(
        store=STORE,
        id=str(row.id),
        prototype_id=str(row.prototype_id),
        space_id=str(row.community_id),
        rating=row.rating,
        body=row.comment,
        author_id=str_or_none(row.author_profile_id),
        internal_note=row.internal_note,
        created_at=row.created_at,
    )


def per_space(
    space_ids: Sequence[str],
    *,
    after: NameCursor | None = None,
    before: NameCursor | None = None,
    backward: bool = False,
    limit: int,
) -> Select[Any] | None:
    """Prototypes per community between the cursors, by name then id, ``limit + 1`` each
    (the last ones, ``backward``), ranked (see adapters._ranked); None when no id is valid."""
    check_limit(limit)
    within = name_bounds(after, before, prototypes.c.name, prototypes.c.id)
    native = native_ids(space_ids)
    if not native:
        return None
    stmt = select(*_PROTOTYPE_COLUMNS).where(prototypes.c.community_id.in_(native), within)
    return top_per_parent(
        stmt,
        prototypes.c.community_id,
        by_name(prototypes.c.name, prototypes.c.id, backward=backward),
        limit,
        backward=backward,
    )


def by_ids(ids: Sequence[str], scope: StoreScope) -> Select[Any] | None:
    """Prototypes in communities in scope among ``ids``; None when none can be."""
    native = native_ids(ids)
    if scope.empty or not native:
        return None
    return (
        select(*_PROTOTYPE_COLUMNS)
        .select_from(prototypes.join(communities, communities.c.id == prototypes.c.community_id))
        .where(prototypes.c.id.in_(native), SCOPE.in_scope(scope))
    )


def feedback_per_prototype(
    prototype_ids: Sequence[str],
    *,
    after: TimeCursor | None = None,
    before: TimeCursor | None = None,
    backward: bool = False,
    limit: int,
) -> Select[Any] | None:
    """Feedback per prototype between the cursors, newest first, ``limit + 1`` each (the
    last ones, ``backward``), ranked (see adapters._ranked); None when no id is valid."""
    check_limit(limit)
    key = (prototype_feedback.c.created_at, prototype_feedback.c.id)
    within = time_bounds(after, before, *key)
    native = native_ids(prototype_ids)
    if not native:
        return None
    stmt = (
        select(*_FEEDBACK_COLUMNS)
        .select_from(_feedback_prototype)
        .where(prototype_feedback.c.prototype_id.in_(native), within)
    )
    return top_per_parent(
        stmt,
        prototype_feedback.c.prototype_id,
        newest_first(*key, backward=backward),
        limit,
        backward=backward,
    )


def feedback_by_ids(ids: Sequence[str], scope: StoreScope) -> Select[Any] | None:
    """Feedback on prototypes in communities in scope among ``ids``; None when none can be."""
    native = native_ids(ids)
    if scope.empty or not native:
        return None
    return (
        select(*_FEEDBACK_COLUMNS)
        .select_from(
            _feedback_prototype.join(communities, communities.c.id == prototypes.c.community_id)
        )
        .where(prototype_feedback.c.id.in_(native), SCOPE.in_scope(scope))
    )


def counts(parent: Any, parent_ids: Sequence[str]) -> Select[Any] | None:
    """``(parent id, rows)`` of the prototypes' or feedback's table per parent, by its
    parent's index; None when no id is valid."""
    native = native_ids(parent_ids)
    if not native:
        return None
    return select(parent, func.count()).where(parent.in_(native)).group_by(parent)


class PrototypeReads(SqlStore):
    """The prototype and feedback reads of the internal store's interface."""

    async def prototypes_for_spaces(
        self,
        space_ids: Sequence[str],
        *,
        limit: int,
        after: NameCursor | None = None,
        before: NameCursor | None = None,
        backward: bool = False,
    ) -> dict[str, Page[Prototype]]:
        """Prototypes per community, by name then id, ``limit`` each, in one statement."""
        stmt = per_space(space_ids, after=after, before=before, backward=backward, limit=limit)
        if stmt is None:
            return empty_pages(space_ids)
        return pages_per_parent(space_ids, await self._all(stmt), limit, prototype)

    async def prototypes_by_ids(
        self, ids: Sequence[str], scope: StoreScope
    ) -> dict[str, Prototype]:
        """Prototypes in communities in scope among ``ids``."""
        stmt = by_ids(ids, scope)
        if stmt is None:
            return {}
        return {str(row.id): prototype(row) for row in await self._all(stmt)}

    async def feedback_for_prototypes(
        self,
        prototype_ids: Sequence[str],
        *,
        limit: int,
        after: TimeCursor | None = None,
        before: TimeCursor | None = None,
        backward: bool = False,
    ) -> dict[str, Page[Feedback]]:
        """Feedback per prototype, newest first, ``limit`` each, in one statement."""
        stmt = feedback_per_prototype(
            prototype_ids, after=after, before=before, backward=backward, limit=limit
        )
        if stmt is None:
            return empty_pages(prototype_ids)
        return pages_per_parent(prototype_ids, await self._all(stmt), limit, feedback)

    async def prototype_counts(self, space_ids: Sequence[str]) -> dict[str, int]:
        """Prototypes per community (one indexed count)."""
        stmt = counts(prototypes.c.community_id, space_ids)
        return {} if stmt is None else {str(p): n for p, n in await self._all(stmt)}

    async def feedback_counts(self, prototype_ids: Sequence[str]) -> dict[str, int]:
        """Feedback per prototype (one indexed count)."""
        stmt = counts(prototype_feedback.c.prototype_id, prototype_ids)
        return {} if stmt is None else {str(p): n for p, n in await self._all(stmt)}

    async def feedback_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Feedback]:
        """Feedback on prototypes in communities in scope among ``ids``."""
        stmt = feedback_by_ids(ids, scope)
        if stmt is None:
            return {}
        return {str(row.id): feedback(row) for row in await self._all(stmt)}
