"""The circuit breaker's states, on a clock the test moves (no sleeping, no timing)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.stores.breaker import Breaker, State

if TYPE_CHECKING:
    import pytest


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock) -> Breaker:
    return Breaker("community store", threshold=3, backoff=5.0, max_backoff=20.0, clock=clock)


def test_opens_after_consecutive_failures_only() -> None:
    breaker = _breaker(Clock())
    breaker.failed("TimeoutError")
    breaker.failed("TimeoutError")
    breaker.succeeded()  # not consecutive any more
    breaker.failed("TimeoutError")
    breaker.failed("TimeoutError")
    assert breaker.state is State.CLOSED and breaker.admit()
    breaker.failed("TimeoutError")
    assert breaker.state is State.OPEN
    assert not breaker.admit()


def test_one_probe_after_the_back_off_and_its_success_closes() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.failed("OSError")
    clock.now += 4.9
    assert not breaker.admit()
    clock.now += 0.2
    assert breaker.admit()  # the probe
    assert breaker.state is State.HALF_OPEN
    assert not breaker.admit()  # everyone else still fails fast while it runs
    breaker.succeeded()
    assert breaker.state is State.CLOSED
    assert all(breaker.admit() for _ in range(10))


def test_a_failed_probe_waits_longer_up_to_the_cap() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.failed("OSError")
    waits = []
    for _ in range(4):
        waits.append(breaker.retry_in())
        clock.now += breaker.retry_in()
        assert breaker.admit()
        breaker.failed("OSError")
    assert waits == [5.0, 10.0, 20.0, 20.0]
    # Recovery resets the back-off for the next outage.
    clock.now += breaker.retry_in()
    assert breaker.admit()
    breaker.succeeded()
    for _ in range(3):
        breaker.failed("OSError")
    assert breaker.retry_in() == 5.0


def test_a_cancelled_probe_does_not_leave_it_half_open() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.failed("OSError")
    clock.now += 5.0
    assert breaker.admit()
    breaker.abandoned()  # the client went away mid-probe
    assert breaker.state is State.OPEN
    assert breaker.admit()  # the next caller probes at once


def test_state_changes_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    breaker = _breaker(clock)
    with caplog.at_level(logging.INFO, logger="gateway.breaker"):
        for _ in range(3):
            breaker.failed("TimeoutError")
        for _ in range(100):
            assert not breaker.admit()  # failing fast logs nothing
        clock.now += 5.0
        assert breaker.admit()
        breaker.succeeded()
        for _ in range(100):
            breaker.succeeded()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "community store: circuit open after 3 consecutive failures, the last TimeoutError;"
        " failing fast for 5.0 s",
        "community store: circuit half-open, letting one call through as a probe",
        "community store: circuit closed, the dependency answers again",
    ]
