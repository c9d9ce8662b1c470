"""What a server-side session costs a request: ``/healthz`` with and without a session cookie.

The gateway runs in-process (the zero-config demo on a temporary data directory); one
browser logs in through the demo's persona picker, and each request with its cookie
costs the session's one indexed read in the records database (no write: last seen is
written at most once a minute). Prints p50 and p99 of each.

    python -m bench.sessions [--requests 1000] [--records-url URL]

``--records-url`` puts the records database elsewhere (an empty PostgreSQL database, say).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

import httpx

from bench.common import UNLIMITED
from gateway.config import Settings
from gateway.http.app import create_app


async def _measure(requests: int, records_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as data_dir:
        await _measure_in(data_dir, requests, records_url)


async def _measure_in(data_dir: str, requests: int, records_url: str | None) -> None:
    environ = {"GATEWAY_DATA_DIR": data_dir, **UNLIMITED}
    if records_url:
        environ["GATEWAY_RECORDS_URL"] = records_url
    app = create_app(Settings.load(environ=environ))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://gw") as anonymous,
            httpx.AsyncClient(transport=transport, base_url="http://gw") as browser,
        ):
            done = await browser.post("/auth/dev", data={"email": "paula@partner.example"})
            assert done.status_code == 303, done.text
            for label, client in (("no cookie", anonymous), ("session cookie", browser)):
                for _ in range(50):  # warm the pool and caches
                    await client.get("/healthz")
                times = []
                for _ in range(requests):
                    start = time.perf_counter()
                    await client.get("/healthz")
                    times.append(time.perf_counter() - start)
                times.sort()
                p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
                print(f"{label:>15}: /healthz p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--records-url", help="the records database (default: SQLite)")
    args = parser.parse_args(argv)
    asyncio.run(_measure(args.requests, args.records_url))


if __name__ == "__main__":
    main()
