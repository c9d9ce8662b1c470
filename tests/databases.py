"""Fresh, empty databases on every reachable backend, for store-backed tests.

SQLite always runs. PostgreSQL and MariaDB run when a server answers at the
URL below; otherwise their tests skip with the reason. CI sets
``GATEWAY_TEST_REQUIRE=postgresql,mariadb`` (and ``redis``, which tests/http/test_ratelimit.py
reads) so that an unreachable server
fails the run instead of skipping silently.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

if TYPE_CHECKING:
    from pathlib import Path

SERVER_URLS = {
    "postgresql": os.environ.get(
        "GATEWAY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get("GATEWAY_TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/"),
}
BACKENDS = ("sqlite", "postgresql", "mariadb")
REQUIRED = {b for b in os.environ.get("GATEWAY_TEST_REQUIRE", "").split(",") if b}


@dataclass
class Server:
    backend: str
    admin_url: str
    reachable: bool | None = None
    reason: str = ""


_servers = {name: Server(name, url) for name, url in SERVER_URLS.items()}


async def _probe(server: Server) -> None:
    if server.reachable is not None:
        return
    engine = create_async_engine(server.admin_url, connect_args=_timeout(server.backend))
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        server.reachable = True
    except Exception as exc:  # any failure to connect means: not here
        server.reachable = False
        server.reason = (
            f"{server.backend} not reachable at {make_url(server.admin_url).render_as_string()}"
            f" ({type(exc).__name__}); set GATEWAY_TEST_"
            f"{'POSTGRES' if server.backend == 'postgresql' else 'MARIADB'}_URL to point at one"
        )
    finally:
        await engine.dispose()


def _timeout(backend: str) -> dict[str, object]:
    return {"timeout": 3} if backend == "postgresql" else {"connect_timeout": 3}


class DatabaseFactory:
    """Creates empty databases for one backend and drops them when the test ends."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.created: list[str] = []

    async def create(self, label: str) -> str:
        """A URL to a new, empty database (``label`` only makes names readable)."""
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp_path / f'{label}.db'}"
        server = _servers[self.backend]
        name = f"gw_{label}_{uuid.uuid4().hex[:10]}"
        engine = create_async_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                if self.backend == "mariadb":
                    await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
                else:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await engine.dispose()
        self.created.append(name)
        return make_url(server.admin_url).set(database=name).render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        if self.backend == "sqlite" or not self.created:
            return
        server = _servers[self.backend]
        engine = create_async_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                for name in self.created:
                    if self.backend == "mariadb":
                        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                    else:
                        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await engine.dispose()


async def factory_for(backend: str, tmp_path: Path) -> DatabaseFactory:
    """A factory for ``backend``, or a skip (a failure when CI requires it) if unreachable."""
    if backend != "sqlite":
        server = _servers[backend]
        await _probe(server)
        if not server.reachable:
            if backend in REQUIRED:
                pytest.fail(f"required backend missing: {server.reason}")
            pytest.skip(server.reason)
    return DatabaseFactory(backend, tmp_path)
