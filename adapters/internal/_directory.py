"""Who holds which community: the memberships and invitations of people, by email."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters._sql import page
from adapters.internal import _memberships
from adapters.internal._authors import AuthorsInScope

if TYPE_CHECKING:
    from collections.abc import Sequence

    from adapters._sql import AnyRow
    from gateway.domain.model import Membership, Page
    from gateway.stores.admin_rows import Holder


def _made(rows: Sequence[AnyRow]) -> tuple[Membership, ...]:
    return tuple(_memberships.membership(row) for row in rows)


class Directory(AuthorsInScope):
    """The internal store's memberships, invitations and (absent) trust levels."""

    async def memberships_for(self, email: str) -> list[Membership]:
        """Every membership of the profile with this email, expired ones included, and its
        unrevoked, unaccepted invitations as pending memberships."""
        email = email.strip().lower()
        if not email:
            return []
        rows = await self._all(_memberships.of_emails(), {"emails": [email]})
        return list(self.memberships_made.made(email, rows, _made))

    async def memberships_of(self, emails: Sequence[str]) -> dict[str, list[Membership]]:
        """:meth:`memberships_for` of many emails (lower-cased) in one statement."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if not wanted:
            return {}
        found: dict[str, list[Membership]] = {}
        for row in await self._all(_memberships.of_emails(), {"emails": wanted}):
            found.setdefault(row.email.lower(), []).append(_memberships.membership(row))
        return found

    async def access_holders(self, *, after: str | None, limit: int) -> Page[Holder]:
        """Profiles with a membership and emails with a pending invitation, once each, by
        email, in one statement."""
        rows = await self._all(_memberships.holders(after, limit))
        return page([_memberships.holder(row) for row in rows], limit)

    async def trust_level(self, email: str) -> int | None:
        """None: the corporate network has no trust levels."""
        return None
