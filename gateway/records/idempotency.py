"""Idempotent writes: claim a key with the write's pending audit entry, then settle both.

Every replica shares the keys, so an idempotent retry that lands on another replica
still finds its first try: a key that completed answers with its stored result
(:class:`Replay`), one still being written elsewhere is waited for, and one used for
something else is refused (:class:`IdempotencyConflict`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.records.audit import Outcome, insert_audit, with_request_id
from gateway.records.base import RecordsPart
from gateway.records.tables import audit_log, idempotency_keys
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.records.audit import AuditEntry

# A key answers retries for a day (Stripe's convention); a write still pending after
# this long died with its process, and a retry may run it again.
KEY_LIFETIME = timedelta(hours=24)
PENDING_TIMEOUT = timedelta(seconds=30)
_WAIT_STEP = 0.02  # seconds between looks at a concurrent request's key


class IdempotencyConflict(Exception):
    """The key was used before for a different operation or different input."""


class StillRunning(Exception):
    """Another request with this key is still being written; retry later."""


@dataclass(frozen=True, slots=True)
class Replay:
    """A key that completed before: the stored result, returned instead of writing again."""

    result: dict[str, Any]


class IdempotentWrites(RecordsPart):
    """The writes' part of ``Records``: claim (entry and key), then settle."""

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
                return await insert_audit(conn, entry)
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
                return await insert_audit(conn, entry)
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
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Mark a pending write done (``ok``) or ``failed``; a failed key is released so a
        retry may run, a done key keeps ``result`` for replays. ``detail``, when given,
        replaces the entry's (a failed write adds the code it was refused with)."""
        values: dict[str, Any] = {"outcome": outcome.value, "target": target}
        if detail is not None:
            values["detail"] = json.dumps(with_request_id(detail), sort_keys=True)
        async with write_transaction(self.engine) as conn:
            await conn.execute(update(audit_log).where(audit_log.c.id == audit_id).values(**values))
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

    async def purge_keys(self, now: datetime) -> int:
        """Forget keys older than their lifetime; returns how many."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < now - KEY_LIFETIME)
            )
        return result.rowcount
