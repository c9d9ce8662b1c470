"""Communities as spaces: their columns and mapping, the space lists, counts and creation."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, or_, select

from adapters._joined import LISTINGS, joined
from adapters._keyset import limited
from adapters._sql import inserted_id, name_bounds, native_ids
from adapters.internal._demo import ACCESS, COMMUNITY_TYPES
from adapters.internal._shared import SCOPE, STORE, check_limit
from adapters.internal._tables import communities, community_memberships
from gateway.domain.model import VISIBILITY_OF, Space, SpaceKind, Visibility
from gateway.stores.interface import NotSupported

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import BindParameter, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from adapters._sql import AnyRow
    from gateway.stores.interface import NameCursor
    from gateway.stores.scope import StoreScope

KINDS = {native: kind for kind, native in COMMUNITY_TYPES.items()}

SPACE_COLUMNS = (
    communities.c.id,
    communities.c.slug,
    communities.c.title,
    communities.c.description,
    communities.c.community_type,
    communities.c.access,
    communities.c.tags,
    communities.c.archive_exempt,
)


# A question's space, joined into the read that finds it (adapters.internal._questions).
ASKED_IN = "asked_in_"
JOINED_SPACE_COLUMNS = tuple(c.label(ASKED_IN + c.name) for c in SPACE_COLUMNS)


def joined_space(row: AnyRow) -> Space | None:
    """The space of a row with :data:`JOINED_SPACE_COLUMNS` (None without them)."""
    found = joined(row, ASKED_IN, "id")
    return None if found is None else space(found)


def space(row: AnyRow) -> Space:
    """A space from a row with :data:`SPACE_COLUMNS`."""
    return Space(
        store=STORE,
        id=str(row.id),
        slug=row.slug,
        kind=KINDS[row.community_type],
        name=row.title,
        description=row.description,
        visibility=VISIBILITY_OF[row.access],
        tags=tuple(tag for tag in row.tags.split(",") if tag),
        archive_exempt=bool(row._mapping.get("archive_exempt")),
    )


def listing(
    scope: StoreScope,
    *,
    kind: SpaceKind | None,
    after: NameCursor | None,
    before: NameCursor | None = None,
    backward: bool = False,
    limit: int,
) -> Select[Any] | None:
    """Communities in scope between the cursors, ordered by title then id (``limit + 1``
    of them: the last ones, ``backward``); None when the scope admits none."""
    check_limit(limit)
    # A forged cursor is an error whatever the scope, so it is checked first.
    within = name_bounds(after, before, communities.c.title, communities.c.id)
    if scope.empty:
        return None
    stmt = select(*SPACE_COLUMNS).where(SCOPE.in_scope(scope), within)
    if kind is not None:
        stmt = stmt.where(communities.c.community_type == COMMUNITY_TYPES[kind])
    key = (communities.c.title, communities.c.id)
    return limited(stmt, key, descending=False, rows=limit + 1, backward=backward)


@lru_cache(maxsize=LISTINGS)
def by_ids(scope: StoreScope) -> Select[Any] | None:
    """Communities in scope among the ids bound as ``ids``; None when the scope admits
    none. Built once per scope: building and keying it took most of what running it does."""
    if scope.empty:
        return None
    ids: BindParameter[int] = bindparam("ids", expanding=True)
    return select(*SPACE_COLUMNS).where(communities.c.id.in_(ids), SCOPE.in_scope(scope))


def member_counts(space_ids: Sequence[str], now: datetime) -> Select[Any] | None:
    """``(community id, unexpired memberships)`` per community; None when no id is valid."""
    native = native_ids(space_ids)
    if not native:
        return None
    expires_at = community_memberships.c.expires_at
    return (
        select(community_memberships.c.community_id, func.count())
        .where(
            community_memberships.c.community_id.in_(native),
            or_(expires_at.is_(None), expires_at > now),
        )
        .group_by(community_memberships.c.community_id)
    )


def check_visibility(visibility: Visibility) -> None:
    """Refuse a visibility class the corporate network has no communities of."""
    if visibility not in ACCESS:
        known = ", ".join(v.value for v in ACCESS)
        raise NotSupported(f"internal spaces are {known}, not {visibility.value}")


async def create(
    conn: AsyncConnection,
    *,
    slug: str,
    name: str,
    description: str,
    kind: SpaceKind,
    visibility: Visibility,
    owner: int,
    now: datetime,
) -> int:
    """Insert a community with ``owner`` as its leader; its id. A taken slug raises
    IntegrityError."""
    result = await conn.execute(
        communities.insert().values(
            slug=slug,
            title=name,
            description=description,
            community_type=COMMUNITY_TYPES[kind],
            access=ACCESS[visibility],
            tags="",
            created_at=now,
        )
    )
    community = inserted_id(result)
    await conn.execute(
        community_memberships.insert().values(
            community_id=community, profile_id=owner, member_role="leader"
        )
    )
    return community
