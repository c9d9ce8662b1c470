"""Reminders' part of ``Records``: which reminder went to whom, so each goes out once.

Every replica runs the reminder job; the one whose insert succeeds sends, the others find
the row and skip. A reminder is keyed by the expiry it reminds of: an extended invitation
gets a new reminder when its new expiry comes near.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from gateway.records.base import RecordsPart
from gateway.records.tables import reminders
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from datetime import datetime


class Reminders(RecordsPart):
    """Claiming a reminder before sending it."""

    async def claim_reminder(
        self, subject: str, recipient: str, due: datetime, now: datetime
    ) -> bool:
        """True for the first claim of (subject, recipient, due) anywhere; False after."""
        await self.ensure_schema()
        values = {"subject": subject, "recipient": recipient, "due": due, "sent_at": now}
        try:
            async with write_transaction(self.engine) as conn:
                await conn.execute(insert(reminders).values(**values))
        except IntegrityError:
            return False
        return True
