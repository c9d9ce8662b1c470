"""Invitations to communities: their mapping, issuing, renewing, looking up and revoking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from adapters._sql import inserted_id, native_ids
from adapters.internal._shared import NATIVE_ROLES, ROLES, STORE, str_or_none
from adapters.internal._tables import (
    communities,
    community_invitations,
    community_memberships,
    profiles,
)
from gateway.domain.model import Invitation
from gateway.stores.interface import TargetMissing, WriteConflict

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from adapters._sql import AnyRow
    from gateway.domain.model import SpaceRole

_inv = community_invitations.c


def invitation(row: AnyRow) -> Invitation:
    """An invitation from a row of ``community_invitations``."""
    return Invitation(
        store=STORE,
        id=str(row.id),
        space_id=str(row.community_id),
        email=row.email,
        role=ROLES[row.member_role],
        sponsor_id=str_or_none(row.invited_by_profile_id),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        accepted_at=row.accepted_at,
    )


async def invite(
    conn: AsyncConnection,
    space_id: str,
    community: int,
    email: str,
    role: SpaceRole,
    sponsor: int,
    *,
    expires_at: datetime | None,
    now: datetime,
) -> Invitation:
    """A new invitation, or the pending one for this (lower-cased) email renewed."""
    exists = select(communities.c.id).where(communities.c.id == community)
    if await conn.scalar(exists) is None:
        raise TargetMissing(space_id)
    member = await conn.scalar(
        select(community_memberships.c.profile_id)
        .select_from(
            community_memberships.join(
                profiles, profiles.c.id == community_memberships.c.profile_id
            )
        )
        .where(community_memberships.c.community_id == community, profiles.c.email == email)
    )
    if member is not None:
        raise WriteConflict(f"{email} is already a member of this space")
    pending = await conn.scalar(
        select(_inv.id)
        .where(
            _inv.community_id == community,
            _inv.email == email,
            _inv.revoked_at.is_(None),
            _inv.accepted_at.is_(None),
            or_(_inv.expires_at.is_(None), _inv.expires_at > now),
        )
        .with_for_update()
    )
    values = {
        "member_role": NATIVE_ROLES[role],
        "invited_by_profile_id": sponsor,
        "expires_at": expires_at,
    }
    if pending is None:
        result = await conn.execute(
            community_invitations.insert().values(
                community_id=community, email=email, created_at=now, **values
            )
        )
        invitation_id = inserted_id(result)
    else:
        invitation_id = pending
        await conn.execute(
            community_invitations.update().where(_inv.id == pending).values(**values)
        )
    row = (await conn.execute(select(community_invitations).where(_inv.id == invitation_id))).one()
    return invitation(row)


def by_ids(ids: Sequence[str]) -> Select[Any] | None:
    """Invitations among ``ids``; None when no id is valid."""
    native = native_ids(ids)
    if not native:
        return None
    return select(community_invitations).where(_inv.id.in_(native))


def for_spaces(space_ids: Sequence[str]) -> Select[Any] | None:
    """Every invitation of these communities, per community, newest first; None when no
    id is valid."""
    native = native_ids(space_ids)
    if not native:
        return None
    return (
        select(community_invitations)
        .where(_inv.community_id.in_(native))
        .order_by(_inv.community_id, _inv.created_at.desc(), _inv.id.desc())
    )


async def revoke(
    conn: AsyncConnection, invitation_id: str, native: int, now: datetime
) -> Invitation:
    """Revoke; an accepted invitation's membership (same role) ends with it."""
    row = (
        await conn.execute(select(community_invitations).where(_inv.id == native).with_for_update())
    ).one_or_none()
    if row is None:
        raise TargetMissing(invitation_id)
    if row.revoked_at is None:
        await conn.execute(
            community_invitations.update().where(_inv.id == native).values(revoked_at=now)
        )
    if row.accepted_profile_id is not None:
        await conn.execute(
            community_memberships.delete().where(
                community_memberships.c.community_id == row.community_id,
                community_memberships.c.profile_id == row.accepted_profile_id,
                community_memberships.c.member_role == row.member_role,
            )
        )
    row = (await conn.execute(select(community_invitations).where(_inv.id == native))).one()
    return invitation(row)
