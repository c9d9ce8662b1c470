"""The store interface's methods for what the forum does not have.

The forum has no prototypes (so no feedback either) and keeps no invitations the gateway
issued: :class:`Absent` answers those methods for :class:`~adapters.community.CommunityStore`
without running a statement, so the store's own class is only what the forum has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.domain.model import Page
from gateway.stores.interface import NotSupported, TargetMissing

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from gateway.domain.model import Author, Feedback, Invitation, Prototype, SpaceRole
    from gateway.stores.interface import NameCursor, TimeCursor
    from gateway.stores.scope import StoreScope

__all__ = ["Absent"]


class Absent:
    """Empty answers and refusals for prototypes, feedback and gateway invitations."""

    # --- prototypes and feedback -----------------------------------------
    # The forum has no prototypes: every answer is empty, and no statement runs.
    async def prototypes_for_spaces(
        self,
        space_ids: Sequence[str],
        *,
        limit: int,
        after: NameCursor | None = None,
        before: NameCursor | None = None,
        backward: bool = False,
    ) -> dict[str, Page[Prototype]]:
        """An empty page per space: the community store has no prototypes."""
        return {space_id: Page() for space_id in space_ids}

    async def prototypes_by_ids(
        self, ids: Sequence[str], scope: StoreScope
    ) -> dict[str, Prototype]:
        """Nothing: the community store has no prototypes."""
        return {}

    async def feedback_for_prototypes(
        self,
        prototype_ids: Sequence[str],
        *,
        limit: int,
        after: TimeCursor | None = None,
        before: TimeCursor | None = None,
        backward: bool = False,
    ) -> dict[str, Page[Feedback]]:
        """An empty page per prototype: the community store has no feedback."""
        return {prototype_id: Page() for prototype_id in prototype_ids}

    async def prototype_counts(self, space_ids: Sequence[str]) -> dict[str, int]:
        """Nothing: the community store has no prototypes."""
        return {}

    async def feedback_counts(self, prototype_ids: Sequence[str]) -> dict[str, int]:
        """Nothing: the community store has no feedback."""
        return {}

    async def feedback_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Feedback]:
        """Nothing: the community store has no feedback."""
        return {}

    async def add_feedback(
        self,
        prototype_id: str,
        author_id: str,
        *,
        rating: int,
        body: str,
        internal_note: str | None,
        now: datetime,
    ) -> Feedback:
        """The forum has no prototypes, so there is nothing to give feedback on."""
        raise TargetMissing(prototype_id)

    # --- invitations ------------------------------------------------------
    # The forum grants access through groups; the gateway's invitations are for the
    # internal store, so nothing here is ever pending or invited.
    async def accept_invitations(self, author: Author, now: datetime) -> int:
        """Nothing to bind: the forum keeps no invitations the gateway issued."""
        return 0

    async def invite(
        self,
        space_id: str,
        email: str,
        role: SpaceRole,
        sponsor_id: str,
        *,
        expires_at: datetime | None,
        now: datetime,
    ) -> Invitation:
        """Refused: community access comes from the forum's groups and trust levels."""
        raise NotSupported(
            "community spaces are joined through the forum's groups and trust levels, "
            "not by invitation"
        )

    async def invitations_by_ids(self, ids: Sequence[str]) -> dict[str, Invitation]:
        """None: the forum keeps no gateway invitations."""
        return {}

    async def invitations_for_spaces(self, space_ids: Sequence[str]) -> dict[str, list[Invitation]]:
        """An empty list per category."""
        return {space_id: [] for space_id in space_ids}

    async def revoke_invitation(self, invitation_id: str, now: datetime) -> Invitation:
        """There is none to revoke."""
        raise TargetMissing(invitation_id)

    async def extend_invitation(self, invitation_id: str, expires_at: datetime) -> Invitation:
        """There is none to extend."""
        raise TargetMissing(invitation_id)

    async def extend_membership(self, space_id: str, person_id: str, expires_at: datetime) -> bool:
        """Refused: the forum's group memberships are managed in the forum."""
        raise NotSupported(
            "community memberships come from the forum's groups; change them in the forum"
        )

    async def invitations_expiring(self, after: datetime, before: datetime) -> list[Invitation]:
        """None: the forum keeps no gateway invitations."""
        return []
