"""The gateway's own database: the audit log of writes and the idempotency keys.

Every replica shares it (SQLite for one process, PostgreSQL or MariaDB for many),
so an idempotent retry that lands on another replica still finds its first try,
and the audit log is one log. The stores keep content in their native schemas;
nothing here is content.

No write reaches a store without its audit entry: the entry is written first, as
``pending``, and settled afterwards (``ok`` with the target, or ``failed``). If
this database is down, writes are refused, not performed unaudited.
"""

from __future__ import annotations

import asyncio
import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from gateway.sql import UtcDateTime, open_engine, write_transaction

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection

metadata = MetaData()

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(320), nullable=False),  # the policy subject: user:EMAIL
    Column("issuer", String(500), nullable=True),
    Column("action", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),  # pending | ok | failed | denied
    Column("store", String(16), nullable=True),
    Column("space_key", String(300), nullable=True),
    Column("target", String(300), nullable=True),  # global id of what was written
    Column("detail", Text, nullable=False),  # JSON: ids and sizes, never content
    Column("idempotency_key", String(128), nullable=True),
    Index("ix_audit_log_at", "at", "id"),
    Index("ix_audit_log_actor_action_at", "actor", "action", "at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("actor", String(320), nullable=False),
    Column("idem_key", String(128), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | done
    Column("result", Text, nullable=True),  # JSON, once done
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("actor", "idem_key", name="pk_idempotency_keys"),
    Index("ix_idempotency_keys_created", "created_at"),
)

# A key answers retries for a day (Stripe's convention); a write still pending after
# this long died with its process, and a retry may run it again.
KEY_LIFETIME = timedelta(hours=24)
PENDING_TIMEOUT = timedelta(seconds=30)
_WAIT_STEP = 0.02  # seconds between looks at a concurrent request's key


class Outcome(enum.StrEnum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    issuer: str | None
    action: str
    outcome: Outcome
    store: str | None
    space_key: str | None
    target: str | None
    detail: dict[str, Any]
    idempotency_key: str | None = None
    id: int | None = None


class IdempotencyConflict(Exception):
    """The key was used before for a different operation or different input."""


class StillRunning(Exception):
    """Another request with this key is still being written; retry later."""


@dataclass(frozen=True, slots=True)
class Replay:
    """A key that completed before: the stored result, returned instead of writing again."""

    result: dict[str, Any]


class Records:
    """The audit log and idempotency keys, on one database shared by every replica."""

    def __init__(self, url: str) -> None:
        self._url = make_url(url)
        self.engine = open_engine(url)
        self._ready = False

    async def create_schema(self) -> None:
        """Create the tables if they do not exist (never drops anything)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        self._ready = True

    async def close(self) -> None:
        await self.engine.dispose()

    # --- writes: claim, then settle ---------------------------------------
    async def begin_write(
        self,
        entry: AuditEntry,
        *,
        operation: str,
        request_hash: str,
        wait: float,
    ) -> int | Replay:
        """Record a write about to happen; with a key, claim it first.

        Returns the pending audit entry's id, or a :class:`Replay` when the key already
        completed. A concurrent request holding the key is waited for up to ``wait``
        seconds (then :class:`StillRunning`). Raises :class:`IdempotencyConflict` when the
        key was used for something else.
        """
        if not self._ready:  # it was down at start-up
            await self.create_schema()
        if entry.idempotency_key is None:
            async with write_transaction(self.engine) as conn:
                return await _insert_audit(conn, entry)
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            claimed = await self._claim(entry, operation, request_hash)
            if claimed is not None:
                return claimed
            if asyncio.get_running_loop().time() >= deadline:
                raise StillRunning(entry.idempotency_key)
            await asyncio.sleep(_WAIT_STEP)

    async def _claim(
        self, entry: AuditEntry, operation: str, request_hash: str
    ) -> int | Replay | None:
        key = entry.idempotency_key
        assert key is not None
        row_key = (idempotency_keys.c.actor == entry.actor, idempotency_keys.c.idem_key == key)
        try:
            async with write_transaction(self.engine) as conn:
                existing = (
                    await conn.execute(select(idempotency_keys).where(*row_key))
                ).one_or_none()
                if existing is not None:
                    stale = existing.created_at < entry.at - (
                        KEY_LIFETIME if existing.state == "done" else PENDING_TIMEOUT
                    )
                    if not stale:
                        if (existing.operation, existing.request_hash) != (
                            operation,
                            request_hash,
                        ):
                            raise IdempotencyConflict(key)
                        if existing.state == "done":
                            return Replay(json.loads(existing.result))
                        return None  # still running elsewhere: look again shortly
                    await conn.execute(delete(idempotency_keys).where(*row_key))
                await conn.execute(
                    insert(idempotency_keys).values(
                        actor=entry.actor,
                        idem_key=key,
                        operation=operation,
                        request_hash=request_hash,
                        state="pending",
                        created_at=entry.at,
                    )
                )
                return await _insert_audit(conn, entry)
        except IntegrityError:
            return None  # another replica inserted the key between our look and our insert

    async def settle(
        self,
        audit_id: int,
        entry: AuditEntry,
        outcome: Outcome,
        *,
        target: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        """Mark a pending write done (``ok``) or ``failed``; a failed key is released so a
        retry may run, a done key keeps ``result`` for replays."""
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                update(audit_log)
                .where(audit_log.c.id == audit_id)
                .values(outcome=outcome.value, target=target)
            )
            if entry.idempotency_key is None:
                return
            row_key = (
                idempotency_keys.c.actor == entry.actor,
                idempotency_keys.c.idem_key == entry.idempotency_key,
            )
            if outcome is Outcome.OK:
                await conn.execute(
                    update(idempotency_keys)
                    .where(*row_key)
                    .values(state="done", result=json.dumps(result or {}))
                )
            else:
                await conn.execute(delete(idempotency_keys).where(*row_key))

    async def record(self, entry: AuditEntry) -> int:
        """Write one finished entry (a refusal, for instance)."""
        async with write_transaction(self.engine) as conn:
            return await _insert_audit(conn, entry)

    async def purge_keys(self, now: datetime) -> int:
        """Forget keys older than their lifetime; returns how many."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < now - KEY_LIFETIME)
            )
        return result.rowcount

    # --- reads ----------------------------------------------------------
    async def entries(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries newest first, optionally filtered."""
        stmt = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        if actor is not None:
            stmt = stmt.where(audit_log.c.actor == actor)
        if action is not None:
            stmt = stmt.where(audit_log.c.action == action)
        if since is not None:
            stmt = stmt.where(audit_log.c.at >= since)
        async with self.engine.connect() as conn:
            rows = await conn.execute(stmt.limit(limit))
            return [_entry(row) for row in rows]

    async def last_activity(self, actors: Sequence[str]) -> dict[str, datetime]:
        """Each actor's latest successful write."""
        if not actors:
            return {}
        stmt = (
            select(audit_log.c.actor, func.max(audit_log.c.at))
            .where(audit_log.c.actor.in_(sorted(set(actors))), audit_log.c.outcome == "ok")
            .group_by(audit_log.c.actor)
        )
        async with self.engine.connect() as conn:
            return {actor: at for actor, at in await conn.execute(stmt)}

    async def count(self, *, actor: str, actions: Sequence[str], since: datetime) -> int:
        """Writes by ``actor`` of these actions since a time that did not fail or get refused
        (what a rate limit counts)."""
        stmt = select(func.count()).where(
            audit_log.c.actor == actor,
            audit_log.c.action.in_(list(actions)),
            audit_log.c.at >= since,
            audit_log.c.outcome.in_([Outcome.PENDING.value, Outcome.OK.value]),
        )
        async with self.engine.connect() as conn:
            return int(await conn.scalar(stmt) or 0)


async def _insert_audit(conn: AsyncConnection, entry: AuditEntry) -> int:
    result = await conn.execute(
        insert(audit_log).values(
            at=entry.at,
            actor=entry.actor,
            issuer=entry.issuer,
            action=entry.action,
            outcome=entry.outcome.value,
            store=entry.store,
            space_key=entry.space_key,
            target=entry.target,
            detail=json.dumps(entry.detail, sort_keys=True),
            idempotency_key=entry.idempotency_key,
        )
    )
    return int(result.inserted_primary_key[0])


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        issuer=row.issuer,
        action=row.action,
        outcome=Outcome(row.outcome),
        store=row.store,
        space_key=row.space_key,
        target=row.target,
        detail=json.loads(row.detail),
        idempotency_key=row.idempotency_key,
    )
