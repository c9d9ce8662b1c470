"""The one guard between the gateway and its stores: deadlines, a circuit breaker, StoreDown.

Every store call passes through :class:`GuardedStore` (``Services.stores`` holds only
guarded stores), so this is the single place where

* a call gets its deadline (``stores.statement_timeout``): connecting, waiting for a
  pooled connection and executing all count, because ``asyncio.timeout`` bounds the
  whole awaited call, whatever the driver does or fails to do on its own;
* the store's circuit breaker is consulted and told the outcome, so a dead store costs
  microseconds per call once it is open, not a deadline each;
* the driver's connection failures become the interface's own :class:`StoreUnavailable`
  (the adapters let them through: one failure convention per layer).

:func:`guarded` then turns any store failure into :class:`StoreDown` for the client,
which names the store and leaves the other store's data in the response.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gateway.domain.errors import StoreDown
from gateway.domain.model import StoreName
from gateway.runtime import metrics
from gateway.stores.breaker import Breaker, State
from gateway.stores.interface import (
    StoreDirectory,
    StoreLifecycle,
    StoreReads,
    StoreReports,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from gateway.config import Settings
    from gateway.stores.interface import Store

__all__ = [
    "STORE_FAILURES",
    "CircuitOpen",
    "GuardedStore",
    "NotCalled",
    "StoreSlow",
    "guard_store",
    "guarded",
]

log = logging.getLogger("gateway.stores")
T = TypeVar("T")


class StoreSlow(StoreUnavailable):
    """The store did not answer within its deadline (it may be up, but hung or saturated)."""


class NotCalled(StoreUnavailable):
    """The store was not called: it is already known to be unavailable (and was logged)."""


class CircuitOpen(NotCalled):
    """The store failed repeatedly; it is not called until its breaker lets a probe through."""


STORE_FAILURES = (SQLAlchemyError, OSError, StoreUnavailable, asyncio.TimeoutError)
# Failures that say the store is not there (as opposed to a query's own error): these
# count towards the breaker. A pool that gives no connection in time is a slow store.
_UNREACHABLE = (OperationalError, InterfaceError, OSError, StoreUnavailable)
_SLOW = (TimeoutError, PoolTimeout)
# Not store calls: closing must happen even when the breaker is open.
_UNGUARDED = frozenset({"close"})
# Start-up's schema work (DDL is slow on MariaDB, and the demo data set is a bulk write)
# gets a longer deadline: a store that hangs must not hang start-up, a slow one may be slow.
_SETUP = frozenset({"create_schema", "load_demo"})


def _methods(*roles: type) -> frozenset[str]:
    return frozenset(n for role in roles for n in vars(role) if not n.startswith("_"))


# Calls that only read. Every other call may change the store (the write role's, binding
# invitations, the demo's load, and whatever an adapter adds later): the store's
# generation moves after it (``on_write``), so nothing read before it is served again.
_READS = _methods(StoreLifecycle, StoreDirectory, StoreReads, StoreReports) - {
    "accept_invitations",
    "create_schema",
}
# Writes whose answer says whether anything changed (a count, a flag): the generation
# stays when nothing did, so a login with nothing to bind costs no cache its entries.
_COUNTED = frozenset({"accept_invitations", "remove_member"})
SETUP_DEADLINE = 60.0


async def guarded(store: StoreName, call: Awaitable[T]) -> T:
    """Await a store call; a connection or database failure becomes StoreDown(store)."""
    try:
        return await call
    except STORE_FAILURES as exc:
        if not isinstance(exc, NotCalled):  # logged once already (e.g. when a breaker opened)
            log.warning("%s store failed: %s", store.value, exc.__class__.__name__, exc_info=exc)
        raise StoreDown(store.value) from exc


class GuardedStore:
    """A store adapter behind its deadline and circuit breaker; otherwise the adapter itself.

    Every coroutine method of the adapter is wrapped; other attributes (``name``,
    ``engine``) are the adapter's.
    """

    def __init__(self, store: Store, *, deadline: float, breaker: Breaker | None = None) -> None:
        self.store = store
        # Told of each call that may have changed the store (see _READS), once it ended.
        self.on_write: Callable[[StoreName], Awaitable[None]] | None = None
        self.name = store.name
        self.deadline = deadline
        self.breaker = breaker or Breaker(f"{store.name.value} store")
        # What the last failure was, for /readyz: "slow" or "unreachable" (None: answered).
        self.last_problem: str | None = None

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self.store, attr)
        if attr in _UNGUARDED or not inspect.iscoroutinefunction(value):
            return value

        deadline = max(self.deadline, SETUP_DEADLINE) if attr in _SETUP else self.deadline

        if attr in _READS:

            async def call(*args: Any, **kwargs: Any) -> Any:
                return await self._call(value, deadline, args, kwargs)

        else:

            async def call(*args: Any, **kwargs: Any) -> Any:
                changed = True
                try:
                    result = await self._call(value, deadline, args, kwargs)
                    changed = attr not in _COUNTED or bool(result)
                    return result
                finally:
                    if changed and self.on_write is not None:
                        await self.on_write(self.name)

        call.__name__ = call.__qualname__ = attr
        self.__dict__[attr] = call  # the next lookup skips __getattr__
        return call

    async def _call(
        self,
        method: Callable[..., Awaitable[Any]],
        deadline: float,
        args: Any,
        kwargs: dict[str, Any],
    ) -> Any:
        if not self.breaker.admit():
            metrics.STORE_FAILURES.labels(self.name.value, method.__name__, "circuit_open").inc()
            raise CircuitOpen(
                f"{self.name.value} store not called: circuit open "
                f"(last failure: {self.breaker.last_failure}; "
                f"next probe in {self.breaker.retry_in():.1f} s)"
            )
        settled = False
        started = time.perf_counter()
        problem: str | None = None  # for the metrics: slow, unreachable, abandoned
        try:
            async with asyncio.timeout(deadline):
                result = await method(*args, **kwargs)
            settled = True
            self.breaker.succeeded()
            self.last_problem = None
            return result
        except BaseException as exc:
            settled = self._settle_failure(exc, deadline)
            problem = self.last_problem if settled else "abandoned"
            if isinstance(exc, _SLOW) or _caused_by_timeout(exc):
                raise StoreSlow(
                    f"{self.name.value} store did not answer within {deadline:g} s"
                ) from exc
            if _is_unreachable(exc) and not isinstance(exc, StoreUnavailable):
                raise StoreUnavailable(
                    f"{self.name.value} store unavailable at {self._where()} ({type(exc).__name__})"
                ) from exc
            raise
        finally:
            if not settled:
                # Cancelled from outside (the client went away): neither outcome.
                self.breaker.abandoned()
            if problem != "abandoned":  # a call nobody waited for says nothing of the store
                metrics.record_store_call(
                    self.name.value, method.__name__, time.perf_counter() - started, problem
                )

    def _settle_failure(self, exc: BaseException, deadline: float) -> bool:
        """Tell the breaker what an exception says about the store; False when nothing."""
        if isinstance(exc, asyncio.CancelledError):
            return False
        if isinstance(exc, _SLOW) or _caused_by_timeout(exc):
            self.last_problem = "slow"
            self.breaker.failed(f"no answer within {deadline:g} s")
        elif _is_unreachable(exc):
            self.last_problem = "unreachable"
            self.breaker.failed(type(exc).__name__)
        elif isinstance(exc, Exception):
            # The store answered (a conflict, a missing target, a query's own error).
            self.breaker.succeeded()
            self.last_problem = None
        else:
            return False
        return True

    def _where(self) -> str:
        # The URL with its password masked; the driver's message may echo connection
        # details, so only the error's type is named.
        engine = getattr(self.store, "engine", None)
        return "?" if engine is None else engine.url.render_as_string(hide_password=True)

    def health(self) -> str | None:
        """None when the store's breaker is closed; else what /readyz should say about it."""
        if self.breaker.state is State.CLOSED:
            return None
        return (
            f"{self.last_problem or 'unavailable'} (circuit {self.breaker.state.value}: "
            f"{self.breaker.failures} consecutive failures, the last "
            f"{self.breaker.last_failure}; next probe in {self.breaker.retry_in():.1f} s)"
        )


def guard_store(store: Store, settings: Settings) -> Store:
    """The adapter behind its deadline and breaker, as the settings say."""
    name = store.name.value
    breaker = Breaker(
        f"{name} store",
        threshold=settings.breaker_failures,
        backoff=settings.breaker_backoff,
        max_backoff=settings.breaker_max_backoff,
    )
    deadlines = {
        StoreName.INTERNAL: settings.internal_store_timeout,
        StoreName.COMMUNITY: settings.community_store_timeout,
    }
    deadline = deadlines[store.name]
    return cast("Store", GuardedStore(store, deadline=deadline, breaker=breaker))


def _is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _UNREACHABLE)


def _caused_by_timeout(exc: BaseException) -> bool:
    """An adapter's StoreUnavailable (its own ping timeout) or a driver error over a timeout."""
    cause = exc.__cause__ or exc.__context__
    return isinstance(exc, StoreUnavailable | DBAPIError) and isinstance(cause, _SLOW)
