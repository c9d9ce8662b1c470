"""Memberships: who holds or is invited to which community, accepting invitations, leaving."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, literal, or_, select, true, union, union_all

from adapters._sql import native_id
from adapters.internal._shared import ROLES, STORE
from adapters.internal._tables import (
    communities,
    community_invitations,
    community_memberships,
    profiles,
)
from gateway.domain.model import VISIBILITY_OF, Membership, space_key
from gateway.stores.admin_rows import Holder

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import BindParameter, Delete, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from adapters._sql import AnyRow


@cache
def of_emails() -> Select[Any]:
    """Held memberships, then pending invitations, of the profiles with the (lower-cased)
    emails bound as ``emails``, in one statement. Built once: it is on every signed-in
    request's path, and building and keying it took a hundred times what SQLite spends."""
    wanted: BindParameter[str] = bindparam("emails", expanding=True)
    held = (
        select(
            profiles.c.email,
            communities.c.id,
            communities.c.slug,
            communities.c.access,
            community_memberships.c.member_role,
            community_memberships.c.expires_at,
            literal(False).label("pending"),
        )
        .select_from(
            community_memberships.join(
                profiles, profiles.c.id == community_memberships.c.profile_id
            ).join(communities, communities.c.id == community_memberships.c.community_id)
        )
        .where(profiles.c.email.in_(wanted))
    )
    invited = (
        select(
            community_invitations.c.email,
            communities.c.id,
            communities.c.slug,
            communities.c.access,
            community_invitations.c.member_role,
            community_invitations.c.expires_at,
            literal(True).label("pending"),
        )
        .select_from(
            community_invitations.join(
                communities, communities.c.id == community_invitations.c.community_id
            )
        )
        .where(
            community_invitations.c.email.in_(wanted),
            community_invitations.c.revoked_at.is_(None),
            community_invitations.c.accepted_at.is_(None),
        )
    )
    both = union_all(held, invited).subquery()
    return select(both).order_by(both.c.pending, both.c.id)


def holders(after: str | None, limit: int) -> Select[Any]:
    """One page (``limit + 1`` rows) of the emails holding a membership or a pending
    invitation, each once, with their profile when there is one, by email."""
    inv = community_invitations.c
    held = select(profiles.c.email).join(
        community_memberships, community_memberships.c.profile_id == profiles.c.id
    )
    invited = select(inv.email).where(inv.revoked_at.is_(None), inv.accepted_at.is_(None))
    emails = union(held, invited).subquery()  # UNION: each email once
    return (
        select(
            emails.c.email,
            profiles.c.id,
            profiles.c.full_name,
            profiles.c.is_external,
            profiles.c.company,
        )
        .select_from(emails.outerjoin(profiles, profiles.c.email == emails.c.email))
        .where(true() if after is None else emails.c.email > after)
        .order_by(emails.c.email)
        .limit(max(limit, 0) + 1)
    )


def holder(row: AnyRow) -> Holder:
    """A row of :func:`holders`: an invitee without a profile is named by their email."""
    if row.id is None:
        return Holder(email=row.email, display_name=row.email, profile=False)
    return Holder(
        email=row.email,
        display_name=row.full_name,
        external=bool(row.is_external),
        organisation=row.company,
    )


def membership(row: AnyRow) -> Membership:
    """A membership (pending for an invitation) from a row of :func:`of_emails`."""
    return Membership(
        store=STORE,
        space_id=str(row.id),
        space_key=space_key(STORE, VISIBILITY_OF[row.access], row.slug),
        role=ROLES[row.member_role],
        expires_at=row.expires_at,
        pending=bool(row.pending),
    )


async def accept_invitations(conn: AsyncConnection, email: str, profile: int, now: datetime) -> int:
    """Turn the email's valid invitations into memberships of ``profile`` (an existing
    membership of the same community is kept as it is); how many there were."""
    inv = community_invitations.c
    rows = (
        await conn.execute(
            select(inv.id, inv.community_id, inv.member_role, inv.expires_at)
            .where(
                inv.email == email,
                inv.revoked_at.is_(None),
                inv.accepted_at.is_(None),
                or_(inv.expires_at.is_(None), inv.expires_at > now),
            )
            .order_by(inv.id)
            .with_for_update()
        )
    ).all()
    for row in rows:
        exists = await conn.scalar(
            select(community_memberships.c.profile_id).where(
                community_memberships.c.community_id == row.community_id,
                community_memberships.c.profile_id == profile,
            )
        )
        if exists is None:
            await conn.execute(
                community_memberships.insert().values(
                    community_id=row.community_id,
                    profile_id=profile,
                    member_role=row.member_role,
                    expires_at=row.expires_at,
                )
            )
        await conn.execute(
            community_invitations.update()
            .where(inv.id == row.id)
            .values(accepted_at=now, accepted_profile_id=profile)
        )
    return len(rows)


def removal(space_id: str, person_id: str) -> Delete | None:
    """Delete the membership row; None when either id is invalid."""
    community, profile = native_id(space_id), native_id(person_id)
    if community is None or profile is None:
        return None
    return community_memberships.delete().where(
        community_memberships.c.community_id == community,
        community_memberships.c.profile_id == profile,
    )
