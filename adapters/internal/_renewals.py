"""Extending access: an invitation's expiry, a membership's, and the invitations about to
expire (for the reminder job)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, select

from adapters._base import SqlStore
from adapters._sql import native_id, native_or_missing
from adapters.internal._invitations import invitation
from adapters.internal._tables import community_invitations, community_memberships
from gateway.stores.interface import TargetMissing, WriteConflict

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.domain.model import Invitation

__all__ = ["Renewals"]

_inv = community_invitations.c
_mem = community_memberships.c


class Renewals(SqlStore):
    """The internal store's renewals: one transaction each, re-checking the target."""

    async def extend_invitation(self, invitation_id: str, expires_at: datetime) -> Invitation:
        """Move the expiry; an accepted invitation's membership (same role) moves with it."""
        native = native_or_missing(invitation_id)
        async with self._connect(write=True) as conn:
            row = (
                await conn.execute(
                    select(community_invitations).where(_inv.id == native).with_for_update()
                )
            ).one_or_none()
            if row is None:
                raise TargetMissing(invitation_id)
            if row.revoked_at is not None:
                raise WriteConflict("this invitation was revoked; send a new one instead")
            await conn.execute(
                community_invitations.update()
                .where(_inv.id == native)
                .values(expires_at=expires_at)
            )
            if row.accepted_profile_id is not None:
                await conn.execute(
                    community_memberships.update()
                    .where(
                        _mem.community_id == row.community_id,
                        _mem.profile_id == row.accepted_profile_id,
                        _mem.member_role == row.member_role,
                    )
                    .values(expires_at=expires_at)
                )
            row = (await conn.execute(select(community_invitations).where(_inv.id == native))).one()
            return invitation(row)

    async def extend_membership(self, space_id: str, person_id: str, expires_at: datetime) -> bool:
        """Move the membership's expiry, and that of the accepted invitation that made it."""
        community, profile = native_id(space_id), native_id(person_id)
        if community is None or profile is None:
            return False
        async with self._connect(write=True) as conn:
            held = (
                await conn.execute(
                    select(_mem.member_role)
                    .where(_mem.community_id == community, _mem.profile_id == profile)
                    .with_for_update()
                )
            ).first()
            if held is None:
                return False
            await conn.execute(
                community_memberships.update()
                .where(_mem.community_id == community, _mem.profile_id == profile)
                .values(expires_at=expires_at)
            )
            await conn.execute(
                community_invitations.update()
                .where(
                    _inv.community_id == community,
                    _inv.accepted_profile_id == profile,
                    _inv.member_role == held.member_role,
                    _inv.revoked_at.is_(None),
                )
                .values(expires_at=expires_at)
            )
        return True

    async def invitations_expiring(self, after: datetime, before: datetime) -> list[Invitation]:
        """Unrevoked invitations expiring in ``(after, before]``, soonest first."""
        stmt = (
            select(community_invitations)
            .where(
                _inv.revoked_at.is_(None),
                and_(_inv.expires_at > after, _inv.expires_at <= before),
            )
            .order_by(_inv.expires_at, _inv.id)
        )
        return [invitation(row) for row in await self._all(stmt)]
