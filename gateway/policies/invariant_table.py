"""The invariants' versions in the records database, and the invariants themselves there
when the policy is (``policy.store = "database"``).

Every text of the invariants that has been in force is a numbered row of
``policy_invariants`` (its text, sha256, who, when, how and why), as the policy's are of
``policy_versions``: :class:`InvariantHistory`, what ``gateway policy invariants
--history`` lists and a rollback returns to. With the file store the file is in force and
a text found changed on disk is recorded (``edit``) before the next change; with the
database store the latest row is in force (:class:`InvariantTable`), seeded from the
invariants file on the very first start, as the policy is from the policy file. Checks
read them from memory (:meth:`InvariantTable.read` is synchronous, on the request path of
an invitation); the reloader of each replica refreshes that copy whenever it looks at the
policy, so an edit made on one replica is in force on the others within a second or two.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, String, Table, Text, insert, select

from gateway.policies.invariants import (
    InvariantError,
    InvariantFile,
    InvariantKind,
    Invariants,
    InvariantSource,
    InvariantVersion,
)
from gateway.policies.store import metadata
from gateway.records import AuditEntry, insert_audit
from gateway.stores.sql import UtcDateTime, write_transaction

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("gateway.policy")

policy_invariants = Table(
    "policy_invariants",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(320), nullable=False),
    # Nullable: added to tables made before the history kept them (read as ``apply``).
    Column("kind", String(16), nullable=True),
    Column("reason", String(500), nullable=True),
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _version(row: Any) -> InvariantVersion:
    return InvariantVersion(
        row.number,
        row.sha256,
        row.text,
        row.at,
        row.actor,
        InvariantKind(row.kind or InvariantKind.APPLY.value),
        row.reason,
    )


class InvariantHistory:
    """Every text of the invariants that has been in force, newest last."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def latest(self) -> InvariantVersion | None:
        stmt = select(policy_invariants).order_by(policy_invariants.c.number.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _version(row)

    async def version(self, number: int) -> InvariantVersion | None:
        stmt = select(policy_invariants).where(policy_invariants.c.number == number)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _version(row)

    async def versions(self, *, first: int = 50) -> list[InvariantVersion]:
        """Newest first."""
        stmt = select(policy_invariants).order_by(policy_invariants.c.number.desc()).limit(first)
        async with self.engine.connect() as conn:
            return [_version(row) for row in await conn.execute(stmt)]

    async def commit(
        self,
        text: str,
        *,
        actor: str,
        kind: InvariantKind,
        reason: str | None = None,
        audit: AuditEntry | None = None,
        put: Callable[[], Awaitable[None]] | None = None,
    ) -> InvariantVersion:
        """``text`` as the next version, with ``audit`` (completed with the version number)
        in the same transaction; ``put`` (replacing a file) runs just before the commit."""
        at = datetime.now(UTC)
        sha = sha256(text)
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                insert(policy_invariants).values(
                    sha256=sha, text=text, at=at, actor=actor, kind=kind.value, reason=reason
                )
            )
            key = result.inserted_primary_key
            assert key is not None  # an INSERT of one row always reports its key
            number = int(key[0])
            if audit is not None:
                await insert_audit(
                    conn,
                    AuditEntry(
                        at=audit.at,
                        actor=audit.actor,
                        issuer=audit.issuer,
                        action=audit.action,
                        outcome=audit.outcome,
                        store=None,
                        space_key=None,
                        target=f"invariants v{number}",
                        detail={**audit.detail, "version": number},
                    ),
                )
            if put is not None:
                await put()
        return InvariantVersion(number, sha, text, at, actor, kind, reason)

    async def record(self, text: str, *, actor: str) -> InvariantVersion:
        """The version ``text`` (in force) is, recorded when the latest is another text
        (``initial`` for the first ever, else ``edit``: changed outside the gateway)."""
        latest = await self.latest()
        if latest is not None and latest.sha256 == sha256(text):
            return latest
        kind = InvariantKind.INITIAL if latest is None else InvariantKind.EDIT
        return await self.commit(text, actor=actor, kind=kind)


class InvariantTable(InvariantSource):
    """The latest ``policy_invariants`` row, read into memory by :meth:`refresh`."""

    def __init__(self, engine: AsyncEngine, seed: Path | None = None) -> None:
        self.engine = engine
        self.history = InvariantHistory(engine)
        self.seed = seed  # the file the very first start copies in (when it exists)
        self._good: Invariants | None = None
        self._number = 0
        self._problem: str | None = None

    @property
    def name(self) -> str:
        return "database"

    def read(self) -> Invariants:
        if self._good is None:
            raise InvariantError(self.name, [self._problem or "not read from the database yet"])
        return self._good

    async def refresh(self) -> None:
        """Read the latest row (seeding the table on the very first start); a row that
        does not load keeps the last good invariants in force, logged once."""
        stmt = select(policy_invariants).order_by(policy_invariants.c.number.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            if self.seed is not None and self.seed.is_file():
                text = self.seed.read_text(encoding="utf-8")
                await self.write(text, actor="gateway", kind=InvariantKind.INITIAL)
            else:
                self._good = Invariants((), source=self.name)
            return
        if row.number == self._number:
            return
        try:
            self._good = Invariants.parse(row.text, source=f"database v{row.number}")
        except InvariantError as exc:
            if str(exc) != self._problem:
                log.error("invariants not reloaded, the last good ones stay in force: %s", exc)
                self._problem = str(exc)
            return
        self._number, self._problem = row.number, None

    async def versions(self, *, first: int = 50) -> list[InvariantVersion]:
        return await self.history.versions(first=first)

    async def version(self, number: int) -> InvariantVersion | None:
        return await self.history.version(number)

    async def write(
        self,
        text: str,
        *,
        actor: str,
        kind: InvariantKind = InvariantKind.APPLY,
        reason: str | None = None,
        audit: AuditEntry | None = None,
    ) -> InvariantVersion:
        """A new row with ``text``, in force on this replica at once."""
        parsed = Invariants.parse(text, source=self.name)  # never a row that does not load
        version = await self.history.commit(
            text, actor=actor, kind=kind, reason=reason, audit=audit
        )
        self._good, self._number, self._problem = parsed, version.number, None
        return version


class VersionedFile(InvariantFile):
    """The invariants' file (the file store), each text it has held a version of the
    history in the records database."""

    def __init__(self, path: Path, history: InvariantHistory, *, required: bool = True) -> None:
        super().__init__(path, required=required)
        self.history = history

    async def _recorded(self) -> InvariantVersion | None:
        """The text in force as a version (an edit on disk recorded first); None while
        none ever loaded."""
        try:
            text = self.read().text
        except InvariantError:
            return None
        return await self.history.record(text, actor=self.name)

    async def versions(self, *, first: int = 50) -> list[InvariantVersion]:
        await self._recorded()
        return await self.history.versions(first=first)

    async def version(self, number: int) -> InvariantVersion | None:
        await self._recorded()
        return await self.history.version(number)

    async def write(
        self,
        text: str,
        *,
        actor: str,
        kind: InvariantKind = InvariantKind.APPLY,
        reason: str | None = None,
        audit: AuditEntry | None = None,
    ) -> InvariantVersion:
        """The file replaced atomically just before the version's commit (the text it held
        recorded first, so a rollback can return to it)."""
        await self._recorded()

        async def put() -> None:
            await asyncio.to_thread(self.replace, text)

        return await self.history.commit(
            text, actor=actor, kind=kind, reason=reason, audit=audit, put=put
        )
