"""A circuit breaker: after repeated failures, fail fast for a while instead of waiting.

A store that does not answer costs every caller its full deadline. After ``threshold``
consecutive failures the breaker *opens*: calls are refused at once for a back-off
(``backoff`` seconds, doubling after each failed probe up to ``max_backoff``). When the
back-off has passed, exactly one call goes through as a probe (*half-open*); its
success closes the breaker, its failure opens it again for longer.

Written here rather than taken from PyPI: ``aiobreaker`` (the asyncio fork of
``pybreaker``) has had no release since 2021 and ``circuitbreaker`` has a fixed recovery
time and no single-probe half-open state; what we need is sixty lines, with the one
subtlety that a probe which is cancelled (its client went away) must not leave the
breaker half-open forever.

The breaker keeps no lock: everything runs on one event loop, and no method awaits.
"""

from __future__ import annotations

import enum
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Breaker", "State"]

log = logging.getLogger("gateway.breaker")


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Breaker:
    """One breaker per dependency; ``admit`` before a call, then ``succeeded``/``failed``.

    >>> breaker = Breaker("community store", threshold=3, backoff=5.0)
    >>> if breaker.admit():
    ...     ...  # call, then breaker.succeeded() or breaker.failed("TimeoutError")
    """

    def __init__(
        self,
        name: str,
        *,
        threshold: int = 3,
        backoff: float = 5.0,
        max_backoff: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.first_backoff = backoff
        self.max_backoff = max(max_backoff, backoff)
        self._clock = clock
        self.state = State.CLOSED
        self.failures = 0  # consecutive
        self.last_failure: str | None = None
        self._backoff = backoff
        self._retry_at = 0.0

    def admit(self) -> bool:
        """Whether a call may go ahead now (False: fail fast without calling)."""
        if self.state is State.CLOSED:
            return True
        if self.state is State.HALF_OPEN:
            return False  # one probe at a time; the others fail fast meanwhile
        if self._clock() < self._retry_at:
            return False
        self.state = State.HALF_OPEN
        log.info("%s: circuit half-open, letting one call through as a probe", self.name)
        return True

    def succeeded(self) -> None:
        if self.state is not State.CLOSED:
            log.warning("%s: circuit closed, the dependency answers again", self.name)
        self.state = State.CLOSED
        self.failures = 0
        self._backoff = self.first_backoff

    def failed(self, reason: str) -> None:
        self.failures += 1
        self.last_failure = reason
        if self.state is State.HALF_OPEN:
            # The probe failed: wait longer before the next one.
            self._backoff = min(self._backoff * 2, self.max_backoff)
            self._open(f"the probe failed ({reason})")
        elif self.state is State.CLOSED and self.failures >= self.threshold:
            self._open(f"{self.failures} consecutive failures, the last {reason}")

    def abandoned(self) -> None:
        """An admitted call ended with neither outcome (cancelled): the next one may probe."""
        if self.state is State.HALF_OPEN:
            self.state = State.OPEN
            self._retry_at = self._clock()

    def retry_in(self) -> float:
        """Seconds until the next probe is let through (0 when closed or due)."""
        if self.state is State.CLOSED:
            return 0.0
        return max(self._retry_at - self._clock(), 0.0)

    def _open(self, why: str) -> None:
        self.state = State.OPEN
        self._retry_at = self._clock() + self._backoff
        log.warning(
            "%s: circuit open after %s; failing fast for %.1f s", self.name, why, self._backoff
        )
