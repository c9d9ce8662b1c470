"""Rate limits per caller: so many requests in a sliding window, then 429 with Retry-After.

A pure ASGI middleware inside authentication (it reads ``scope["user"]``). The caller is
the principal (``Principal.id``) when authenticated, else the client's address: the peer
of the connection, or, when the peer is one of ``ratelimit.trusted_proxies``, the nearest
address in ``X-Forwarded-For`` that is not a trusted proxy (a header any client can write
is never believed from anyone else). Authenticated callers and guests have rates of their
own (``ratelimit.rate``, ``ratelimit.guest_rate``); either may be off. Personas may have
rates of their own instead (``ratelimit.persona_rates``): a caller gets the most generous
among its personas listed there (a guest's persona is ``guest``). The admin API and
page (``/admin...``) spend a stricter budget of their own besides, per caller
(``ratelimit.admin_rate``), and the login routes (``/auth/...``) one per client address
(``ratelimit.login_rate``).

The counts live in this process (``memory://``) or in Redis (``ratelimit.storage_url``),
where every replica shares them: the `limits <https://limits.readthedocs.io>`_ library's
sliding window counter, with its asyncio storage. Not its moving window: that keeps one
entry per request (600 per caller at the default rate, in Redis too), and in memory it
hands every count to a worker thread, which cost a cached answer a quarter of its time; the
counter keeps two numbers per caller and weighs the last window's by how much of it is
still inside the current one. Health (``/healthz``, ``/readyz``) and
``/metrics`` are never limited, nor are websocket messages (a subscription is one
request).

When Redis cannot answer within ``ratelimit.storage_timeout``, the request is let through
(fail open) and a warning is logged once until Redis answers again: the limits protect
capacity, and a Redis outage must not take the API down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import time
from typing import TYPE_CHECKING

import redis.asyncio
from limits import parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.middleware import Middleware
from starlette.responses import JSONResponse

from gateway.config.limits import persona_value
from gateway.domain.errors import ErrorCode
from gateway.runtime import metrics

if TYPE_CHECKING:
    from limits import RateLimitItem
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from gateway.config import Settings
    from gateway.config.observability import Network

__all__ = ["EXEMPT_PATHS", "RateLimit", "caller_key", "rate_limit_middleware"]

log = logging.getLogger("gateway.ratelimit")

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
REFUSED = metrics.counter(
    "rate_limited_requests",
    "Requests refused by a rate limit, by budget (guest, authenticated, admin, login).",
    ("caller",),
)
STORAGE_FAILURES = metrics.counter(
    "rate_limit_storage_failures",
    "Rate-limit checks let through because the storage did not answer.",
)


def caller_key(scope: Scope, trusted_proxies: tuple[Network, ...]) -> tuple[str, bool]:
    """Who the budget belongs to, and whether that is a guest (by address)."""
    principal = scope.get("user")
    if principal is not None and not getattr(principal, "is_guest", True):
        return f"principal:{principal.id}", False
    return f"address:{client_address(scope, trusted_proxies)}", True


def client_address(scope: Scope, trusted_proxies: tuple[Network, ...]) -> str:
    """The peer's address, or behind trusted proxies the one they were asked by."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    forwarded = [
        part.strip()
        for value in _headers(scope, b"x-forwarded-for")
        for part in value.split(",")
        if part.strip()
    ]
    # From the nearest hop outwards: the first address no trusted proxy owns.
    for hop in reversed(forwarded):
        if not _trusted(hop, trusted_proxies):
            return hop if _address(hop) is not None else peer
    return forwarded[0] if forwarded else peer


def _headers(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(text: str, networks: tuple[Network, ...]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)


def _storage(settings: Settings) -> tuple[object, redis.asyncio.ConnectionPool | None]:
    """The limits library's storage, and the Redis connections it uses (ours to close)."""
    url = settings.rate_limit_storage
    if url.startswith("memory:"):
        return storage_from_string("async+memory://"), None
    timeout = settings.rate_limit_timeout
    # redis-py's asyncio client, with its socket bounded by the same timeout.
    pool = redis.asyncio.ConnectionPool.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    storage = storage_from_string(
        f"async+{url}",
        implementation="redispy",
        wrap_exceptions=True,
        connection_pool=pool,  # type: ignore[arg-type]
    )
    return storage, pool


def _rate(text: str | None) -> tuple[RateLimitItem, str] | None:
    return None if text is None else (parse(text), text)


def _generosity(rate: tuple[RateLimitItem, str] | None) -> float:
    """Requests per second a rate allows (no limit: every one)."""
    if rate is None:
        return math.inf
    return rate[0].amount / rate[0].get_expiry()


class RateLimit:
    """The middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        # By "is a guest": the rate, and its text as configured (for the refusal's message).
        self.rates = {False: _rate(settings.rate_limit), True: _rate(settings.guest_rate_limit)}
        # ... and by persona, where configured: (persona, parsed rate or None for none).
        self.persona_rates = tuple((p, _rate(text)) for p, text in settings.rate_limit_by_persona)
        # Stricter budgets by path prefix: (prefix, kind, rate, per address always).
        self.groups = [
            (prefix, kind, rate, by_address)
            for prefix, kind, text, by_address in (
                ("/admin", "admin", settings.admin_rate_limit, False),
                ("/auth/", "login", settings.login_rate_limit, True),
            )
            if (rate := _rate(text)) is not None
        ]
        self.trusted_proxies = settings.rate_limit_trusted_proxies
        self.timeout = settings.rate_limit_timeout
        self.where = "redis" if not settings.rate_limit_storage.startswith("memory:") else "memory"
        storage, self.pool = _storage(settings)
        self.limiter = SlidingWindowCounterRateLimiter(storage)  # type: ignore[arg-type]
        self.storage_down = False

    async def aclose(self) -> None:
        """Close the Redis connections (at the app's shutdown)."""
        if self.pool is not None:
            with contextlib.suppress(Exception):  # shutting down: nothing left to tell
                await self.pool.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, self._closing(send))
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            return await self.app(scope, receive, send)
        key, guest = caller_key(scope, self.trusted_proxies)
        budgets: list[tuple[str, RateLimitItem, str, str]] = []
        found = self._rate_of(scope, guest)
        if found is not None:
            budgets.append(("guest" if guest else "authenticated", *found, key))
        path = scope["path"]
        for prefix, kind, (rate, text), by_address in self.groups:
            if path.startswith(prefix):
                own = (
                    f"address:{client_address(scope, self.trusted_proxies)}" if by_address else key
                )
                budgets.append((kind, rate, text, f"{kind}:{own}"))
        for kind, rate, text, budget_key in budgets:
            retry_after = await self._spend(rate, budget_key)
            if retry_after is not None:
                REFUSED.labels(kind).inc()
                where = "" if kind in ("guest", "authenticated") else f" for {kind} requests"
                refusal = JSONResponse(
                    {
                        "errors": [
                            {
                                "message": f"too many requests: the limit{where} is {text}; "
                                f"retry in {retry_after} s",
                                "extensions": {
                                    "code": ErrorCode.RATE_LIMITED.value,
                                    "retryAfter": retry_after,
                                },
                            }
                        ]
                    },
                    status_code=429,
                    headers={"Retry-After": str(retry_after)},
                )
                return await refusal(scope, receive, send)
        return await self.app(scope, receive, send)

    def _rate_of(self, scope: Scope, guest: bool) -> tuple[RateLimitItem, str] | None:
        """The caller's own rate: their personas' most generous, else by "is a guest"."""
        if not self.persona_rates:
            return self.rates[guest]
        principal = scope.get("user")
        roles = () if guest or principal is None else getattr(principal, "roles", ())
        rate: tuple[RateLimitItem, str] | None = persona_value(
            self.persona_rates, roles, self.rates[guest], rank=_generosity
        )
        return rate

    def _closing(self, send: Send) -> Send:
        async def closing(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.aclose()
            await send(message)

        return closing

    async def _spend(self, rate: RateLimitItem, key: str) -> int | None:
        """Count one request: None when within the budget, else the seconds to wait."""
        try:
            async with asyncio.timeout(self.timeout):
                if await self.limiter.hit(rate, key):
                    self._answered()
                    return None
                reset, _remaining = await self.limiter.get_window_stats(rate, key)
        except (StorageError, TimeoutError, OSError) as exc:
            STORAGE_FAILURES.inc()
            if not self.storage_down:
                self.storage_down = True
                log.warning(
                    "rate limits are not enforced: the %s storage did not answer within "
                    "%g s (%s); requests are let through until it does",
                    self.where,
                    self.timeout,
                    type(exc).__name__,
                )
            return None
        self._answered()
        return max(1, math.ceil(reset - time.time()))

    def _answered(self) -> None:
        if self.storage_down:
            self.storage_down = False
            log.warning("rate limits are enforced again: the %s storage answers", self.where)


def rate_limit_middleware(settings: Settings) -> list[Middleware]:
    """The middleware, or none when every rate is off."""
    rates = (
        settings.rate_limit,
        settings.guest_rate_limit,
        settings.admin_rate_limit,
        settings.login_rate_limit,
    )
    by_persona = tuple(rate for _persona, rate in settings.rate_limit_by_persona)
    if all(rate is None for rate in (*rates, *by_persona)):
        return []
    return [Middleware(RateLimit, settings=settings)]
