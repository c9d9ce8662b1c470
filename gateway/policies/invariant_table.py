"""The invariants in the records database, beside the policy (``policy.store = "database"``).

Every edit is a row of ``policy_invariants`` (its text, sha256, who, when): the latest row
is in force, the earlier ones are the history. Seeded from the invariants file on the
very first start, as the policy is from the policy file. Checks read them from memory
(:meth:`InvariantTable.read` is synchronous, on the request path of an invitation); the
reloader of each replica refreshes that copy whenever it looks at the policy, so an edit
made on one replica is in force on the others within the same second or two.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, Integer, String, Table, Text, insert, select

from gateway.policies.invariants import InvariantError, Invariants, InvariantSource
from gateway.policies.store import metadata
from gateway.stores.sql import UtcDateTime, write_transaction

if TYPE_CHECKING:
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
)


class InvariantTable(InvariantSource):
    """The latest ``policy_invariants`` row, read into memory by :meth:`refresh`."""

    def __init__(self, engine: AsyncEngine, seed: Path | None = None) -> None:
        self.engine = engine
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
                await self.write(self.seed.read_text(encoding="utf-8"), actor="gateway")
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

    async def write(self, text: str, *, actor: str) -> None:
        """A new row with ``text``, in force on this replica at once."""
        parsed = Invariants.parse(text, source=self.name)  # never a row that does not load
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                insert(policy_invariants).values(
                    sha256=hashlib.sha256(text.encode()).hexdigest(),
                    text=text,
                    at=datetime.now(UTC),
                    actor=actor,
                )
            )
            number = result.inserted_primary_key[0] if result.inserted_primary_key else 0
        self._good, self._number, self._problem = parsed, int(number or 0), None
