"""What a store read costs the database server, and what a lost connection costs a caller.

A read is the pool's test of its connection and the statement, nothing more: on
PostgreSQL no BEGIN and ROLLBACK around it (gateway.stores.sql.read_connection) and a
one-trip test on checkout (``_ping_postgres``). That test is also what keeps a lost
connection (a server restart, a proxy that dropped it, an operator ending sessions)
from reaching a caller: the pool throws the dead connection away and opens another.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.community import CommunityStore
from gateway.config import Settings
from gateway.domain.demo import demo_data
from gateway.domain.model import Author, StoreName
from gateway.http.app import create_app
from gateway.stores.scope import Grants, StoreScope
from tests.adapters.contract_community import NOW
from tests.asgi import lifespan_client
from tests.databases import SERVER_URLS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from gateway.identity.dev_issuer import DevIssuer
    from tests.databases import DatabaseFactory

pytestmark = pytest.mark.backend

EVERYTHING = StoreScope(StoreName.COMMUNITY, allow=Grants(everything=True))
PAGE = "{ questions(first: 5) { edges { node { title space { name } } } } }"


@contextlib.contextmanager
def server_log(store: CommunityStore) -> Iterator[list[str]]:
    """The simple-protocol queries asyncpg sends for the store's connections opened from
    now on (the test disposes of the pool first), through asyncpg's own query loggers."""
    sent: list[str] = []

    def logged(record: Any) -> None:
        sent.append(" ".join(record.query.split()))

    def opened(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(logged)

    event.listen(store.engine.sync_engine, "connect", opened)
    try:
        yield sent
    finally:
        event.remove(store.engine.sync_engine, "connect", opened)


async def test_a_read_on_postgresql_is_its_statement_and_a_one_trip_test(
    databases: DatabaseFactory,
) -> None:
    url = await databases.create("community")
    if databases.backend != "postgresql":
        pytest.skip("the trips counted are PostgreSQL's (asyncpg's query loggers)")
    store = CommunityStore(url)
    try:
        await store.create_schema()
        await store.load_demo(demo_data(NOW))
        await store.engine.dispose()  # the logger is added to connections opened next
        with server_log(store) as sent:
            await store.list_spaces(EVERYTHING, kind=None, after=None, limit=5)
            first = list(sent)
            sent.clear()
            await store.list_spaces(EVERYTHING, kind=None, after=None, limit=5)
            again = list(sent)
            sent.clear()
            await store.ensure_author(Author("new@customer.example", "New", None, external=True))
            write = list(sent)
    finally:
        await store.close()
    # asyncpg's loggers see its simple-protocol queries (the checkout's test, and BEGIN,
    # COMMIT and ROLLBACK), not prepared statements: a read is its test and nothing else.
    assert first == again == [";"]
    # A write is still one transaction (after a read of whether the author exists).
    assert write[-2:] == ["BEGIN ISOLATION LEVEL READ COMMITTED;", "COMMIT;"], write
    assert "ROLLBACK;" not in write


async def _end_sessions(backend: str, database: str) -> int:
    """End every session of ``database`` from the server's side, as a restart would."""
    admin = create_async_engine(SERVER_URLS[backend], isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            if backend == "postgresql":
                ended = await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                )
                return len(ended.all())
            ids = await conn.execute(
                text("SELECT id FROM information_schema.processlist WHERE db = :db"),
                {"db": database},
            )
            found = [row.id for row in ids]
            for session in found:
                with contextlib.suppress(Exception):  # it may have ended meanwhile
                    await conn.execute(text(f"KILL {int(session)}"))
            return len(found)
    finally:
        await admin.dispose()


async def test_connections_the_server_ended_do_not_reach_a_caller(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    """Both stores' pooled connections ended by the server between two requests: the
    second request is answered in full, as the first was."""
    if databases.backend == "sqlite":
        pytest.skip("an embedded database has no connection a server could end")
    internal, community = await databases.create("internal"), await databases.create("community")
    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "gw"),
            "GATEWAY_INTERNAL_URL": internal,
            "GATEWAY_COMMUNITY_URL": community,
            "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
            "GATEWAY_ORGANISATION_DOMAINS": "corp.example",
            "GATEWAY_STORE_TIMEOUT": "60",
            "GATEWAY_CACHE_MAX_AGE": "0",  # the second request must reach the stores
        }
    )
    app = create_app(settings)
    async with lifespan_client(app) as client:
        issuer: DevIssuer = app.state.services.dev_issuer
        token = issuer.issue(email="erin@corp.example", name="Erin", roles=["employee"])
        headers = {"Authorization": f"Bearer {token}"}
        before = await client.post("/graphql", json={"query": PAGE}, headers=headers)
        assert before.status_code == 200 and "errors" not in before.json(), before.text
        for url in (internal, community):
            assert await _end_sessions(databases.backend, str(make_url(url).database)) > 0
        after = await client.post("/graphql", json={"query": PAGE}, headers=headers)
        assert after.status_code == 200, after.text
        assert after.json() == before.json()
