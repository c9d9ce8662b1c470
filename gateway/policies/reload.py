"""Hot reload of the policy file: an edit on disk is in force within a second, no restart.

A file that fails to load (broken mid-edit, a bad line) changes nothing: the policy
in force stays, the problems are logged once, and the next good save is picked up.
Requests already running keep the policy they started with; the next request
compiles against the new one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.policies.compiler import PolicyIndex
from gateway.policies.policy import Policy, PolicyError

if TYPE_CHECKING:
    from pathlib import Path

    from gateway.services import Services

log = logging.getLogger("gateway.policy")

POLL_SECONDS = 1.0


@dataclass
class PolicyFileWatcher:
    """Watches one policy file and swaps ``services.policy`` when its content changes."""

    services: Services
    path: Path
    seen: tuple[int, int] | None = None  # (mtime_ns, size) last looked at

    def __post_init__(self) -> None:
        self.seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def check(self) -> bool:
        """Reload if the file changed since last looked at; True when a new policy is in force."""
        stamp = self._stamp()
        if stamp == self.seen:
            return False
        self.seen = stamp
        try:
            policy = Policy.from_file(self.path)
        except PolicyError as exc:
            log.error(
                "policy %s not reloaded, version %s stays in force: %s",
                exc.source,
                self.services.policy.version[:12],
                "; ".join(exc.problems),
            )
            return False
        index = PolicyIndex(policy)
        if index.version == self.services.policy.version:
            return False  # saved again, or only comments and spacing changed
        log.info(
            "policy %s reloaded: version %s -> %s",
            self.path,
            self.services.policy.version[:12],
            index.version[:12],
        )
        self.services.policy = index
        return True

    async def run(self, interval: float = POLL_SECONDS) -> None:
        """Look every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            # The read is small and local; a thread keeps a slow disk off the event loop.
            await asyncio.to_thread(self.check)
