"""Server-side sessions, as a browser meets them: logout ends a saved cookie, sessions time
out when idle and at their age, every replica sees the same sessions, the provider's
logout is reached, and the table is purged.

The gateway runs in-process at https://gateway.test against the local OpenID provider,
with a wall clock the test moves (no sleeps).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gateway.http.app import create_app
from gateway.identity.offboarding import Offboarding
from gateway.identity.session import COOKIE_NAME
from gateway.identity.session_store import SessionStore
from tests.databases import factory_for
from tests.identity.test_login import _client, log_in, view

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette

    from gateway.config import Settings
    from tests.identity.conftest import FakeClock
    from tests.identity.idp import LocalIdP

HOUR = 3600


class WallClock:
    """The time sessions are created and used at; the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def secure(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, secure_cookies=True, session_max_age=8 * HOUR, session_idle_timeout=HOUR
    )


@pytest.fixture
async def app(secure: Settings, wall: WallClock, clock: FakeClock) -> AsyncIterator[Starlette]:
    application = create_app(secure, now=wall, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def browser(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as client:
        yield client


def _store(app: Starlette, settings: Settings) -> SessionStore:
    return SessionStore(app.state.services.records, idle_timeout=settings.session_idle_timeout)


async def _logged_in_as(browser: httpx.AsyncClient) -> str | None:
    viewer = await view(browser)
    return None if viewer["isGuest"] else str(viewer["id"])


async def test_a_cookie_saved_before_logout_no_longer_logs_in(
    browser: httpx.AsyncClient, app: Starlette
) -> None:
    await log_in(browser, "corp")
    # The cookie is an id, not the session: nothing of the person is in it.
    cookie = browser.cookies[COOKIE_NAME]
    assert "erin" not in cookie and len(cookie) < 100
    saved = httpx.Cookies(browser.cookies)
    out = await browser.post("/auth/logout", data={"next": "/"})
    assert out.status_code == 303
    assert await _logged_in_as(browser) is None
    async with _client(app) as thief:
        thief.cookies = saved
        assert await _logged_in_as(thief) is None
        # ...and stays logged out: nothing the old cookie does brings the session back.
        assert (await thief.post("/auth/logout", data={})).status_code == 303
        assert await _logged_in_as(thief) is None


async def test_an_idle_session_ends_and_an_active_one_lasts_its_max_age(
    browser: httpx.AsyncClient, wall: WallClock
) -> None:
    await log_in(browser, "corp")
    # Used every 50 minutes (idle timeout: one hour), it lives on...
    for _ in range(9):
        wall.advance(50 * 60)
        assert await _logged_in_as(browser) == "user:erin@corp.example"
    # ...but not past its absolute lifetime of 8 hours (it is now 7.5 h old).
    wall.advance(31 * 60)
    assert await _logged_in_as(browser) is None


async def test_a_session_unused_past_the_idle_timeout_ends(
    browser: httpx.AsyncClient, wall: WallClock
) -> None:
    await log_in(browser, "corp")
    wall.advance(HOUR - 5)
    assert await _logged_in_as(browser) == "user:erin@corp.example"
    wall.advance(HOUR + 1)
    assert await _logged_in_as(browser) is None
    # The browser is told to forget the dead cookie.
    assert COOKIE_NAME not in browser.cookies


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_logout_on_one_replica_ends_the_session_on_the_other(
    backend: str, secure: Settings, wall: WallClock, tmp_path: Path
) -> None:
    databases = await factory_for(backend, tmp_path)
    try:
        shared = dataclasses.replace(secure, records_url=await databases.create("records"))
        one, other = create_app(shared, now=wall), create_app(shared, now=wall)
        async with (
            one.router.lifespan_context(one),
            other.router.lifespan_context(other),
            _client(one) as first,
            _client(other) as second,
        ):
            await log_in(first, "corp")
            second.cookies = httpx.Cookies(first.cookies)  # the load balancer moves it
            assert await _logged_in_as(second) == "user:erin@corp.example"
            assert (await first.post("/auth/logout", data={})).status_code == 303
            assert await _logged_in_as(second) is None
            await one.state.services.records.close()
            await other.state.services.records.close()
    finally:
        await databases.drop_all()


async def test_logout_sends_the_browser_to_the_providers_end_session_endpoint(
    browser: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    corp.advertise_end_session = True
    await log_in(browser, "corp")
    out = await browser.post("/auth/logout", data={"next": "/graphql?bye=1"})
    assert out.status_code == 303
    location = out.headers["location"]
    assert location.startswith(f"{corp.issuer}/logout?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["post_logout_redirect_uri"] == "https://gateway.test/auth/logged-out"
    assert params["client_id"] == corp.client_id
    assert params["id_token_hint"].count(".") == 2  # the ID token of this login
    # Logged out here already, before the provider is even asked.
    assert await _logged_in_as(browser) is None
    async with httpx.AsyncClient() as idp_side:
        back = await idp_side.get(location)
    assert corp.logout_requests[-1]["id_token_hint"] == params["id_token_hint"]
    landed = await browser.get(back.headers["location"])
    assert landed.status_code == 303
    assert landed.headers["location"] == "/graphql?bye=1"


async def test_logout_without_an_end_session_endpoint_stays_on_this_site(
    browser: httpx.AsyncClient,
) -> None:
    await log_in(browser, "corp")
    out = await browser.post("/auth/logout", data={"next": "/graphql"})
    assert out.headers["location"] == "/graphql"


async def test_ended_and_expired_sessions_are_purged(
    app: Starlette, secure: Settings, wall: WallClock
) -> None:
    store = _store(app, secure)
    before = await store.count()
    async with _client(app) as stays, _client(app) as leaves, _client(app) as idles:
        await log_in(stays, "corp")
        await log_in(leaves, "partner")
        await log_in(idles, "partner")
        await leaves.post("/auth/logout", data={})
        wall.advance(HOUR - 60)
        assert await _logged_in_as(stays)
        wall.advance(120)  # idles has now been unused for over the idle timeout
        # Three logins left three ended pre-login sessions, one logout, one idle session.
        assert await store.purge(wall()) == 5
        assert await store.count() == before + 1
        assert await _logged_in_as(stays) == "user:erin@corp.example"
        assert [s.principal for s in await store.live(wall())] == ["user:erin@corp.example"]


async def test_a_replica_purges_ended_sessions_when_it_starts(
    app: Starlette, browser: httpx.AsyncClient, secure: Settings, wall: WallClock
) -> None:
    store = _store(app, secure)
    await log_in(browser, "corp")
    await browser.post("/auth/logout", data={})
    before = await store.count()
    assert before >= 2  # the ended pre-login and logged-in sessions are still rows
    restarted = create_app(secure, now=wall)
    async with restarted.router.lifespan_context(restarted):
        assert await store.count() == 0


async def test_records_down_is_a_guest_not_a_500(
    browser: httpx.AsyncClient, app: Starlette, idp: LocalIdP, caplog: pytest.LogCaptureFixture
) -> None:
    await log_in(browser, "corp")
    token = idp.tenants["corp"].token(email="erin@corp.example", email_verified=True)
    records = app.state.services.records
    working = records.engine
    records.engine = _unreachable()
    try:
        assert await _logged_in_as(browser) is None
        assert "session store unreachable" in caplog.text
        # A login cannot be saved: a 503, not a login that silently does not stick.
        start = await browser.get("/auth/login/corp")
        assert start.status_code == 503
        assert start.headers["retry-after"]
        # Bearer reads are served without the records database, as they always were; the
        # revocations that could not be read are logged.
        bearer = await browser.post(
            "/graphql",
            json={"query": "{ viewer { id } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert bearer.status_code == 200
        assert bearer.json()["data"]["viewer"]["id"] == "user:erin@corp.example"
        assert "access revocations not read" in caplog.text
    finally:
        await records.engine.dispose()
        records.engine = working
    assert await _logged_in_as(browser) == "user:erin@corp.example"


async def test_a_revoke_refuses_the_providers_older_tokens_until_restored(
    browser: httpx.AsyncClient, app: Starlette, idp: LocalIdP, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    await log_in(browser, "corp")
    now = int(time.time())
    old = corp.token(email="erin@corp.example", email_verified=True, iat=now - 60)
    offboarding = Offboarding(app.state.services.stores, app.state.services.records)
    done = await offboarding.revoke(
        "erin@corp.example", actor="cli:test", reason=None, now=datetime.now(UTC)
    )
    assert done.sessions == 1
    assert await _logged_in_as(browser) is None
    clock.advance(1.5)
    refused = await browser.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"Authorization": f"Bearer {old}"}
    )
    assert refused.status_code == 401
    assert "access was revoked for user:erin@corp.example" in refused.json()["errors"][0]["message"]
    newer = corp.token(email="erin@corp.example", email_verified=True, iat=now + 1)
    assert (await view(browser, Authorization=f"Bearer {newer}"))["id"] == "user:erin@corp.example"
    await offboarding.restore(
        "erin@corp.example", actor="cli:test", reason=None, now=datetime.now(UTC)
    )
    clock.advance(1.5)
    assert (await view(browser, Authorization=f"Bearer {old}"))["id"] == "user:erin@corp.example"


def _unreachable() -> object:
    from sqlalchemy.ext.asyncio import create_async_engine

    # Nothing listens on port 1: connections are refused at once.
    return create_async_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none", connect_args={"timeout": 2}
    )
