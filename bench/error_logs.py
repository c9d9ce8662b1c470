"""How many log lines bad requests write: 1,000 requests with client errors (parse,
validation, bad ids, cursors, arguments, variables, limits) against the real app
in-process, logging configured as ``gateway serve`` does (INFO, tracebacks included).

    .venv/bin/python -m bench.error_logs [--requests 1000]

Prints the lines written per 1,000 bad requests, by level. A script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import tempfile
from collections import Counter

import httpx

from bench.common import UNLIMITED
from gateway.config import Settings
from gateway.http.app import create_app

FIRST = "query($f: Int!) { questions(first: $f) { edges { node { id } } } }"
BAD = [
    {"query": "{ viewer { id "},
    {"query": "{ nope }"},
    {"query": '{ node(id: "zz") { id } }'},
    {"query": '{ questions(after: "zz") { edges { cursor } } }'},
    {"query": "{ questions(first: 0) { edges { cursor } } }"},
    {"query": FIRST, "variables": {}},
    {"query": FIRST, "variables": {"f": "x"}},
    {"query": "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(60)) + " }"},
]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: Counter[str] = Counter()
        self.names: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("httpx", "httpcore")):
            return  # the benchmark's own client, not the server
        text = io.StringIO(self.format(record)).read()
        self.lines[record.levelname] += text.count("\n") + 1
        self.names[record.name] += 1


async def main(requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-error-logs-") as directory:
        app = create_app(Settings.load(environ={"GATEWAY_DATA_DIR": directory, **UNLIMITED}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                handler = _Lines()
                root = logging.getLogger()
                level = root.level
                root.setLevel(logging.INFO)
                root.addHandler(handler)
                try:
                    for i in range(requests):
                        await client.post("/graphql", json=BAD[i % len(BAD)])
                finally:
                    # Leave logging as found: the smoke test calls this in-process.
                    root.removeHandler(handler)
                    root.setLevel(level)
    total = sum(handler.lines.values())
    per = 1000 / requests
    by_level = ", ".join(f"{k} {v * per:.0f}" for k, v in sorted(handler.lines.items()))
    print(f"log lines per 1,000 bad requests: {total * per:.0f} ({by_level})")
    print("records by logger:", dict(handler.names))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    asyncio.run(main(parser.parse_args().requests))
