"""How long an employee's ``{ viewer { id } }`` takes while the community store hangs.

The community store's PostgreSQL URL points at a blackhole: a local listener that
accepts connections and never answers. It refuses connections while the gateway
starts (so that a gateway without start-up deadlines starts at all), then starts
swallowing them. The script sends the query N times in a row, in-process over
ASGI, each with a client-side limit, and prints each latency and how many
connections the blackhole accepted meanwhile (0: the store was not even dialled).

    .venv/bin/python -m bench.hung_store [--requests 8] [--deadline 5] [--give-up 12]
    .venv/bin/python -m bench.hung_store --healthy    # the same query, both stores up

A script, not a test: it asserts nothing and prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import UNLIMITED
from gateway.config import Settings
from gateway.domain.model import StoreName
from gateway.http.app import create_app
from gateway.stores.interface import StoreUnavailable


class Blackhole:
    def __init__(self, port: int) -> None:
        self.port = port
        self.accepted = 0
        self._held: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._held:
                writer.close()

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._held.append(writer)


async def _fail_fast_cost(app: Any) -> None:
    """What one call to the community store costs while its breaker is open."""
    store = app.state.services.stores[StoreName.COMMUNITY]
    breaker = getattr(store, "breaker", None)
    if breaker is None or breaker.state.value != "open":
        print("(no open breaker: the fail-fast cost is not measured)")
        return
    calls = 10_000
    start = time.perf_counter()
    for _ in range(calls):
        with contextlib.suppress(StoreUnavailable):
            await store.memberships_for("erin@corp.example")
    each = (time.perf_counter() - start) / calls
    print(f"a store call with the breaker open: {each * 1e6:.1f} µs (mean of {calls})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main(requests: int, deadline: float, give_up: float, healthy: bool) -> None:
    port = _free_port()
    hole = Blackhole(port)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(
            environ={
                "GATEWAY_DATA_DIR": str(Path(tmp) / "gw"),
                "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp}/internal.db",
                "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{tmp}/community.db"
                if healthy
                else f"postgresql+asyncpg://u@127.0.0.1:{port}/db",
                "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{tmp}/records.db",
                "GATEWAY_DEMO_DATA": "true",
                "GATEWAY_DEV_ISSUER": "true",
                "GATEWAY_COMMUNITY_STORE_TIMEOUT": str(deadline),
                **UNLIMITED,
            }
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await hole.start()
            token = app.state.services.dev_issuer.issue(
                email="erin@corp.example", name="Erin", roles=["employee"]
            )
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                what = "healthy (SQLite)" if healthy else "blackholed"
                print(f"community store {what}; deadline {deadline:g} s, give up {give_up:g} s")
                for i in range(1, requests + 1):
                    before, start = hole.accepted, time.perf_counter()
                    try:
                        async with asyncio.timeout(give_up):
                            response = await client.post(
                                "/graphql", json={"query": "{ viewer { id } }"}, headers=headers
                            )
                        took = time.perf_counter() - start
                        body = response.json()
                        errors = [e["message"] for e in body.get("errors", [])]
                        outcome = f"{took * 1000:10.2f} ms  viewer={body['data']['viewer']}"
                        outcome += f" errors={errors}"
                    except TimeoutError:
                        outcome = f"no answer within {give_up:g} s"
                    print(f"request {i}: {outcome}  (dialled the store {hole.accepted - before}x)")
            await _fail_fast_cost(app)
            await hole.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--deadline", type=float, default=5.0)
    parser.add_argument("--give-up", type=float, default=12.0)
    parser.add_argument("--healthy", action="store_true", help="a working community store")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.deadline, args.give_up, args.healthy))
