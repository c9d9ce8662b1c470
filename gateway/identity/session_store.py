"""Browser sessions and access revocations in the records database, shared by every replica.

A session row is found by the SHA-256 of the id its cookie carries, and counts only while
it has not ended, has not passed its absolute expiry, and was seen within the idle
timeout: the same condition on every replica, so a logout or a revoke ends it everywhere
with the next request. Ended and expired rows are purged on a schedule
(:meth:`SessionStore.purge`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.records import access_revocations, sessions
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.records import Records


def key_of(session_id: str) -> str:
    """The row's key for a session id: a leaked table cannot be replayed as cookies."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredSession:
    key: str
    principal: str | None
    provider: str | None
    data: dict[str, Any]
    created_at: datetime
    last_seen: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Revocation:
    principal: str
    not_before: datetime
    actor: str
    reason: str | None


class SessionStore:
    """The ``sessions`` and ``access_revocations`` tables of :class:`Records`."""

    def __init__(self, records: Records, *, idle_timeout: int) -> None:
        self.records = records
        self.idle = timedelta(seconds=idle_timeout)

    def _live(self, now: datetime) -> Any:
        s = sessions.c
        return and_(s.ended_at.is_(None), s.expires_at > now, s.last_seen > now - self.idle)

    # --- one session, on the request path ----------------------------------------
    async def load(self, key: str, now: datetime) -> StoredSession | None:
        """The live session with this key; None when there is none (or it ended)."""
        stmt = select(sessions).where(sessions.c.id == key, self._live(now))
        async with self.records.engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        if row is None:
            return None
        try:
            data = json.loads(row.data)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return None  # not written by us: no session rather than a crash
        return StoredSession(
            key=row.id,
            principal=row.principal,
            provider=row.provider,
            data=data,
            created_at=row.created_at,
            last_seen=row.last_seen,
            expires_at=row.expires_at,
        )

    async def create(
        self,
        key: str,
        data: dict[str, Any],
        *,
        principal: str | None,
        provider: str | None,
        now: datetime,
        lifetime: int,
        replaces: str | None = None,
    ) -> None:
        """A new session; ``replaces`` (the session it succeeds, at login) ends with it."""
        await self.records.ensure_schema()
        async with write_transaction(self.records.engine) as conn:
            if replaces is not None:
                await _end(conn, sessions.c.id == replaces, now, "login")
            await conn.execute(
                insert(sessions).values(
                    id=key,
                    principal=principal,
                    provider=provider,
                    data=json.dumps(data, sort_keys=True),
                    created_at=now,
                    last_seen=now,
                    expires_at=now + timedelta(seconds=lifetime),
                )
            )

    async def save(self, key: str, data: dict[str, Any] | None, now: datetime) -> None:
        """Record that the session was used (and, with ``data``, what it now holds).

        A session that ended meanwhile (logged out on another replica) stays ended.
        """
        values: dict[str, Any] = {"last_seen": now}
        if data is not None:
            values["data"] = json.dumps(data, sort_keys=True)
        async with write_transaction(self.records.engine) as conn:
            await conn.execute(
                update(sessions)
                .where(sessions.c.id == key, sessions.c.ended_at.is_(None))
                .values(**values)
            )

    async def end(self, key: str, now: datetime, reason: str = "logout") -> None:
        async with write_transaction(self.records.engine) as conn:
            await _end(conn, sessions.c.id == key, now, reason)

    # --- everyone's sessions, for admins -----------------------------------------
    async def end_all(self, principal: str, now: datetime, reason: str) -> int:
        """End every live session of ``principal``; returns how many."""
        async with write_transaction(self.records.engine) as conn:
            return await _end(
                conn, and_(sessions.c.principal == principal, self._live(now)), now, reason
            )

    async def live(self, now: datetime, principal: str | None = None) -> list[StoredSession]:
        """Logged-in sessions still good, newest first (the login state of anonymous
        visitors is not listed)."""
        stmt = (
            select(sessions)
            .where(self._live(now), sessions.c.principal.is_not(None))
            .order_by(sessions.c.created_at.desc())
        )
        if principal is not None:
            stmt = stmt.where(sessions.c.principal == principal)
        async with self.records.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            StoredSession(
                key=r.id,
                principal=r.principal,
                provider=r.provider,
                data={},  # login state and tokens are never shown
                created_at=r.created_at,
                last_seen=r.last_seen,
                expires_at=r.expires_at,
            )
            for r in rows
        ]

    async def purge(self, now: datetime) -> int:
        """Delete sessions that ended, expired or sat idle past the timeout; how many."""
        s = sessions.c
        stmt = delete(sessions).where(
            or_(s.ended_at.is_not(None), s.expires_at <= now, s.last_seen <= now - self.idle)
        )
        async with write_transaction(self.records.engine) as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)

    async def count(self) -> int:
        async with self.records.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(sessions)) or 0)

    # --- revocations -------------------------------------------------------------
    async def revocations(self) -> dict[str, datetime]:
        """Every standing revocation: principal -> not before."""
        r = access_revocations.c
        async with self.records.engine.connect() as conn:
            return {p: nb for p, nb in await conn.execute(select(r.principal, r.not_before))}

    async def revocation(self, principal: str) -> Revocation | None:
        stmt = select(access_revocations).where(access_revocations.c.principal == principal)
        async with self.records.engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        if row is None:
            return None
        return Revocation(row.principal, row.not_before, row.actor, row.reason)

    async def revoke(self, principal: str, now: datetime, *, actor: str, reason: str | None) -> int:
        """Refuse ``principal``'s tokens issued before now and end their sessions, in one
        transaction; returns how many sessions ended."""
        await self.records.ensure_schema()
        r = access_revocations.c
        async with write_transaction(self.records.engine) as conn:
            values = {"not_before": now, "actor": actor, "reason": reason}
            changed = await conn.execute(
                update(access_revocations).where(r.principal == principal).values(**values)
            )
            if changed.rowcount == 0:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            insert(access_revocations).values(principal=principal, **values)
                        )
                except IntegrityError:  # another admin revoked them at the same moment
                    await conn.execute(
                        update(access_revocations).where(r.principal == principal).values(**values)
                    )
            return await _end(
                conn, and_(sessions.c.principal == principal, self._live(now)), now, "revoked"
            )

    async def restore(self, principal: str) -> bool:
        """Lift ``principal``'s revocation; False when there was none."""
        async with write_transaction(self.records.engine) as conn:
            result = await conn.execute(
                delete(access_revocations).where(access_revocations.c.principal == principal)
            )
        return bool(result.rowcount)


async def _end(conn: Any, where: Any, now: datetime, reason: str) -> int:
    result = await conn.execute(
        update(sessions)
        .where(where, sessions.c.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
    )
    return int(result.rowcount)
