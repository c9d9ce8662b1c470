"""The ASGI app: services built once in the lifespan, GraphQL and health routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from starlette.applications import Starlette
from starlette.authentication import AuthenticationError
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from gateway.domain.demo import demo_data
from gateway.domain.errors import ErrorCode
from gateway.domain.model import StoreName
from gateway.http import admin_page, graphiql
from gateway.http.body_limit import BodySizeLimit
from gateway.http.cached import CachedExecution, encode_response
from gateway.http.cors import cors_middleware, websocket_origins
from gateway.http.graphql_http import GraphQLOverHTTP
from gateway.http.home import home_page
from gateway.http.logs import request_ids
from gateway.http.metrics import RequestMetrics, count_operations, metrics_endpoint
from gateway.http.persisted import PersistedDocuments
from gateway.http.ratelimit import rate_limit_middleware
from gateway.http.tracing import tracing_middleware
from gateway.identity import dev_login
from gateway.identity.backends import (
    BearerBackend,
    ChainBackend,
    LocalVerifier,
    SessionBackend,
    on_auth_error,
)
from gateway.identity.dev_issuer import DevIssuer
from gateway.identity.dev_login import DEV_PROVIDER
from gateway.identity.introspection import IntrospectionEndpoint, IntrospectionVerifier
from gateway.identity.jwks import JwksCache
from gateway.identity.login import BrowserLogin
from gateway.identity.oidc import OidcVerifier
from gateway.identity.revocation import RevocationCheck
from gateway.identity.session import COOKIE_NAME, session_secret
from gateway.identity.session_middleware import ServerSessionMiddleware
from gateway.identity.session_store import SessionStore
from gateway.policies.admin.changes import is_administrator
from gateway.policies.admin.reload import PolicyReloader
from gateway.policies.admin.watch import InvariantWatch
from gateway.records import NOTIFICATIONS_CHANNEL, Records
from gateway.records.listen import Listener, listens
from gateway.runtime.demo_flags import seed_demo_flags
from gateway.runtime.demo_recognition import seed_demo_recognition
from gateway.runtime.reminders import remind_every
from gateway.runtime.response_cache import GENERATIONS_CHANNEL
from gateway.runtime.services import Services, load_policy, open_stores, start_policy
from gateway.schema import build_admin_schema, build_schema
from gateway.schema.admin import AdminContext
from gateway.schema.context import Context, build_context
from gateway.schema.sdl import schema_file
from gateway.stores.guard import STORE_FAILURES, CircuitOpen, GuardedStore, StoreSlow
from gateway.writes.escalations import seed_demo_escalations

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from starlette.requests import Request
    from starlette.types import Receive, Scope, Send
    from starlette.websockets import WebSocket
    from strawberry.types.unset import UnsetType

    from gateway.config import Settings
    from gateway.domain.principal import Principal
    from gateway.identity.backends import TokenVerifier
    from gateway.stores.interface import Store

log = logging.getLogger("gateway")
READY_TIMEOUT = 3.0
# Seconds between purges of ended and expired sessions (also once at start-up).
SESSION_PURGE_EVERY = 600
# Discovery and key-set requests run while a request waits for its token to be checked.
OUTBOUND_TIMEOUT = httpx.Timeout(5.0)


async def prepare_stores(services: Services) -> None:
    """Create native schemas and, on first start of the demo, load the demo data.

    Existing data is never overwritten: the demo loads only into an empty store. A
    store that is down does not stop the gateway; /readyz names it.
    """
    demo = demo_data()
    loaded: dict[StoreName, Store] = {}
    for name, store in services.stores.items():
        try:
            await store.create_schema()
            if services.settings.demo_data and await store.is_empty():
                await store.load_demo(demo)
                loaded[name] = store
                log.info("loaded the demo data set into the %s store", name.value)
        except STORE_FAILURES as exc:
            log.warning("the %s store is not reachable at start-up: %s", name.value, exc)
    try:
        await services.records.create_schema()
        if loaded:  # the demo's flagged posts, once its stores are new
            await seed_demo_flags(services.stores, services.records, demo, set(loaded))
        await start_policy(services)
        # Keys past their lifetime answer no retry any more; without this they pile up.
        purged = await services.records.purge_keys(datetime.now(UTC))
        if purged:
            log.info("forgot %d idempotency keys past their lifetime", purged)
    except STORE_FAILURES as exc:
        # Reads do not need it; writes retry the schema and are refused while it is down.
        # The policy's history (and a database policy) is read by the reloader once it is up.
        log.warning("the gateway's records database is not reachable at start-up: %s", exc)
        return
    if set(loaded) == set(StoreName) == set(services.stores):
        # The demo's escalations join both stores and the records: made once both stores
        # were just loaded.
        try:
            await seed_demo_escalations(services.stores, services.records, demo)
        except STORE_FAILURES as exc:
            log.warning("could not make the demo's escalations: %s", exc)
    if loaded:
        try:
            # The demo's kudos and badges name its posts by id: the stores hold them now.
            await seed_demo_recognition(loaded, services.records, datetime.now(UTC))
        except STORE_FAILURES as exc:
            log.warning("the demo's kudos and badges were not written: %s", exc)


def _store_problem(store: object, exc: BaseException) -> str:
    """What /readyz says of a store that failed its ping: ``slow`` (it did not answer in
    time), ``unreachable`` (it refused or failed), and whether its circuit is open."""
    if isinstance(exc, CircuitOpen) and isinstance(store, GuardedStore):
        return store.health() or "unavailable: circuit open"
    if isinstance(exc, StoreSlow):
        return f"slow: {_one_line(exc)}"
    if isinstance(exc, asyncio.TimeoutError):  # /readyz's own limit, before the store's
        return f"slow: no answer within {READY_TIMEOUT:g} s"
    return f"unreachable: {_one_line(exc)}"


def build_services(settings: Settings) -> Services:
    """Everything a request needs, built once from settings."""
    dev_issuer = DevIssuer.open(settings.data_dir) if settings.dev_issuer else None
    return Services(
        settings,
        open_stores(settings),
        load_policy(settings),
        dev_issuer,
        Records.for_settings(settings),
    )


class GatewayGraphQL(
    graphiql.OfflineGraphiQL,
    PersistedDocuments,
    CachedExecution,
    GraphQLOverHTTP,
    GraphQL[Context, None],
):
    """Strawberry's ASGI app with our per-request context, over HTTP and websockets:
    persisted documents and the response cache in front of its queries (which builds each
    request's context), and GraphiQL served from the gateway's own files."""

    def __init__(self, services: Services, bearer: BearerBackend, **kwargs: Any) -> None:
        super().__init__(
            build_schema(services.settings),
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            **kwargs,
        )
        self.services = services
        self.bearer = bearer

    def encode_json(self, data: object) -> str | bytes:
        """A cached answer goes out as the JSON kept with it (gateway.http.cached)."""
        kept = encode_response(data)
        return kept if kept is not None else super().encode_json(data)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a websocket on ``connection_init``: browsers cannot send headers with
        the handshake, so a bearer token comes as ``{"Authorization": "Bearer ..."}`` in its
        payload. Without one, the handshake's own session cookie (or guest) stands. A token
        that fails is refused (close 4403), never downgraded to guest."""
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        if header is None:
            return UNSET
        if not isinstance(header, str) or not header.isascii():
            raise ConnectionRejectionError({"reason": "Authorization must be 'Bearer TOKEN'"})
        conn = HTTPConnection({"type": "http", "headers": [(b"authorization", header.encode())]})
        try:
            found = await self.bearer.authenticate(conn)
        except AuthenticationError as exc:
            raise ConnectionRejectionError({"reason": str(exc)}) from None
        if found is None:
            raise ConnectionRejectionError({"reason": "Authorization must be 'Bearer TOKEN'"})
        fresh = await build_context(self.services, found[1])
        context.adopt(fresh)
        return UNSET


class AdminGraphQL(GraphQLOverHTTP, GraphQL[AdminContext, None]):
    """The admin API (/admin/graphql): answered only for those the policy lets administer
    it. Anyone else is turned away before GraphQL runs (401 without credentials, 403
    with), so its schema, even its field names, is never shown to them."""

    def __init__(self, services: Services) -> None:
        super().__init__(
            build_admin_schema(services.settings), graphql_ide=None, allow_queries_via_get=False
        )
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal: Principal = scope["user"]
        if principal.is_guest:
            refusal = JSONResponse(
                {
                    "errors": [
                        {
                            "message": "the admin API needs a security admin's credentials",
                            "extensions": {"code": ErrorCode.UNAUTHENTICATED.value},
                        }
                    ]
                },
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            return await refusal(scope, receive, send)
        if not is_administrator(self.services.policy, principal):
            log.warning("admin API refused to %s: may not administer the policy", principal.id)
            refusal = JSONResponse(
                {
                    "errors": [
                        {
                            "message": "the admin API is for security admins",
                            "extensions": {"code": ErrorCode.FORBIDDEN.value},
                        }
                    ]
                },
                status_code=403,
            )
            return await refusal(scope, receive, send)
        return await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> AdminContext:
        return AdminContext(self.services, request.user)


def provider_verifiers(
    settings: Settings, client: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic
) -> list[OidcVerifier]:
    """One verifier per configured provider, each with its own key cache on the shared client."""
    return [
        OidcVerifier(provider, JwksCache(provider, client, clock=clock))
        for provider in settings.providers
    ]


def opaque_verifier(
    settings: Settings, client: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic
) -> IntrospectionVerifier | None:
    """Introspection at the providers that accept opaque tokens, asked in configuration
    order; None when none does (a token that is not a JWT is then simply malformed)."""
    endpoints = [IntrospectionEndpoint(p, client) for p in settings.providers if p.introspection]
    return IntrospectionVerifier(endpoints, clock=clock) if endpoints else None


def create_app(
    settings: Settings,
    services: Services | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    freeze_heap: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The gateway app; ``services`` may be given by tests that built their own.

    ``freeze_heap`` is for the long-running server (``gateway serve``), not for tests.
    ``clock`` paces refetches of the providers' key sets and ages cached introspection
    answers; ``now`` is the time sessions are created, used and expire at: tests pass
    ones they can advance.
    """
    services = services or build_services(settings)
    local: list[TokenVerifier] = [LocalVerifier(services.dev_issuer)] if services.dev_issuer else []
    bearer = BearerBackend(local, clock=clock)
    sessions = SessionStore(services.records, idle_timeout=settings.session_idle_timeout)
    bearer.revocations = RevocationCheck(sessions, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await prepare_stores(services)
        app.state.services = services
        try:
            # One outbound client for every provider: a shared connection pool, closed
            # with the app.
            async with httpx.AsyncClient(timeout=OUTBOUND_TIMEOUT) as http:
                app.state.http = http
                # Providers' verifiers need the client, which exists only while the app runs;
                # they come after the development issuer in the chain.
                bearer.verifiers = [*local, *provider_verifiers(settings, http, clock)]
                bearer.opaque = opaque_verifier(settings, http, clock)
                for provider in settings.providers:
                    log.info("accepting bearer tokens from %s (%s)", provider.name, provider.issuer)
                    if provider.introspection:
                        log.info("accepting opaque tokens from %s by introspection", provider.name)
                # Before the listener starts: its channels are all registered before it runs.
                await _purge_sessions(sessions, now)
                background = []
                listener = None
                if listens(settings.records_url):
                    # Other replicas' news: policy versions, and notifications to deliver to
                    # this replica's subscribers at once (they poll each second otherwise).
                    listener = Listener(settings.records_url)
                    listener.channels[NOTIFICATIONS_CHANNEL] = services.hub.publish
                    if services.caches is not None:
                        # Other replicas' writes: what this one cached of them is stale.
                        board = services.caches.board
                        listener.channels[GENERATIONS_CHANNEL] = board.heard
                        listener.on_connect.append(board.caught_up)
                    background.append(asyncio.create_task(listener.run(), name="records-listener"))
                background.append(
                    asyncio.create_task(_purge_sessions_every(sessions, now), name="session-purge")
                )
                if settings.invite_remind_days > 0:
                    background.append(
                        asyncio.create_task(remind_every(services), name="invitation-reminders")
                    )
                if settings.policy_reload:
                    reloader = PolicyReloader(
                        services,
                        services.records.known_principals,
                        services.policy_store,
                        listener,
                        safety_poll=settings.policy_safety_poll,
                        breaks=services.policy_admin.breaks_now,
                        refresh=services.invariants.refresh,
                    )
                    background.append(asyncio.create_task(reloader.run(), name="policy-reloader"))
                if settings.policy_invariants_check > 0:  # /readyz's invariants, kept current
                    watch = InvariantWatch.of(services, settings.policy_invariants_check)
                    await watch.start()
                    background.append(asyncio.create_task(watch.run(), name="invariant-watch"))
                if freeze_heap:
                    # The start-up heap (schema, policy, engines) lives as long as the process;
                    # out of the collector's sight, full collections stop walking it. The read
                    # benchmark measured guest p99 64 -> 19 ms at 1M posts with this.
                    gc.collect()
                    gc.freeze()
                try:
                    yield
                finally:
                    for task in background:
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
        finally:
            bearer.verifiers = local
            bearer.opaque = None
            await services.close()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        policy = services.policy
        checks: dict[str, str] = {
            "policy": f"version {policy.describe()} ({len(policy.policy.rules)} rules)",
            "invariants": services.invariants.status(),
        }
        ready = True
        names = list(services.stores)
        results = await asyncio.gather(
            *(asyncio.wait_for(s.ping(), READY_TIMEOUT) for s in services.stores.values()),
            return_exceptions=True,
        )
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                ready = False
                checks[f"{name.value}_store"] = _store_problem(services.stores[name], result)
            else:
                checks[f"{name.value}_store"] = "ok"
        # Reads do without it, but no write can happen while the audit log is away.
        try:
            await asyncio.wait_for(services.records.ping(), READY_TIMEOUT)
            checks["records"] = "ok"
        except Exception as exc:  # whatever the driver raises, the answer is "unreachable"
            ready = False
            checks["records"] = f"unreachable (writes are refused): {_one_line(exc)}"
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    graphql = GatewayGraphQL(
        services,
        bearer,
        graphql_ide="graphiql" if settings.graphiql else None,
        allowed_origins=websocket_origins(settings),
    )
    count_operations(graphql.schema, api="public", settings=settings)
    admin_graphql = AdminGraphQL(services)
    count_operations(admin_graphql.schema, api="admin", settings=settings)
    login = BrowserLogin(
        settings.providers, settings.public_url, secure_cookies=settings.secure_cookies
    )
    # The demo's persona picker exists only while the development issuer is trusted.
    session_providers = [*settings.providers, *([DEV_PROVIDER] if settings.dev_issuer else [])]
    return Starlette(
        routes=[
            Route("/", home_page(settings, dev_issuer=settings.dev_issuer), methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route(
                "/graphql/schema.graphql", schema_file(graphql.schema, settings), methods=["GET"]
            ),
            Route("/admin/graphql", admin_graphql, methods=["POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *login.routes(),
            *(dev_login.routes() if settings.dev_issuer else []),
            *admin_page.routes(services),
            *(graphiql.routes() if settings.graphiql else []),
        ],
        middleware=[
            # Outermost, when on: an OpenTelemetry span around all the rest.
            *tracing_middleware(settings),
            # Before everything: each request's id (X-Request-ID) for its log lines and its
            # response, and its count and latency (gateway/http/metrics.py), refusals included;
            # then /metrics, answered before sessions and authentication.
            request_ids(),
            Middleware(RequestMetrics),
            *metrics_endpoint(settings, services),
            # Then CORS, so refusals too (413, 401, 429) carry its headers to a listed origin.
            *cors_middleware(settings),
            # Outermost of the layers that read: a request too large is refused first.
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
            # Then the session, so the authentication backends can read it (a row in the
            # records database, by the cookie's signed id). SameSite=Lax keeps the cookie off
            # cross-site POSTs (GraphQL mutations, logout).
            Middleware(
                ServerSessionMiddleware,
                store=sessions,
                secret_key=session_secret(settings),
                cookie_name=COOKIE_NAME,
                max_age=settings.session_max_age,
                https_only=settings.secure_cookies,
                now=now,
            ),
            Middleware(
                AuthenticationMiddleware,
                # An explicit Authorization header wins over the cookie; no credentials at
                # all is a guest.
                backend=ChainBackend([bearer, SessionBackend(session_providers)]),
                on_error=on_auth_error,
            ),
            # Inside authentication: a budget per principal (a guest's per address).
            *rate_limit_middleware(settings),
        ],
        lifespan=lifespan,
    )


async def _purge_sessions(sessions: SessionStore, now: Callable[[], datetime]) -> None:
    """Delete ended and expired sessions: the table holds the live sessions, not a history
    (the audit log keeps revokes)."""
    try:
        purged = await sessions.purge(now())
        if purged:
            log.info("purged %d ended or expired sessions", purged)
    except STORE_FAILURES as exc:
        log.warning("sessions not purged, the records database is unreachable: %s", exc)


async def _purge_sessions_every(sessions: SessionStore, now: Callable[[], datetime]) -> None:
    while True:
        await asyncio.sleep(SESSION_PURGE_EVERY)
        await _purge_sessions(sessions, now)


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:200]
