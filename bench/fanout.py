"""Fragment fan-out against a real ``gateway serve``: how long a query of N fragments, each
spreading the next ten times, takes to answer, and how long /healthz waits meanwhile.

    .venv/bin/python -m bench.fanout --levels 3,5,7,10

A script, not a test: it prints figures and asserts nothing. ``--url URL`` measures a
server you started yourself instead (e.g. an older checkout's ``gateway serve``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.replicas import replica
from tests.schema.test_limits import fan_out

REPO = Path(__file__).resolve().parent.parent


async def _measure(url: str, levels: int, limit: float) -> tuple[str, float, float]:
    async with httpx.AsyncClient(base_url=url, timeout=limit) as client:
        done = asyncio.Event()
        worst = 0.0

        async def poll_health() -> None:
            nonlocal worst
            while not done.is_set():
                start = time.perf_counter()
                with contextlib.suppress(httpx.TimeoutException):
                    await client.get("/healthz")
                worst = max(worst, time.perf_counter() - start)
                await asyncio.sleep(0.02)

        poller = asyncio.create_task(poll_health())
        start = time.perf_counter()
        try:
            response = await client.post("/graphql", json={"query": fan_out(levels)})
            errors = response.json().get("errors") or [{}]
            verdict = errors[0].get("extensions", {}).get("code") or errors[0].get("message", "ok")
        except httpx.TimeoutException:
            verdict = f"no answer within {limit:.0f} s"
        elapsed = time.perf_counter() - start
        done.set()
        await poller
        return str(verdict)[:40], elapsed, worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="3,5,7,10")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per query")
    parser.add_argument("--url", help="a running gateway's base URL (default: start one)")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.levels.split(",")]
    if args.url:
        _report(args.url, levels, args.timeout)
        return
    with tempfile.TemporaryDirectory() as work:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env |= {"GATEWAY_DATA_DIR": str(Path(work) / "data"), "PYTHONPATH": str(REPO)}
        with replica("fanout", env, Path(work)) as served:
            _report(served.url, levels, args.timeout)


def _report(url: str, levels: list[int], limit: float) -> None:
    print(f"{'levels':>6} {'bytes':>6} {'answer':>10} {'healthz worst':>14}  verdict")
    for n in levels:
        verdict, elapsed, worst = asyncio.run(_measure(url, n, limit))
        figures = f"{elapsed * 1000:>8.1f}ms {worst * 1000:>12.1f}ms"
        print(f"{n:>6} {len(fan_out(n).encode()):>6} {figures}  {verdict}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
