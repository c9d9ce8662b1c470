"""The access report's rows: every membership with its sponsor, and pending invitations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from adapters._sql import native_ids
from adapters.internal._shared import ROLES
from adapters.internal._spaces import SPACE_COLUMNS, space
from adapters.internal._tables import (
    communities,
    community_invitations,
    community_memberships,
    profiles,
)
from gateway.domain.model import AccessEntry

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection


async def access_entries(
    conn: AsyncConnection, space_ids: Sequence[str] | None
) -> list[AccessEntry]:
    """Memberships with the sponsor of the invitation that made them, and pending
    invitations, ordered by community then person."""
    m, inv = community_memberships.c, community_invitations.c
    sponsor = profiles.alias("sponsor")
    members = select(
        *SPACE_COLUMNS,
        profiles.c.id.label("profile_id"),
        profiles.c.email,
        profiles.c.full_name,
        m.member_role,
        m.expires_at,
    ).select_from(
        community_memberships.join(profiles, profiles.c.id == m.profile_id).join(
            communities, communities.c.id == m.community_id
        )
    )
    accepted = (
        select(inv.community_id, inv.accepted_profile_id, sponsor.c.email)
        .select_from(community_invitations.join(sponsor, sponsor.c.id == inv.invited_by_profile_id))
        .where(inv.accepted_profile_id.is_not(None))
        .order_by(inv.accepted_at)
    )
    pending = (
        select(
            *SPACE_COLUMNS,
            inv.email,
            inv.member_role,
            inv.expires_at,
            sponsor.c.email.label("sponsor_email"),
        )
        .select_from(
            community_invitations.join(communities, communities.c.id == inv.community_id).outerjoin(
                sponsor, sponsor.c.id == inv.invited_by_profile_id
            )
        )
        .where(inv.revoked_at.is_(None), inv.accepted_at.is_(None))
    )
    if space_ids is not None:
        native = native_ids(space_ids)
        members = members.where(m.community_id.in_(native))
        accepted = accepted.where(inv.community_id.in_(native))
        pending = pending.where(inv.community_id.in_(native))
    sponsors: dict[tuple[int, int], str] = {}
    for community_id, profile_id, email in await conn.execute(accepted):
        sponsors[(community_id, profile_id)] = email  # the latest acceptance wins
    entries = [
        AccessEntry(
            space=space(row),
            email=row.email,
            display_name=row.full_name,
            role=ROLES[row.member_role],
            expires_at=row.expires_at,
            sponsor_email=sponsors.get((row.id, row.profile_id)),
        )
        for row in await conn.execute(members)
    ]
    entries += [
        AccessEntry(
            space=space(row),
            email=row.email,
            display_name=row.email,
            role=ROLES[row.member_role],
            expires_at=row.expires_at,
            sponsor_email=row.sponsor_email,
            invited=True,
        )
        for row in await conn.execute(pending)
    ]
    return sorted(entries, key=lambda e: (e.space.name, e.space.id, e.email or "", e.invited))
