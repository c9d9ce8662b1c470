"""The one object the rest of the gateway holds for the records database.

:class:`Records` opens the engine and is made of the table families' parts, each in its
own module: :class:`~gateway.records.audit.AuditLog`,
:class:`~gateway.records.idempotency.IdempotentWrites`,
:class:`~gateway.records.principals.KnownPrincipals` and
:class:`~gateway.records.notifications.Notifications`,
:class:`~gateway.records.documents.Documents`, :class:`~gateway.records.flags.Flags` and
:class:`~gateway.records.escalations.Escalations`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import make_url

from gateway.records.audit import AuditLog
from gateway.records.documents import Documents
from gateway.records.escalations import Escalations
from gateway.records.flags import Flags
from gateway.records.idempotency import IdempotentWrites
from gateway.records.notifications import Notifications
from gateway.records.principals import KnownPrincipals
from gateway.records.recognition import Recognition
from gateway.records.reminders import Reminders
from gateway.stores.sql import open_engine

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.config import Settings


class Records(
    IdempotentWrites,
    AuditLog,
    KnownPrincipals,
    Notifications,
    Documents,
    Flags,
    Escalations,
    Recognition,
    Reminders,
):
    """The audit log and idempotency keys, on one database shared by every replica."""

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        """``timeout``: what the drivers bound on their own (connecting, waiting for a
        pooled connection, each statement on PostgreSQL; see gateway.stores.sql.open_engine)."""
        self._url = make_url(url)
        self.engine = open_engine(url, timeout)
        self._ready = False
        # principal id -> (roles, when last written): skips a write per request
        self._seen: dict[str, tuple[tuple[str, ...], datetime]] = {}

    @classmethod
    def for_settings(cls, settings: Settings) -> Records:
        """The records database as the settings name it, with its timeout: the one way the
        server and the CLI commands open it."""
        return cls(settings.records_url, timeout=settings.records_timeout)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        """Raise unless the database answers ``SELECT 1``."""
        async with self.engine.connect() as conn:
            await conn.execute(select(1))
