"""What every part of :class:`gateway.records.Records` stands on: one engine, one schema.

``Records`` is made of one part per table family (:mod:`~gateway.records.audit`,
:mod:`~gateway.records.idempotency`, :mod:`~gateway.records.principals`,
:mod:`~gateway.records.notifications`); each part is a class of its methods over the
engine and the schema state declared here, which the facade sets up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from gateway.records.tables import metadata
from gateway.stores.sql import add_missing_columns

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


class RecordsPart:
    """The engine and schema state every part of ``Records`` shares."""

    engine: AsyncEngine
    _ready: bool  # the tables exist: create_schema ran on this engine

    async def create_schema(self) -> None:
        """Create the tables if they do not exist (never drops anything)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            # Nullable columns a newer version added (notifications.reason), as the stores do.
            await add_missing_columns(conn, metadata)
        self._ready = True

    async def ensure_schema(self) -> None:
        """Create the tables unless that was done (the database was down at start-up)."""
        if not self._ready:
            await self.create_schema()

    async def announce(self, channel: str, payload: str) -> None:
        """Tell the other replicas (PostgreSQL NOTIFY on ``channel``, heard through
        :mod:`gateway.records.listen`); nothing to do on a database without it."""
        if self.engine.dialect.name != "postgresql":
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": channel, "payload": payload},
            )
