"""Where one front page's time goes, along the whole path: a profile, grouped by layer.

    .venv/bin/python -m bench.profile_page [--size small|large|DIR] [--persona guest]
                                           [--requests 300] [--cache] [--top 25]

The real app (``create_app``) is called in-process through httpx's ASGI transport, so
every layer a request crosses is in the profile: the middleware (body limit, session,
authentication), building the caller, strawberry and graphql-core (parse, validate,
execute, one resolver per field), the loaders, SQLAlchemy (compiling, the async bridge),
the driver, and encoding the JSON. Without ``--size`` it runs on the demo data in a
scratch directory. The report is each layer's share of the cumulative time (by the
module of the innermost frame: self time), then the top functions by self time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.common import OUT_ROOT, PERSONAS, QUERY
from bench.serve import gateway_environ
from gateway.config import Settings
from gateway.http.app import create_app

# (layer, path fragments of the modules it is made of), first match wins.
LAYERS = (
    ("strawberry", ("/strawberry/",)),
    ("graphql-core", ("/graphql/",)),
    ("sqlalchemy", ("/sqlalchemy/",)),
    ("driver", ("/aiosqlite/", "/asyncpg/", "/asyncmy/", "sqlite3")),
    ("starlette+httpx", ("/starlette/", "/httpx/", "/httpcore/", "/anyio/")),
    ("identity", ("/joserfc/", "/authlib/", "/cryptography/", "gateway/identity/")),
    ("json", ("/json/", "_json")),
    ("gateway", ("/gateway/", "/adapters/")),
    ("asyncio", ("/asyncio/", "selectors", "greenlet")),
)


def layer_of(filename: str) -> str:
    for name, fragments in LAYERS:
        if any(f in filename for f in fragments):
            return name
    return "other"


async def measure(settings: Settings, headers: dict[str, str], requests: int) -> pstats.Stats:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(20):  # warm: caches, compiled scopes, pools
                response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
                response.raise_for_status()
                assert "errors" not in response.json(), response.text
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            for _ in range(requests):
                await client.post("/graphql", json={"query": QUERY}, headers=headers)
            profile.disable()
            spent = time.perf_counter() - started
    print(f"{requests} requests in {spent:.2f} s: {1000 * spent / requests:.2f} ms each (profiled)")
    return pstats.Stats(profile)


def report(stats: pstats.Stats, top: int) -> dict[str, float]:
    by_layer: dict[str, float] = defaultdict(float)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    for (filename, _line, _name), entry in raw.items():
        by_layer[layer_of(filename)] += entry[2]  # self time
    print("\nself time by layer:")
    shares = {k: v / total for k, v in sorted(by_layer.items(), key=lambda kv: -kv[1])}
    for name, share in shares.items():
        print(f"  {name:<16} {100 * share:5.1f} %")
    print(f"\ntop {top} functions by self time:")
    stats.sort_stats("tottime").print_stats(top)
    return shares


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", help="a seeded data set (bench.seed); default the demo data")
    parser.add_argument("--persona", default="guest", choices=[p.label for p in PERSONAS])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cache", action="store_true", help="with the response cache on")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        if args.size:
            environ = gateway_environ(OUT_ROOT / args.size, "cached" if args.cache else "real")
        else:
            environ = {
                "GATEWAY_DATA_DIR": str(Path(scratch) / "demo"),
                "GATEWAY_GRAPHIQL": "false",
                "GATEWAY_CACHE_MAX_AGE": "2" if args.cache else "0",
            }
        settings = Settings.load(environ=environ)
        persona = next(p for p in PERSONAS if p.label == args.persona)
        headers: dict[str, str] = {}
        if persona.email is not None:
            from gateway.identity.dev_issuer import DevIssuer

            settings.data_dir.mkdir(parents=True, exist_ok=True)
            token = DevIssuer.open(settings.data_dir).issue(
                email=persona.email, name=persona.name, roles=list(persona.roles)
            )
            headers = {"Authorization": f"Bearer {token}"}
        stats = asyncio.run(measure(settings, headers, args.requests))
        return report(stats, args.top)


if __name__ == "__main__":
    main()
