"""A hung store costs its deadline once, then nothing while its breaker is open.

The community store's PostgreSQL URL points at a real blackhole: a local TCP listener
that accepts connections and never says a word, exactly what a hung database server
or a half-dead proxy looks like to the driver. And a store whose connection pool is
exhausted (every connection held) must fail within its deadline too.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import TimeoutError as PoolTimeout

from adapters.community import CommunityStore
from adapters.community._tables import users
from gateway.config import REPO_POLICY, Settings
from gateway.domain.model import Author, StoreName
from gateway.domain.principal import Principal
from gateway.http.app import create_app
from gateway.schema.context import build_context
from gateway.stores.guard import GuardedStore, NotCalled
from gateway.stores.interface import StoreUnavailable, TargetMissing
from gateway.stores.sql import open_engine
from tests.asgi import lifespan_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import httpx
    from sqlalchemy.ext.asyncio import AsyncConnection
    from starlette.applications import Starlette

    from gateway.identity.dev_issuer import DevIssuer
    from tests.databases import DatabaseFactory

DEADLINE = "0.3"
STORE_DOWN = "the community store is unavailable"
VIEWER_AND_QUESTIONS = "{ viewer { id } questions { edges { node { id } } } }"
SPACES = "{ spaces(first: 50) { edges { node { name store } } } }"


class Blackhole:
    """Accepts TCP connections on 127.0.0.1 and never answers; counts what it accepted."""

    def __init__(self) -> None:
        self.accepted = 0
        self._held: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Blackhole:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._held:
            writer.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"postgresql+asyncpg://u@127.0.0.1:{port}/db"

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._held.append(writer)  # kept open, never written to


@pytest.fixture
async def blackhole() -> AsyncIterator[Blackhole]:
    async with Blackhole() as hole:
        yield hole


def _settings(tmp_path: Path, community_url: str, **extra: str) -> Settings:
    return Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "gw"),
            "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}",
            "GATEWAY_COMMUNITY_URL": community_url,
            "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
            "GATEWAY_ORGANISATION_DOMAINS": "corp.example",
            # The community store's own deadline, short so that the suite stays fast; the
            # internal store keeps the default (SQLite on a busy test machine is not hung).
            "GATEWAY_COMMUNITY_STORE_TIMEOUT": DEADLINE,
            **extra,
        }
    )


def _bearer(app: Starlette, email: str) -> dict[str, str]:
    issuer: DevIssuer = app.state.services.dev_issuer
    token = issuer.issue(email=email, name=email.split("@")[0], roles=["employee"])
    return {"Authorization": f"Bearer {token}"}


async def _ask(client: httpx.AsyncClient, query: str, headers: dict[str, str]) -> dict:
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200
    return response.json()


def _errors(body: dict) -> set[tuple[str, str | None]]:
    return {(e["message"], (e.get("path") or [None])[0]) for e in body.get("errors", [])}


async def test_a_hung_store_answers_within_the_deadline_then_fails_fast(
    tmp_path: Path, blackhole: Blackhole
) -> None:
    # A long back-off: the breaker, once open, stays open for the rest of the test.
    app = create_app(_settings(tmp_path, blackhole.url, GATEWAY_STORE_BREAKER_BACKOFF="600"))
    async with lifespan_client(app) as client:
        # Start-up itself did not hang: create_schema gave up at the deadline.
        assert blackhole.accepted >= 1
        hana = _bearer(app, "hana@corp.example")

        viewer = await _ask(client, "{ viewer { id } }", hana)
        assert viewer["data"] == {"viewer": {"id": "user:hana@corp.example"}}
        # Not one field's error: the response lacks what the community store would grant.
        assert _errors(viewer) == {(STORE_DOWN, None)}

        # A list over both stores: the internal part, with what hana's internal
        # membership grants (HR private is restricted: only its members see it).
        listed = await _ask(client, SPACES, hana)
        nodes = [e["node"] for e in listed["data"]["spaces"]["edges"]]
        assert {n["store"] for n in nodes} == {"INTERNAL"}
        assert "HR private" in {n["name"] for n in nodes}
        assert _errors(listed) == {(STORE_DOWN, None), (STORE_DOWN, "spaces")}

        # Three consecutive failures (start-up, then two requests' memberships): open.
        community = app.state.services.stores[StoreName.COMMUNITY]
        assert isinstance(community, GuardedStore)
        assert community.breaker.state.value == "open"
        before = blackhole.accepted
        for _ in range(5):
            again = await _ask(client, VIEWER_AND_QUESTIONS, hana)
            assert again["data"]["viewer"] == {"id": "user:hana@corp.example"}
            assert _errors(again) == {(STORE_DOWN, None), (STORE_DOWN, "questions")}
        ready = await client.get("/readyz")
        # Failing fast: the store was not even dialled, by requests or by /readyz.
        assert blackhole.accepted == before
        assert ready.status_code == 503
        check = ready.json()["checks"]["community_store"]
        assert check.startswith("slow (circuit open: ")
        assert "no answer within 0.3 s" in check
        assert ready.json()["checks"]["internal_store"] == "ok"


async def test_readyz_names_a_slow_store_as_slow(tmp_path: Path, blackhole: Blackhole) -> None:
    # A breaker that does not open here: /readyz really waits for the ping.
    app = create_app(_settings(tmp_path, blackhole.url, GATEWAY_STORE_BREAKER_FAILURES="100"))
    async with lifespan_client(app) as client:
        before = blackhole.accepted
        ready = await client.get("/readyz")
        assert blackhole.accepted > before  # it did try
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["community_store"] == "slow: community store did not answer within 0.3 s"
        assert checks["internal_store"] == "ok"


async def test_a_refused_store_is_unreachable_not_slow(tmp_path: Path) -> None:
    with contextlib.closing(__import__("socket").socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        app = create_app(_settings(tmp_path, f"postgresql+asyncpg://u@127.0.0.1:{port}/db"))
        async with lifespan_client(app) as client:
            ready = await client.get("/readyz")
    check = ready.json()["checks"]["community_store"]
    assert check.startswith("unreachable: community store unavailable at postgresql+asyncpg://")


async def test_a_probe_after_the_back_off_closes_the_breaker(
    tmp_path: Path, databases: DatabaseFactory
) -> None:
    """The store comes back: after the back-off one call probes it, and it serves again."""
    url = await databases.create("community")
    app = create_app(_settings(tmp_path, url, GATEWAY_STORE_BREAKER_BACKOFF="0.2"))
    async with lifespan_client(app) as client:
        community = app.state.services.stores[StoreName.COMMUNITY]
        erin = _bearer(app, "erin@corp.example")
        # Break it for real: every pooled connection held, so none is left for requests.
        held = await _exhaust(community.engine)
        try:
            for _ in range(3):
                body = await _ask(client, SPACES, erin)
                stores = {e["node"]["store"] for e in body["data"]["spaces"]["edges"]}
                assert stores == {"INTERNAL"}
                assert (STORE_DOWN, "spaces") in _errors(body)
            assert community.breaker.state.value == "open"
        finally:
            for conn in held:
                await conn.close()
        await asyncio.sleep(0.3)  # the back-off passes
        body = await _ask(client, SPACES, erin)
        assert "errors" not in body
        assert {e["node"]["store"] for e in body["data"]["spaces"]["edges"]} == {
            "INTERNAL",
            "COMMUNITY",
        }
        assert community.breaker.state.value == "closed"
        assert (await client.get("/readyz")).json()["checks"]["community_store"] == "ok"


async def _exhaust(engine: object) -> list[AsyncConnection]:
    """Check out every connection the pool can give, then prove it has none left.

    Counted from the pool's own capacity, not by connecting until a connect is slow: on
    a loaded machine a real connect can be slow while the pool still has room."""
    pool = engine.pool  # type: ignore[attr-defined]
    capacity = pool.size() + pool._max_overflow
    held: list[AsyncConnection] = [
        await engine.connect()  # type: ignore[attr-defined]
        for _ in range(capacity)
    ]
    with pytest.raises((TimeoutError, PoolTimeout)):  # asyncio's, or the pool's own
        async with asyncio.timeout(1.0):
            held.append(await engine.connect())  # type: ignore[attr-defined]
    return held


async def test_a_write_past_its_deadline_leaves_nothing_behind(databases: DatabaseFactory) -> None:
    """On every driver: a write cut off by its deadline (the table locked by another
    session) does not land later, and the store's next call works on a healthy pool.

    This is what relying on ``asyncio.timeout`` needs from each driver on cancellation:
    asyncpg cancels the statement, asyncmy's half-read connection must be thrown away
    rather than reused, and aiosqlite's thread goes on until SQLite's busy timeout but
    its transaction is never committed.
    """
    url = await databases.create("community")
    store = GuardedStore(CommunityStore(url, timeout=0.3), deadline=0.3)
    await store.create_schema()
    author = Author("late@customer.example", "Late", None, external=True)
    holder = open_engine(url)
    try:
        async with holder.connect() as lock:
            backend = holder.dialect.name
            if backend == "sqlite":
                await lock.exec_driver_sql("BEGIN IMMEDIATE")
            elif backend == "postgresql":
                await lock.exec_driver_sql("LOCK TABLE users IN EXCLUSIVE MODE")
            else:
                await lock.exec_driver_sql("LOCK TABLES users READ")
            with pytest.raises(StoreUnavailable):  # StoreSlow, or SQLite's "locked"
                await store.ensure_author(author)
            await lock.rollback()
            if backend not in ("sqlite", "postgresql"):
                await lock.exec_driver_sql("UNLOCK TABLES")
        await asyncio.sleep(0.5)  # time for a straggling statement to land, if one could
        async with holder.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(users).where(users.c.email == author.email)
            )
        assert count == 0
        first = await store.ensure_author(author)  # the pool gives a working connection
        assert await store.ensure_author(author) == first
    finally:
        await holder.dispose()
        await store.close()


async def test_a_store_whose_memberships_are_missing_is_not_asked_again_in_that_request(
    tmp_path: Path, blackhole: Blackhole
) -> None:
    """Its spaces would be judged without the caller's memberships there (which may bring
    a deny line): the rest of the request does not call it, breaker closed or not."""
    app = create_app(_settings(tmp_path, blackhole.url, GATEWAY_STORE_BREAKER_FAILURES="100"))
    async with lifespan_client(app) as client:
        erin = _bearer(app, "erin@corp.example")
        before = blackhole.accepted
        body = await _ask(client, SPACES, erin)
        assert blackhole.accepted == before + 1  # the memberships, not the list
        assert {e["node"]["store"] for e in body["data"]["spaces"]["edges"]} == {"INTERNAL"}
        assert _errors(body) == {(STORE_DOWN, None), (STORE_DOWN, "spaces")}


@pytest.mark.parametrize("deny_by_trust", [False, True])
async def test_a_missing_trust_level_withholds_what_its_personas_could_deny(
    tmp_path: Path, blackhole: Blackhole, deny_by_trust: bool
) -> None:
    """Personas granted by the forum's trust level hold everywhere: when the policy has a
    deny line for one of them, no store can be judged without the trust level."""
    policy = tmp_path / "policies.csv"
    text = REPO_POLICY.read_text()
    if deny_by_trust:
        text += "\np, trusted_customer, internal/open/*, space, read, deny\n"
    policy.write_text(text)
    app = create_app(_settings(tmp_path, blackhole.url, GATEWAY_POLICY_FILE=str(policy)))
    async with app.router.lifespan_context(app):
        services = app.state.services
        caller = Principal(
            issuer="https://forum.example",
            subject="tara",
            email="tara@customer.example",
            email_verified=True,
            display_name="Tara",
            roles=frozenset({"employee"}),
            trust_rules=(("trusted_customer", 3),),
        )
        context = await build_context(services, caller)
        assert [str(f) for f, path in context.partial_failures] == [STORE_DOWN]
        internal = context.stores[StoreName.INTERNAL]
        if deny_by_trust:
            with pytest.raises(NotCalled):
                await internal.is_empty()
        else:
            assert internal is services.stores[StoreName.INTERNAL]
            assert not await internal.is_empty()


async def test_a_store_that_answers_with_an_error_is_not_down(tmp_path: Path) -> None:
    """A missing target or a conflict is the store answering: it never opens the breaker."""
    store = GuardedStore(CommunityStore(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"), deadline=5)
    try:
        await store.create_schema()
        for _ in range(5):
            with pytest.raises(TargetMissing):
                await store.accept_answer("999")
        assert store.breaker.state.value == "closed"
        assert store.breaker.failures == 0
    finally:
        await store.close()
