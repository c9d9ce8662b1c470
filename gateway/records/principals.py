"""Known principals: everyone who has made an authenticated request, as their last token
described them (roles, organisation), so that a mention reaches only those who may read
the space, and reports can name the population."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.domain.principal import Principal
from gateway.records.base import RecordsPart
from gateway.records.tables import principals
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

# How often a principal's last_seen is written at most (roles are written when they change).
SEEN_EVERY = timedelta(minutes=10)


class KnownPrincipals(RecordsPart):
    """The principals' part of ``Records``: who was seen with which roles."""

    _seen: dict[str, tuple[tuple[str, ...], datetime]]  # set up by Records.__init__

    async def saw(
        self,
        *,
        principal_id: str,
        issuer: str | None,
        email: str | None,
        display_name: str,
        roles: Sequence[str],
        organisation: str | None,
        now: datetime,
    ) -> None:
        """Remember an authenticated principal and the roles its token carried."""
        roles_key = tuple(sorted(roles))
        known = self._seen.get(principal_id)
        if known is not None and known[0] == roles_key and now - known[1] < SEEN_EVERY:
            return
        if not self._ready:
            await self.create_schema()
        values = {
            "issuer": issuer,
            "email": email,
            "display_name": display_name[:200],
            "roles": json.dumps(list(roles_key)),
            "organisation": organisation,
            "last_seen": now,
        }
        async with write_transaction(self.engine) as conn:
            updated = await conn.execute(
                update(principals).where(principals.c.id == principal_id).values(**values)
            )
            if updated.rowcount == 0:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            insert(principals).values(id=principal_id, first_seen=now, **values)
                        )
                except IntegrityError:  # another replica recorded it first: fine
                    pass
        self._seen[principal_id] = (roles_key, now)

    async def remember(self, principal: Principal, now: datetime) -> None:
        """:meth:`saw` for a principal as its request brought it."""
        await self.saw(
            principal_id=principal.id,
            issuer=principal.issuer,
            email=principal.verified_email,
            display_name=principal.display_name,
            roles=sorted(principal.roles),
            organisation=principal.organisation,
            now=now,
        )

    async def roles_of(self, principal_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        """The roles each principal's last token carried (absent: never seen)."""
        if not principal_ids:
            return {}
        stmt = select(principals.c.id, principals.c.roles).where(
            principals.c.id.in_(sorted(set(principal_ids)))
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(stmt)
            return {pid: frozenset(json.loads(roles)) for pid, roles in rows}

    async def known_principals(self) -> list[Principal]:
        """Everyone who has made an authenticated request, as their last token described
        them (roles, organisation; no memberships), in id order. For reports such as
        ``gateway policy impact``: never on a request path."""
        stmt = select(principals).order_by(principals.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_principal(row) for row in rows]

    async def known_principal(self, principal_id: str) -> Principal | None:
        """One principal the gateway has seen, as :meth:`known_principals` gives them."""
        stmt = select(principals).where(principals.c.id == principal_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else _principal(row)


def _principal(row: Any) -> Principal:
    # Only a verified email is stored (see Records.saw); without one, the id is
    # user:ISSUER#SUBJECT and the subject is what follows the '#'.
    subject = row.email or row.id.rpartition("#")[2] or row.id
    return Principal(
        issuer=row.issuer,
        subject=subject,
        email=row.email,
        email_verified=row.email is not None,
        display_name=row.display_name,
        roles=frozenset(json.loads(row.roles)),
        organisation=row.organisation,
    )
