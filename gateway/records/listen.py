"""Hearing other replicas: PostgreSQL LISTEN on the shared records database.

Replicas already share the records database; when it is PostgreSQL, its LISTEN/NOTIFY
tells every replica of a change within milliseconds, with nothing more to run. A
notification is sent by the writer's own transaction and delivered only once it
commits (so nobody hears of a row they cannot read yet), and never if it rolls back.

The channel can fail (the connection dropped, the server restarted, a proxy closed an
idle socket). :attr:`Listener.connected` says whether it is up; whoever relies on it
polls quickly while it is down, and the listener reconnects with backoff. On every
(re)connection the listeners' ``on_connect`` callbacks run, so that anything missed
while deaf is caught up at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncpg
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("gateway.listen")

# How often a quiet connection is checked (a dead socket says nothing until written to).
PING_SECONDS = 5.0
CONNECT_TIMEOUT = 5.0
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)
APPLICATION_NAME = "gateway-listener"


def listens(url: str) -> bool:
    """Whether a records database at ``url`` can carry notifications (PostgreSQL only)."""
    return make_url(url).get_backend_name() == "postgresql"


@dataclass
class Listener:
    """One dedicated connection LISTENing on some channels, kept up until cancelled."""

    url: str
    # channel -> called with each notification's payload, on the event loop
    channels: dict[str, Callable[[str], None]] = field(default_factory=dict)
    on_connect: list[Callable[[], None]] = field(default_factory=list)
    connected: bool = False

    def _dsn(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._session()
                failures = 0
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("notification channel down, polling meanwhile: %s", exc)
            delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
            failures += 1
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        conn = await asyncpg.connect(
            self._dsn(),
            timeout=CONNECT_TIMEOUT,
            server_settings={"application_name": APPLICATION_NAME},
        )
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _conn: closed.set())
        try:
            # A copy: a channel registered while this awaits is heard from the next connection
            # on, instead of breaking the loop ("dictionary changed size during iteration").
            for channel, callback in list(self.channels.items()):
                await conn.add_listener(channel, _deliver(callback))
            self.connected = True
            log.info("listening for changes on %s", ", ".join(self.channels))
            for caught_up in self.on_connect:
                caught_up()
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), PING_SECONDS)
                if not closed.is_set():
                    await asyncio.wait_for(conn.execute("SELECT 1"), PING_SECONDS)
            log.warning("notification channel closed, polling meanwhile")
        finally:
            self.connected = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1.0)


def _deliver(callback: Callable[[str], None]) -> Callable[..., None]:
    def deliver(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        callback(payload)

    return deliver
