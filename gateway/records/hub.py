"""Waking this replica's subscribers when a notification is written for them.

Subscribers (``notificationAdded``) also poll the records database, so a notification
written by another replica arrives within the poll interval; the hub makes one written
here arrive at once.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class NotificationHub:
    """Wakes this replica's subscribers of a recipient when something arrives for them."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = defaultdict(set)

    def publish(self, recipient: str) -> None:
        for event in self._waiting.get(recipient, ()):
            event.set()

    async def wait(self, recipient: str, seconds: float) -> None:
        """Return when woken for ``recipient``, or after ``seconds``."""
        event = asyncio.Event()
        self._waiting[recipient].add(event)
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._waiting[recipient].discard(event)
            if not self._waiting[recipient]:
                del self._waiting[recipient]
