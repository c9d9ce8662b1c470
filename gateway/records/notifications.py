"""Notifications: what a mention leaves for its recipient, read back and marked read.

Each new notification's recipient is also announced on :data:`NOTIFICATIONS_CHANNEL`
when the database is PostgreSQL, so that a subscriber on another replica hears of it at
once (:mod:`gateway.records.listen`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, text, update

from gateway.records.base import RecordsPart
from gateway.records.tables import notifications
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

# PostgreSQL LISTEN/NOTIFY channel on which a new notification's recipient is announced.
NOTIFICATIONS_CHANNEL = "gateway_notifications"


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    recipient: str
    kind: str
    actor: str
    actor_name: str
    subject: str
    space: str
    created_at: datetime
    read_at: datetime | None = None
    reason: str | None = None  # why, for a kind that says (post_hidden)


class Notifications(RecordsPart):
    """The notifications' part of ``Records``: stored, listed, marked read."""

    async def notify(self, items: Sequence[Notification]) -> None:
        """Store notifications (their ids are assigned here)."""
        if not items:
            return
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                insert(notifications),
                [
                    {
                        "recipient": n.recipient,
                        "kind": n.kind,
                        "actor": n.actor,
                        "actor_name": n.actor_name,
                        "subject": n.subject,
                        "space": n.space,
                        "created_at": n.created_at,
                        "reason": n.reason,
                    }
                    for n in items
                ],
            )
            if self.engine.dialect.name == "postgresql":
                # Other replicas' subscribers hear of it once this commits (gateway.records.listen).
                for recipient in sorted({n.recipient for n in items}):
                    await conn.execute(
                        text("SELECT pg_notify(:channel, :recipient)"),
                        {"channel": NOTIFICATIONS_CHANNEL, "recipient": recipient},
                    )

    async def notifications_for(
        self,
        recipient: str,
        *,
        unread_only: bool = False,
        before_id: int | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        """A recipient's notifications: newest first (``before_id`` pages on), or, with
        ``after_id``, the ones newer than it, oldest first (what a subscription delivers)."""
        n = notifications.c
        stmt = select(notifications).where(n.recipient == recipient)
        if unread_only:
            stmt = stmt.where(n.read_at.is_(None))
        if after_id is not None:
            stmt = stmt.where(n.id > after_id).order_by(n.id)
        else:
            if before_id is not None:
                stmt = stmt.where(n.id < before_id)
            stmt = stmt.order_by(n.id.desc())
        async with self.engine.connect() as conn:
            rows = await conn.execute(stmt.limit(limit))
            return [Notification(**row._mapping) for row in rows]

    async def latest_notification_id(self, recipient: str) -> int:
        stmt = select(func.max(notifications.c.id)).where(notifications.c.recipient == recipient)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def mark_read(self, recipient: str, ids: Sequence[int] | None, now: datetime) -> int:
        """Mark these (or, with None, all) of the recipient's notifications read."""
        n = notifications.c
        stmt = (
            update(notifications)
            .where(n.recipient == recipient, n.read_at.is_(None))
            .values(read_at=now)
        )
        if ids is not None:
            stmt = stmt.where(n.id.in_(sorted(set(ids))))
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(stmt)
        return result.rowcount
