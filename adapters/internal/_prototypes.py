"""Prototypes and their feedback: columns, mapping, the per-parent pages and lookups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from adapters._ranked import newest_first, top_per_parent
from adapters._sql import native_ids
from adapters.internal._shared import SCOPE, STORE, check_limit, str_or_none
from adapters.internal._tables import communities, prototype_feedback, prototypes
from gateway.domain.model import Feedback, Prototype

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Select

    from adapters._sql import AnyRow
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


def per_space(space_ids: Sequence[str], *, limit: int) -> Select[Any] | None:
    """Prototypes per community, by name then id, ``limit + 1`` each, ranked (see
    adapters._ranked); None when no id is valid."""
    check_limit(limit)
    native = native_ids(space_ids)
    if not native:
        return None
    stmt = select(*_PROTOTYPE_COLUMNS).where(prototypes.c.community_id.in_(native))
    return top_per_parent(
        stmt, prototypes.c.community_id, (prototypes.c.name, prototypes.c.id), limit
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


def feedback_per_prototype(prototype_ids: Sequence[str], *, limit: int) -> Select[Any] | None:
    """Feedback per prototype, newest first, ``limit + 1`` each, ranked (see
    adapters._ranked); None when no id is valid."""
    check_limit(limit)
    native = native_ids(prototype_ids)
    if not native:
        return None
    stmt = (
        select(*_FEEDBACK_COLUMNS)
        .select_from(_feedback_prototype)
        .where(prototype_feedback.c.prototype_id.in_(native))
    )
    return top_per_parent(
        stmt,
        prototype_feedback.c.prototype_id,
        newest_first(prototype_feedback.c.created_at, prototype_feedback.c.id),
        limit,
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
