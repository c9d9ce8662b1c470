"""Hot reload: a policy changed at its source is in force on every replica within a second.

The reloader of each replica looks at the source (the policy file, or the adapter's
table in the records database) and puts what it finds in force when it differs from
the policy this replica enforces. It looks when woken, by a PostgreSQL notification
of a new version (:mod:`gateway.records.listen`), and by polling: every :data:`POLL_SECONDS`
while no notification channel is up (the file source, SQLite, MariaDB, or a channel
that dropped), every :data:`SAFETY_POLL_SECONDS` while it is.

Nothing unsafe is put in force. A source that fails to load (broken mid-edit, a bad
line), that would leave nobody able to administer the policy, or that breaks a declared
invariant (:mod:`gateway.policies.invariants`), changes nothing: the
policy in force stays, the problems are logged once, and the next good save is picked
up. A good one that the history has not seen (the file edited on disk) is recorded as
a version, so it can be rolled back like any other. Requests already running keep the
policy they started with; the next request compiles against the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.exc import SQLAlchemyError

from gateway.policies.admin.changes import lockout
from gateway.policies.compiler import PolicyIndex
from gateway.policies.export import digest
from gateway.policies.invariants import InvariantError
from gateway.policies.policy import Policy, PolicyError
from gateway.policies.store import CHANNEL, FileSource

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from gateway.domain.principal import Principal
    from gateway.policies.invariants import Broken
    from gateway.policies.store import PolicyStore
    from gateway.records.listen import Listener

log = logging.getLogger("gateway.policy")

POLL_SECONDS = 0.5  # while no notification channel is up
SAFETY_POLL_SECONDS = 5.0  # while one is: a missed notification is still caught


class PolicyHolder(Protocol):
    """Whatever holds the policy this replica enforces (the app's services)."""

    policy: PolicyIndex


@dataclass
class PolicyReloader:
    """Keeps ``holder.policy`` equal to the source's policy, when that is safe."""

    holder: PolicyHolder
    # The principals the gateway has seen: a change that would lock every one of its
    # security admins out is refused (:func:`~gateway.policies.admin.changes.lockout`).
    known_principals: Callable[[], Awaitable[list[Principal]]]
    store: PolicyStore
    listener: Listener | None = None
    safety_poll: float = SAFETY_POLL_SECONDS
    # The invariants a policy found at the source would break that the one in force does
    # not (PolicyAdmin.breaks_now); None: none are checked.
    breaks: Callable[[Policy, Policy], Awaitable[list[Broken]]] | None = None
    # Re-reads the invariants where they live (the database's, edited on another replica).
    refresh: Callable[[], Awaitable[None]] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stamp: tuple[int, int] | None = None
    _last_refusal: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.store.source, FileSource):
            self._stamp = self.store.source.stamp()
        if self.listener is not None:
            self.listener.channels[CHANNEL] = lambda _payload: self.wake.set()
            self.listener.on_connect.append(self.wake.set)

    async def check(self) -> bool:
        """Look at the source once; True when a new policy was put in force."""
        if self.refresh is not None:
            try:
                await self.refresh()
            except SQLAlchemyError as exc:
                log.warning("invariants not re-read (the last ones stay in force): %s", exc)
        source = self.store.source
        if isinstance(source, FileSource):
            stamp = source.stamp()
            if stamp == self._stamp:
                return False
            self._stamp = stamp
        try:
            policy = await self.store.read_source()
        except PolicyError as exc:
            self._refuse(f"{exc.source}: " + "; ".join(exc.problems))
            return False
        except (SQLAlchemyError, OSError) as exc:
            log.warning("policy source %s cannot be read: %s", source.name, exc)
            return False
        current = self.holder.policy
        if digest(policy) == current.version:
            if current.number is None:  # its version is known now (the history was down)
                await self._install(policy, current)
            return False
        try:
            known = await self.known_principals()
        except SQLAlchemyError:
            known = []  # the persona check still holds
        locked = lockout(current.policy, policy, known)
        if locked is not None:
            self._refuse(f"{source.name}: {locked}")
            return False
        if self.breaks is not None:
            try:
                broken = await self.breaks(current.policy, policy)
            except InvariantError as exc:
                self._refuse(f"{source.name}: the invariants do not load: {exc}")
                return False
            except SQLAlchemyError as exc:
                # Unchecked is not safe: the next look tries again.
                log.warning("policy at %s not checked against invariants: %s", source.name, exc)
                return False
            if broken:
                self._refuse(f"{source.name}: " + "; ".join(b.message() for b in broken))
                return False
        return await self._install(policy, current)

    async def _install(self, policy: Policy, current: PolicyIndex) -> bool:
        try:
            recorded = await self.store.record(policy, actor=self.store.source.name)
            number: int | None = recorded.number
        except SQLAlchemyError as exc:
            log.warning("policy history not reachable, version not recorded: %s", exc)
            number = None
        index = PolicyIndex(policy, number=number)
        changed = index.version != current.version
        if changed:
            log.info("policy reloaded: %s -> %s", current.describe(), index.describe())
        self.holder.policy = index
        self._last_refusal = None
        return changed

    def _refuse(self, why: str) -> None:
        if why != self._last_refusal:  # once per distinct problem, not every poll
            log.error(
                "policy not reloaded, %s stays in force: %s", self.holder.policy.describe(), why
            )
            self._last_refusal = why

    async def run(self) -> None:
        """Look whenever woken or the poll interval passes, until cancelled."""
        while True:
            up = self.listener is not None and self.listener.connected
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.safety_poll if up else POLL_SECONDS)
            self.wake.clear()
            try:
                await self.check()
            except Exception:  # one bad look must not end reloading for good
                log.exception("policy reload check failed")
