"""``/metrics`` in Prometheus's text format: HTTP requests and GraphQL operations, store
calls, circuit breakers, the policy in force and its compiled-scope cache.

What is recorded where:

* :class:`RequestMetrics` (ASGI middleware): every HTTP request by route *template*
  (``/admin/static/{name}``, never the path asked; ``unmatched`` for none), method and
  status, with its latency.
* :class:`OperationMetrics` (a strawberry extension): every GraphQL operation by API,
  operation type, outcome and operation name. Names come from clients, so they are
  bounded (:class:`OperationNames`): the first ``metrics.max_operation_names`` distinct
  names of operations that passed validation get a series of their own, later ones count
  as ``_other``; documents that fail to parse or validate as ``_invalid``.
* :mod:`gateway.runtime.metrics`: store calls (recorded by the store guard), and the
  helpers other modules define their own metrics with.
* :class:`ServicesCollector`: read when scraped, from the services: the policy version,
  compiled-scope cache hits and misses, each store's circuit state, and the response
  cache's hits, misses, answers not kept, evictions and size.

Who may read it (:class:`MetricsEndpoint`): clients from ``metrics.allow_from`` (loopback
by default) and, wherever they are, those presenting ``GATEWAY_METRICS_TOKEN`` as a bearer
token. No label carries content, an email or a space name.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.extensions import SchemaExtension
from strawberry.schema import Schema

from gateway.domain.errors import ErrorCode
from gateway.domain.permissions import Action, Persona, Resource
from gateway.runtime import metrics
from gateway.stores.breaker import State
from gateway.stores.guard import GuardedStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from prometheus_client.metrics_core import Metric
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
    from strawberry.schema.base import BaseSchema

    from gateway.config import Settings
    from gateway.policies.compiler import PolicyIndex
    from gateway.runtime.services import Services

__all__ = [
    "MetricsEndpoint",
    "OperationMetrics",
    "OperationNames",
    "RequestMetrics",
    "ServicesCollector",
    "count_denials",
    "count_operations",
    "metrics_endpoint",
]

HTTP_REQUESTS = metrics.counter(
    "http_requests",
    "HTTP requests answered, by route template, method and status.",
    ("route", "method", "status"),
)
HTTP_SECONDS = metrics.histogram(
    "http_request_duration_seconds",
    "Seconds from a request's arrival to its response's last byte, by route, method, status.",
    ("route", "method", "status"),
)
GRAPHQL_OPERATIONS = metrics.counter(
    "graphql_operations",
    "GraphQL operations, by API, operation type, outcome (ok, errors, refused before "
    "execution), operation name (bounded: _anonymous, _invalid, _other) and the caller's "
    "most privileged persona.",
    ("api", "operation_type", "outcome", "operation_name", "persona"),
)
GRAPHQL_SECONDS = metrics.histogram(
    "graphql_operation_duration_seconds",
    "Seconds a GraphQL query or mutation took from parsing to its result (subscriptions "
    "are counted, not timed), by API, operation type and (bounded) operation name.",
    ("api", "operation_type", "operation_name"),
)
AUTHORIZATION_DENIALS = metrics.counter(
    "authorization_denials",
    "Authorization denials made for callers, by reason (no_grant: no policy line allows it; "
    "deny_rule: a deny line refuses it; not_in_scope: a write aimed at something outside "
    "the caller's read scope), policy object (a space or a guarded field; a node type for "
    "not_in_scope) and action; each distinct check counted once per operation.",
    ("reason", "object", "action"),
)
DENIAL_REASONS = frozenset({"no_grant", "deny_rule", "not_in_scope"})
DENIAL_OBJECTS = frozenset(
    {r.value for r in Resource}
    | {"Space", "Question", "Answer", "Prototype", "Feedback", "Invitation", "Person"}
)
DENIAL_ACTIONS = frozenset({a.value for a in Action} | {"write"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
ANONYMOUS, INVALID, OTHER = "_anonymous", "_invalid", "_other"
# The persona label: the first of these the caller holds (roles outside the closed set of
# personas, e.g. a provider's own, are not label values).
PERSONAS = tuple(
    p.value
    for p in (
        Persona.SECURITY_ADMIN,
        Persona.COMMUNITY_MANAGER,
        Persona.MODERATOR,
        Persona.EMPLOYEE,
        Persona.CONTRACTOR,
        Persona.PARTNER,
        Persona.TRUSTED_CUSTOMER,
        Persona.MEMBER,
        Persona.GUEST,
    )
)
MAX_NAME_LENGTH = 64


class RequestMetrics:
    """Pure ASGI middleware (it runs in the request's own task and never reads the body):
    counts and times every HTTP request once its response has been sent or has failed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before responding

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            # The router leaves the route it matched in the scope; its path is a template.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "other"
            labels = (route, method, str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_SECONDS.labels(*labels).observe(time.perf_counter() - started)


class OperationNames:
    """Operation names as label values, bounded: a name gets its own series only among the
    first ``limit`` distinct names seen in this process; every later one is ``_other``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: object) -> str:
        if not name:
            return ANONYMOUS
        if not isinstance(name, str):  # a client's operationName may be any JSON value
            return INVALID
        if len(name) > MAX_NAME_LENGTH or not name.isascii():
            return OTHER
        with self._lock:
            if name in self._seen:
                return name
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(name)
            return name


class OperationMetrics(SchemaExtension):
    """Counts and times each GraphQL operation (built per operation by
    :func:`count_operations`, which gives it the API's name and the bounded names)."""

    def __init__(self, *, api: str, names: OperationNames) -> None:
        self.api = api
        self.names = names

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._record(time.perf_counter() - started)

    def _record(self, seconds: float) -> None:
        context = self.execution_context
        refused = bool(context.pre_execution_errors) or context.graphql_document is None
        try:
            kind = context.operation_type.value
        except Exception:  # no document, or no operation of that name in it
            kind = "unknown"
        if refused:
            outcome, name = "refused", INVALID
        else:
            result = context.result
            outcome = "errors" if result is not None and result.errors else "ok"
            name = self.names.label(context.operation_name)
        GRAPHQL_OPERATIONS.labels(self.api, kind, outcome, name, _persona(context.context)).inc()
        count_denials(context.context)
        if kind != "subscription":  # a subscription lasts as long as the client stays
            GRAPHQL_SECONDS.labels(self.api, kind, name).observe(seconds)


def count_denials(context: object) -> None:
    """Count the denials the caller's authorizer wrote down, and forget them (a websocket's
    authorizer lives for several operations). Labels outside the known sets are ``other``."""
    authorizer = getattr(getattr(context, "caller", None), "authorizer", None)
    denials: list[tuple[str, str, str]] | None = getattr(authorizer, "denials", None)
    if not denials:
        return
    for reason, obj, act in denials:
        AUTHORIZATION_DENIALS.labels(
            reason if reason in DENIAL_REASONS else OTHER,
            obj if obj in DENIAL_OBJECTS else OTHER,
            act if act in DENIAL_ACTIONS else OTHER,
        ).inc()
    denials.clear()


def _persona(context: object) -> str:
    # The caller's principal as is: the public context's ``principal`` would mark the
    # answer as depending on who asks, and the response cache would never keep it.
    caller = getattr(context, "caller", None)
    principal = getattr(caller if caller is not None else context, "principal", None)
    roles = getattr(principal, "roles", None) or ()
    return next((p for p in PERSONAS if p in roles), OTHER)


def count_operations(schema: BaseSchema, *, api: str, settings: Settings) -> None:
    """Add :class:`OperationMetrics` to a built schema, first: its ``on_operation`` wraps
    every other extension's (they exit last in, first out), so it times all of their work
    and sees the result once they have finished it."""
    if not isinstance(schema, Schema):
        raise TypeError(f"not a strawberry schema with extensions: {schema!r}")
    names = OperationNames(settings.metrics_max_operation_names)

    def extension() -> OperationMetrics:
        return OperationMetrics(api=api, names=names)

    schema.extensions = (extension, *schema.extensions)
    schema.operation_names = names  # type: ignore[attr-defined]  # for count_cached_answer


def count_cached_answer(schema: BaseSchema, operation: str | None, context: object) -> None:
    """Count a query the response cache answered (strawberry never ran it, so
    :class:`OperationMetrics` did not see it): outcome ``cached``."""
    names: OperationNames | None = getattr(schema, "operation_names", None)
    if names is None:
        return
    GRAPHQL_OPERATIONS.labels(
        "public", "query", "cached", names.label(operation), _persona(context)
    ).inc()
    count_denials(context)


class ServicesCollector(Collector):
    """What the services hold, read at scrape time (this process's, in multiprocess mode:
    each series then carries the worker's ``pid``). The compiled-scope cache's counters
    start afresh with each policy version; they are carried over here so that the
    exported counters only grow."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._index: PolicyIndex | None = None
        self._carried = (0, 0)  # hits and misses of the policy versions before
        self._lock = threading.Lock()
        self._pid = {"pid": str(os.getpid())} if metrics.multiprocess() else {}

    def collect(self) -> Iterable[Metric]:
        extra, values = list(self._pid), list(self._pid.values())
        index = self.services.policy
        info = InfoMetricFamily(
            f"{metrics.PREFIX}policy", "The policy in force: its content hash.", labels=extra
        )
        info.add_metric(values, {"sha256": index.version[:12]})
        version = GaugeMetricFamily(
            f"{metrics.PREFIX}policy_version",
            "Number of the policy in force in the policy history (0: not recorded).",
            labels=extra,
        )
        version.add_metric(values, index.number or 0)
        hits, misses = self._cache_totals(index)
        lookups = CounterMetricFamily(
            f"{metrics.PREFIX}compiled_scope_cache_lookups",
            "Lookups of compiled scopes (a principal's grants under the policy in force), "
            "by result.",
            labels=["result", *extra],
        )
        lookups.add_metric(["hit", *values], hits)
        lookups.add_metric(["miss", *values], misses)
        entries = GaugeMetricFamily(
            f"{metrics.PREFIX}compiled_scope_cache_entries",
            "Principals whose scopes are compiled under the policy in force.",
            labels=extra,
        )
        entries.add_metric(values, len(index.compiled))
        circuit = GaugeMetricFamily(
            f"{metrics.PREFIX}store_circuit_state",
            "1 for the state each store's circuit breaker is in (closed: the store is "
            "called; open: it is not; half-open: one probe is let through).",
            labels=["store", "state", *extra],
        )
        failures = GaugeMetricFamily(
            f"{metrics.PREFIX}store_consecutive_failures",
            "Consecutive failures of each store (the breaker opens at stores.breaker_failures).",
            labels=["store", *extra],
        )
        for name, store in sorted(self.services.stores.items(), key=lambda i: i[0].value):
            if not isinstance(store, GuardedStore):
                continue
            for state in State:
                on = 1 if store.breaker.state is state else 0
                circuit.add_metric([name.value, state.value, *values], on)
            failures.add_metric([name.value, *values], store.breaker.failures)
        return [info, version, lookups, entries, circuit, failures, *self._responses(extra, values)]

    def _responses(self, extra: list[str], values: list[str]) -> list[Metric]:
        """The response cache's counts (none when cache.max_age is 0): its hit ratio is
        hits / (hits + misses)."""
        caches = self.services.caches
        if caches is None:
            return []
        cache = caches.responses
        stats = cache.stats
        lookups = CounterMetricFamily(
            f"{metrics.PREFIX}response_cache_lookups",
            "Queries looked up in the response cache, by result (hit: answered from it).",
            labels=["result", *extra],
        )
        lookups.add_metric(["hit", *values], stats.hits)
        lookups.add_metric(["miss", *values], stats.misses)
        skipped = CounterMetricFamily(
            f"{metrics.PREFIX}response_cache_not_kept",
            "Answers not kept: they depended on who asked, carried an error, or were too large.",
            labels=extra,
        )
        skipped.add_metric(values, stats.uncacheable)
        evicted = CounterMetricFamily(
            f"{metrics.PREFIX}response_cache_evictions",
            "Answers pushed out to stay within cache.max_bytes.",
            labels=extra,
        )
        evicted.add_metric(values, stats.evicted)
        size = GaugeMetricFamily(
            f"{metrics.PREFIX}response_cache_bytes",
            "Bytes of answers the response cache holds (bounded by cache.max_bytes).",
            labels=extra,
        )
        size.add_metric(values, cache.bytes)
        held = GaugeMetricFamily(
            f"{metrics.PREFIX}response_cache_entries",
            "Answers the response cache holds.",
            labels=extra,
        )
        held.add_metric(values, len(cache))
        return [lookups, skipped, evicted, size, held]

    def _cache_totals(self, index: PolicyIndex) -> tuple[int, int]:
        with self._lock:
            if self._index is not None and self._index is not index:
                old = self._index.compiled
                self._carried = (self._carried[0] + old.hits, self._carried[1] + old.misses)
            self._index = index
            return self._carried[0] + index.compiled.hits, self._carried[1] + index.compiled.misses


class MetricsEndpoint:
    """``GET /metrics``, answered in front of the session and authentication layers (ASGI
    middleware, inside :class:`RequestMetrics`): a scraper's bearer token is the metrics
    token, not a caller's credentials, and a scrape never touches the records database.
    Other paths pass through. Built by :func:`metrics_endpoint`."""

    PATH = "/metrics"

    def __init__(self, app: ASGIApp, *, settings: Settings, services: Services) -> None:
        self.app = app
        self.allowed = admits(settings)
        self.own = CollectorRegistry(auto_describe=False)
        self.own.register(ServicesCollector(services))
        # For RequestMetrics: the scrape's route label, as the router would leave it.
        self.route = Route(self.PATH, self.endpoint, methods=["GET"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.PATH:
            return await self.app(scope, receive, send)
        scope["route"] = self.route
        await self.route.handle(scope, receive, send)

    async def endpoint(self, request: Request) -> Response:
        refusal = self.allowed(request)
        if refusal is not None:
            return refusal
        return Response(metrics.exposition(self.own), media_type=CONTENT_TYPE_LATEST)


def metrics_endpoint(settings: Settings, services: Services) -> list[Middleware]:
    """The middleware that answers ``/metrics`` (none when ``metrics.enabled`` is off)."""
    if not settings.metrics_enabled:
        return []
    return [Middleware(MetricsEndpoint, settings=settings, services=services)]


def admits(settings: Settings) -> Callable[[Request], Response | None]:
    """The check of who may scrape: None to answer, else the refusal to send."""
    networks = settings.metrics_allow_from
    token = settings.metrics_token

    def check(request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if token and scheme.lower() == "bearer":
            if hmac.compare_digest(presented.strip().encode(), token.encode()):
                return None
            return _refuse(401, "the metrics token is not valid", ErrorCode.UNAUTHENTICATED)
        if _address_in(request.client.host if request.client else None, networks):
            return None
        if token:
            return _refuse(401, "metrics need the metrics token", ErrorCode.UNAUTHENTICATED)
        return _refuse(403, "metrics are answered only to metrics.allow_from", ErrorCode.FORBIDDEN)

    return check


def _address_in(host: str | None, networks: Iterable[Any]) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _refuse(status: int, message: str, code: ErrorCode) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"errors": [{"message": message, "extensions": {"code": code.value}}]}
    return JSONResponse(body, status_code=status, headers=headers)
