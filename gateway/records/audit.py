"""The audit log: one entry per write, refused or performed, and the reads of it.

An entry is written ``pending`` before its write reaches a store and settled afterwards
(:mod:`gateway.records.idempotency`, in the same transaction as the write's key); a
refusal is written finished (:meth:`AuditLog.record`). Entries hold ids and sizes, never
content.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgi_correlation_id.context import correlation_id
from sqlalchemy import func, insert, select

from gateway.records.base import RecordsPart
from gateway.records.tables import audit_log
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncConnection


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


class AuditLog(RecordsPart):
    """The audit log's part of ``Records``: finished entries written, and every read."""

    async def record(self, entry: AuditEntry) -> int:
        """Write one finished entry (a refusal, for instance)."""
        async with write_transaction(self.engine) as conn:
            return await insert_audit(conn, entry)

    # --- reads ----------------------------------------------------------
    async def entries(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        outcome: Outcome | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries newest first (by id: the order they were written), optionally
        filtered; ``before_id`` pages back from an entry."""
        stmt = select(audit_log).order_by(audit_log.c.id.desc())
        if actor is not None:
            stmt = stmt.where(audit_log.c.actor == actor)
        if action is not None:
            stmt = stmt.where(audit_log.c.action == action)
        if outcome is not None:
            stmt = stmt.where(audit_log.c.outcome == outcome.value)
        if before_id is not None:
            stmt = stmt.where(audit_log.c.id < before_id)
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


def with_request_id(detail: dict[str, Any]) -> dict[str, Any]:
    """``detail`` with the id of the HTTP request that wrote it (``X-Request-ID``, set by
    gateway.http.logs), so that one request can be followed from the logs to the audit
    log; unchanged outside a request (a command, a job)."""
    request_id = correlation_id.get()
    if request_id is None or "request_id" in detail:
        return detail
    return {**detail, "request_id": request_id}


async def insert_audit(conn: AsyncConnection, entry: AuditEntry) -> int:
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
            detail=json.dumps(with_request_id(entry.detail), sort_keys=True),
            idempotency_key=entry.idempotency_key,
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # None only when no row went in: never after a plain INSERT
    return int(key[0])


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
