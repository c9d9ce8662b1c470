"""The gateway's Prometheus metrics that code below HTTP records (store calls), and the one
way any module defines its own.

Every metric lives in prometheus-client's process-wide registry under the ``gateway_``
prefix, defined once at import time of the module that records it::

    from gateway.runtime import metrics

    RESPONSE_CACHE = metrics.counter(
        "response_cache_lookups", "Response cache lookups, by result.", ("result",)
    )
    RESPONSE_CACHE.labels("hit").inc()

``/metrics`` (:mod:`gateway.http.metrics`) serves them all. Label values must come from a
closed set the code knows (a store's name, a method name, ``hit``/``miss``), never from a
request: a client must not be able to grow the number of series, nor read in them anything
it could not see (content, emails, space names).

With several workers (``gateway serve --workers N``) ``gateway serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start; every counter
and histogram defined here is then written to a file per process and summed over the
workers at scrape time (prometheus-client's multiprocess mode). Gauges need a
``multiprocess_mode`` saying how to combine workers (:func:`gauge`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "LATENCY_BUCKETS",
    "MULTIPROC_ENV",
    "PREFIX",
    "STORE_CALLS",
    "STORE_FAILURES",
    "counter",
    "exposition",
    "gauge",
    "histogram",
    "multiprocess",
    "record_store_call",
]

PREFIX = "gateway_"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: from a cached read (a millisecond) to a store at its deadline (5 s by default).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess() -> bool:
    """Whether metrics are shared by several worker processes (a directory is set)."""
    return bool(os.environ.get(MULTIPROC_ENV))


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """A counter ``gateway_NAME_total`` in the shared registry."""
    return Counter(PREFIX + name, documentation, labelnames=tuple(labels), registry=REGISTRY)


def histogram(
    name: str,
    documentation: str,
    labels: Sequence[str] = (),
    buckets: Sequence[float] = LATENCY_BUCKETS,
) -> Histogram:
    """A histogram ``gateway_NAME`` (seconds, unless the name says otherwise)."""
    return Histogram(
        PREFIX + name,
        documentation,
        labelnames=tuple(labels),
        buckets=tuple(buckets),
        registry=REGISTRY,
    )


def gauge(
    name: str,
    documentation: str,
    labels: Sequence[str] = (),
    multiprocess_mode: Literal[
        "all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent"
    ] = "livesum",
) -> Gauge:
    """A gauge ``gateway_NAME``; ``multiprocess_mode`` says how workers combine (``livesum``:
    the sum over the workers alive, e.g. requests in flight)."""
    return Gauge(
        PREFIX + name,
        documentation,
        labelnames=tuple(labels),
        registry=REGISTRY,
        multiprocess_mode=multiprocess_mode,
    )


def exposition(*extra: CollectorRegistry) -> bytes:
    """The text format of every metric: the shared registry's (over all workers in
    multiprocess mode), then the ``extra`` registries' (read in this process)."""
    if multiprocess():
        shared = CollectorRegistry()
        MultiProcessCollector(shared)
        parts = [generate_latest(shared)]
    else:
        parts = [generate_latest(REGISTRY)]
    parts.extend(generate_latest(registry) for registry in extra)
    return b"".join(parts)


# --- store calls (recorded by gateway.stores.guard.GuardedStore, every call's one door) ---
STORE_CALLS = histogram(
    "store_call_duration_seconds",
    "Seconds a store call took (deadline included), by store and adapter method.",
    ("store", "method"),
)
STORE_FAILURES = counter(
    "store_call_failures",
    "Store calls that failed for want of the store, by reason: slow (past its deadline), "
    "unreachable (refused or broken connection), circuit_open (not called).",
    ("store", "method", "reason"),
)


def record_store_call(store: str, method: str, seconds: float, problem: str | None) -> None:
    """One finished store call: its time, and its failure when the store was the problem
    (``slow`` or ``unreachable``; ``None`` when it answered, even with an error)."""
    STORE_CALLS.labels(store, method).observe(seconds)
    if problem is not None:
        STORE_FAILURES.labels(store, method, problem).inc()
