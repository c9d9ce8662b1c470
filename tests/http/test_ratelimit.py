"""Rate limits per caller, through the app over HTTP: in memory, and shared through Redis.

Budgets are per hour, so no test depends on how fast it runs. Redis tests use a real
server (``GATEWAY_TEST_REDIS_URL``, default 127.0.0.1:6379) and skip when there is none,
unless ``GATEWAY_TEST_REQUIRE`` names ``redis`` (CI); their callers are fresh each run,
so counts left in Redis by an earlier run never meet them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx
import pytest
import redis.asyncio

from gateway.config import ConfigError, Settings
from gateway.http.app import create_app
from gateway.http.ratelimit import RateLimit
from tests.databases import REQUIRED

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette

REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
VIEWER = {"query": "{ viewer { id isGuest } }"}


@asynccontextmanager
async def gateway(tmp_path: Path, **environ: str) -> AsyncIterator[Starlette]:
    settings = Settings.load(
        environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_RATE_LIMIT": "5/hour"} | environ
    )
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            yield application
    finally:
        # Served, the app's lifespan closes the limiter's Redis connections; here the
        # router's lifespan runs alone, so the test closes them.
        layer = application.middleware_stack
        while layer is not None and not isinstance(layer, RateLimit):
            layer = getattr(layer, "app", None)
        if layer is not None:
            await layer.aclose()


@asynccontextmanager
async def client(app: Starlette, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


def bearer(app: Starlette, email: str) -> dict[str, str]:
    issuer = app.state.services.dev_issuer
    token = issuer.issue(email=email, name=email.split("@")[0], roles=["employee"])
    return {"Authorization": f"Bearer {token}"}


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(response.headers["retry-after"])


async def spend(c: httpx.AsyncClient, times: int, headers: dict[str, str] | None = None) -> None:
    for _ in range(times):
        answered = await c.post("/graphql", json=VIEWER, headers=headers or {})
        assert answered.status_code == 200, answered.text
        assert "errors" not in answered.json()


async def test_the_sixth_request_of_five_an_hour_is_429_for_that_caller_only(
    tmp_path: Path,
) -> None:
    async with gateway(tmp_path) as app, client(app) as c:
        erin, hana = bearer(app, "erin@corp.example"), bearer(app, "hana@corp.example")
        await spend(c, 5, erin)
        assert_rate_limited(await c.post("/graphql", json=VIEWER, headers=erin))
        # Any route counts (not only GraphQL), and the refusal stands.
        assert_rate_limited(await c.get("/", headers=erin))
        # Another principal, and the guests at the same address, have budgets of their own.
        await spend(c, 5, hana)
        await spend(c, 5)
        assert_rate_limited(await c.post("/graphql", json=VIEWER, headers=hana))


async def test_guests_are_counted_by_address(tmp_path: Path) -> None:
    async with (
        gateway(tmp_path, GATEWAY_RATE_LIMIT_GUEST="3/hour") as app,
        client(app, "203.0.113.7") as first,
        client(app, "203.0.113.8") as second,
    ):
        await spend(first, 3)
        assert_rate_limited(await first.post("/graphql", json=VIEWER))
        # A header any client can write names no one unless its sender is a trusted proxy.
        spoofed = {"X-Forwarded-For": "198.51.100.1"}
        assert_rate_limited(await first.post("/graphql", json=VIEWER, headers=spoofed))
        await spend(second, 3)
        assert_rate_limited(await second.post("/graphql", json=VIEWER))


async def test_behind_a_trusted_proxy_guests_are_its_clients(tmp_path: Path) -> None:
    async with (
        gateway(
            tmp_path,
            GATEWAY_RATE_LIMIT_GUEST="2/hour",
            GATEWAY_RATE_LIMIT_TRUSTED_PROXIES="10.0.0.0/8",
        ) as app,
        client(app, "10.1.2.3") as proxy,
    ):
        alice = {"X-Forwarded-For": "198.51.100.1"}
        # A client's own claim, then the proxy's (10.9.9.9 is a trusted hop too).
        bob = {"X-Forwarded-For": "198.51.100.1, 198.51.100.2, 10.9.9.9"}
        await spend(proxy, 2, alice)
        assert_rate_limited(await proxy.post("/graphql", json=VIEWER, headers=alice))
        await spend(proxy, 2, bob)
        assert_rate_limited(await proxy.post("/graphql", json=VIEWER, headers=bob))
        # Requests the proxy sends on its own behalf count as its own.
        await spend(proxy, 2)
        assert_rate_limited(await proxy.post("/graphql", json=VIEWER))


async def test_health_and_metrics_are_never_limited(tmp_path: Path) -> None:
    async with gateway(tmp_path, GATEWAY_RATE_LIMIT_GUEST="1/hour") as app, client(app) as c:
        await spend(c, 1)
        assert_rate_limited(await c.post("/graphql", json=VIEWER))
        for _ in range(5):
            assert (await c.get("/healthz")).status_code == 200
            assert (await c.get("/readyz")).status_code == 200
            metrics = await c.get("/metrics")
            assert metrics.status_code == 200
        assert 'gateway_rate_limited_requests_total{caller="guest"}' in metrics.text


async def test_a_rate_of_off_is_no_limit(tmp_path: Path) -> None:
    async with (
        gateway(tmp_path, GATEWAY_RATE_LIMIT="off", GATEWAY_RATE_LIMIT_GUEST="1/hour") as app,
        client(app) as c,
    ):
        await spend(c, 8, bearer(app, "erin@corp.example"))
        await spend(c, 1)
        assert_rate_limited(await c.post("/graphql", json=VIEWER))


def test_rate_settings(tmp_path: Path) -> None:
    defaults = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)})
    assert (defaults.rate_limit, defaults.guest_rate_limit) == ("600/minute", "120/minute")
    assert defaults.rate_limit_storage == "memory://"
    assert defaults.rate_limit_trusted_proxies == ()
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[ratelimit]\nrate = "100 per 5 minutes"\nguest_rate = "0"\n'
        'storage_url = "redis://cache:6379/1"\ntrusted_proxies = ["10.0.0.0/8"]\n'
    )
    settings = Settings.load(config, environ={"GATEWAY_RATE_LIMIT": "50/second"})
    assert (settings.rate_limit, settings.guest_rate_limit) == ("50/second", None)
    assert settings.rate_limit_storage == "redis://cache:6379/1"
    assert [str(n) for n in settings.rate_limit_trusted_proxies] == ["10.0.0.0/8"]
    for env, value, reason in (
        ("GATEWAY_RATE_LIMIT", "lots", "a rate such as 600/minute"),
        ("GATEWAY_RATE_LIMIT", "5/minute;10/hour", "a rate such as 600/minute"),
        ("GATEWAY_RATE_LIMIT_STORAGE", "memcached://x", "memory:// or a redis:// URL"),
    ):
        with pytest.raises(ConfigError, match=f"{env}: expected {reason}"):
            Settings.load(environ={env: value})


# --- Redis ---------------------------------------------------------------------------------


async def _redis_or_skip() -> None:
    probe = redis.asyncio.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
    try:
        await probe.ping()
    except Exception as exc:  # any failure to answer means: not here
        reason = (
            f"redis not reachable at {REDIS_URL} ({type(exc).__name__}); set GATEWAY_TEST_REDIS_URL"
        )
        if "redis" in REQUIRED:
            pytest.fail(f"required backend missing: {reason}")
        pytest.skip(reason)
    finally:
        await probe.aclose()


async def test_replicas_share_budgets_through_redis(tmp_path: Path) -> None:
    await _redis_or_skip()
    shared = {"GATEWAY_RATE_LIMIT_STORAGE": REDIS_URL, "GATEWAY_RATE_LIMIT_GUEST": "4/hour"}
    # A guest address of this run's own (198.18.0.0/15 is for tests).
    fresh = uuid.uuid4().int
    guest = f"198.{18 + fresh % 2}.{fresh // 2 % 256}.{fresh // 512 % 256}"
    # Both replicas trust the same development issuer (one data directory).
    async with (
        gateway(tmp_path, **shared) as one,
        gateway(tmp_path, **shared) as two,
        client(one, guest) as a,
        client(two, guest) as b,
    ):
        email = f"r{uuid.uuid4().hex[:12]}@corp.example"
        who = bearer(one, email)
        await spend(a, 3, who)
        await spend(b, 2, who)  # five in all, across the two
        assert_rate_limited(await a.post("/graphql", json=VIEWER, headers=who))
        assert_rate_limited(await b.post("/graphql", json=VIEWER, headers=who))
        other = bearer(two, f"s{uuid.uuid4().hex[:12]}@corp.example")
        await spend(b, 5, other)
        await spend(a, 2)
        await spend(b, 2)
        assert_rate_limited(await a.post("/graphql", json=VIEWER))


async def test_redis_that_does_not_answer_lets_requests_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A port that accepts connections and never answers: the check must give up, not hang.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()  # nothing listens there any more: connections are refused
    try:
        for url in (f"redis://127.0.0.1:{port}/0", f"redis://127.0.0.1:{refused_port}/0"):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
                async with (
                    gateway(tmp_path, GATEWAY_RATE_LIMIT_STORAGE=url) as app,
                    client(app) as c,
                ):
                    erin = bearer(app, "erin@corp.example")
                    # Past the budget of five: nothing counts while the storage is away.
                    answers = await asyncio.gather(
                        *(c.post("/graphql", json=VIEWER, headers=erin) for _ in range(7))
                    )
            assert [a.status_code for a in answers] == [200] * 7
            warnings = [r for r in caplog.records if "not enforced" in r.getMessage()]
            assert len(warnings) == 1, caplog.records  # once, not once per request
    finally:
        silent.close()


async def test_the_admin_api_and_the_login_routes_have_stricter_budgets(tmp_path: Path) -> None:
    limits = {
        "GATEWAY_RATE_LIMIT": "100/hour",
        "GATEWAY_RATE_LIMIT_GUEST": "100/hour",
        "GATEWAY_RATE_LIMIT_ADMIN": "2/hour",
        "GATEWAY_RATE_LIMIT_LOGIN": "3/hour",
    }
    async with gateway(tmp_path, **limits) as app, client(app) as c:
        issuer = app.state.services.dev_issuer
        sam = {
            "Authorization": "Bearer "
            + issuer.issue(email="sam@corp.example", name="Sam", roles=["security_admin"])
        }
        admin = {"query": "query Now { __typename }"}
        for _ in range(2):
            answered = await c.post("/admin/graphql", json=admin, headers=sam)
            assert answered.status_code == 200, answered.text
        refused = await c.post("/admin/graphql", json=admin, headers=sam)
        assert_rate_limited(refused)
        assert "for admin requests is 2/hour" in refused.json()["errors"][0]["message"]
        assert_rate_limited(await c.get("/admin", headers=sam))  # the page shares it
        # The public API keeps the caller's own, larger budget.
        await spend(c, 3, sam)
        # Login routes: per client address, logged in or not.
        for _ in range(3):
            assert (await c.get("/auth/dev")).status_code == 200
        assert_rate_limited(await c.get("/auth/dev"))
        assert_rate_limited(await c.get("/auth/dev", headers=sam))
        async with client(app, "10.1.2.3") as elsewhere:
            assert (await elsewhere.get("/auth/dev")).status_code == 200
