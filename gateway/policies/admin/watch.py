"""The invariants broken now, kept current for ``/readyz`` without making it expensive.

A background task of each replica evaluates every declared invariant over the policy it
enforces and the population now (as ``gateway policy check`` does) every
``policy.invariants_check_seconds`` (60 s, or twenty times as long as the last check
took, whichever is longer), and at once when the policy in force or the invariants in
force change (it looks at both, in memory, every second); what it finds is
what ``/readyz`` reports (:meth:`~gateway.policies.invariants.InvariantSource.status`),
as are the checks the admin page and ``checkInvariants`` make in between. The evaluation
runs in a worker thread; it still holds the interpreter while it computes (about 3 s for
the benchmark's large data set: 19,000 principals over 10,000 spaces, after reading them
for about 8 s), so it runs only as often as said.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gateway.policies.admin import population
from gateway.policies.admin.guard import as_bound, subjects_of
from gateway.policies.invariants import InvariantError, evaluate

if TYPE_CHECKING:
    from gateway.domain.model import StoreName
    from gateway.policies.admin.reload import PolicyHolder
    from gateway.policies.compiler import PolicyIndex
    from gateway.policies.invariants import Broken, InvariantSource
    from gateway.records import Records
    from gateway.stores.interface import Store

log = logging.getLogger("gateway.policy")

LOOK_SECONDS = 1.0  # how often it looks whether the policy or the invariants changed
RETRY_SECONDS = 10.0  # after a check that failed (a store down)
# A check while nothing changed waits at least this many times as long as the last one took:
# on a large population (20,000 principals, 10,000 spaces: about 11 s of reading and
# judging) the watch spends at most a twentieth of one core, not every minute's fifth.
COST_SHARE = 20


class Watched(Protocol):
    """What the app's services give the watch."""

    policy: PolicyIndex
    invariants: InvariantSource
    stores: dict[StoreName, Store]
    records: Records


@dataclass
class InvariantWatch:
    holder: PolicyHolder
    invariants: InvariantSource
    stores: dict[StoreName, Store]
    records: Records
    every: float = 60.0  # seconds between full checks while nothing changes
    look: float = LOOK_SECONDS
    _checked: tuple[str, str] | None = None  # what the last check looked at
    _due: float = 0.0  # when the next check is due though nothing changed (loop time)

    @classmethod
    def of(cls, services: Watched, every: float) -> InvariantWatch:
        return cls(services, services.invariants, services.stores, services.records, every)

    def seen(self) -> tuple[str, str] | None:
        """What a check depends on: the policy's sha256 and the invariants' text (None
        while none load: nothing to check)."""
        try:
            declared = self.invariants.read()
        except InvariantError:
            return None
        return self.holder.policy.version, declared.text

    async def check(self) -> list[Broken]:
        """Evaluate every invariant now and report what is broken (for ``/readyz``)."""
        declared = self.invariants.read()
        policy = self.holder.policy
        found = await population.gather(self.stores, self.records)
        subjects = as_bound(await subjects_of(self.stores, declared, found))
        broken = await asyncio.to_thread(evaluate, policy, declared, subjects, found.spaces)
        self.invariants.report(broken)
        return broken

    async def start(self) -> None:
        """The first check, awaited at start-up (so it never runs beside the first
        requests); :meth:`run` goes on from there."""
        await self._check_if_due()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.look)
            await self._check_if_due()

    async def _check_if_due(self) -> None:
        loop = asyncio.get_running_loop()
        now = self.seen()
        if now is None or (now == self._checked and loop.time() < self._due):
            return
        started = loop.time()
        try:
            await self.check()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a store down: the last result stands a while
            log.warning("invariants not re-checked (the last result stands): %s", exc)
            self._checked, self._due = now, loop.time() + min(self.every, RETRY_SECONDS)
        else:
            spent = loop.time() - started
            self._checked, self._due = now, loop.time() + max(self.every, COST_SHARE * spent)
