"""The write-path benchmark: concurrent answerQuestion mutations, and what the write path costs.

Runs in-process (no HTTP, so it measures the gateway, not the network stack): the
demo data set on fresh databases, then ``--writers`` concurrent clients each
posting ``--per-writer`` answers to one question (the worst case: every write
contends for the same topic row), three ways:

* ``store``: the adapter's ``answer_question`` alone (the floor);
* ``mutation``: the full mutation through the real schema (input checks, scope
  lookup, policy, audit entry before and after, the store write);
* ``mutation+key``: the same with an idempotency key (one more records round trip).

It prints writes per second and per-write latency (p50 / p99) for each. Not a test:
nothing is asserted.

    .venv/bin/python -m bench.writes                      # SQLite files in a temp dir
    .venv/bin/python -m bench.writes --backend postgresql # needs the server on 127.0.0.1
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.cli import demo_principal
from gateway.config import Settings
from gateway.domain.model import StoreName
from gateway.http.app import build_services, prepare_stores
from gateway.runtime.caller import build_caller
from gateway.schema import build_schema
from gateway.schema.context import build_context

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from gateway.runtime.services import Services

ANSWER = """mutation($i: AnswerQuestionInput!) {
  answerQuestion(input: $i) { answer { id } errors { code message } }
}"""
WRITERS = ("erin@corp.example", "mia@corp.example", "sam@corp.example", "hana@corp.example")
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def _urls(
    backend: str, workdir: Path
) -> tuple[dict[str, str], Callable[[], Awaitable[None]]]:
    if backend == "sqlite":
        urls = {
            n: f"sqlite+aiosqlite:///{workdir / f'{n}.db'}"
            for n in ("internal", "community", "records")
        }

        async def nothing() -> None:
            return None

        return urls, nothing
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    names = {n: f"bench_{n}_{uuid.uuid4().hex[:8]}" for n in ("internal", "community", "records")}
    async with admin.connect() as conn:
        for name in names.values():
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES.rsplit("/", 1)[0]

    async def drop() -> None:
        async with admin.connect() as conn:
            for name in names.values():
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return {n: f"{base}/{db}" for n, db in names.items()}, drop


async def _timed(
    writers: int, per_writer: int, write: Callable[[int, int], Awaitable[None]]
) -> dict[str, float]:
    latencies: list[float] = []

    async def client(w: int) -> None:
        for n in range(per_writer):
            start = time.perf_counter()
            await write(w, n)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(client(w) for w in range(writers)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "writes_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


async def run(backend: str, writers: int, per_writer: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        urls, drop = await _urls(backend, Path(tmp))
        settings = Settings.load(
            environ={
                "GATEWAY_DATA_DIR": str(Path(tmp) / "data"),
                "GATEWAY_INTERNAL_URL": urls["internal"],
                "GATEWAY_COMMUNITY_URL": urls["community"],
                "GATEWAY_RECORDS_URL": urls["records"],
                "GATEWAY_DEMO_DATA": "true",
                "GATEWAY_ORGANISATION_DOMAINS": "corp.example",
            }
        )
        services = build_services(settings)
        try:
            await prepare_stores(services)
            return await _measure(services, writers, per_writer)
        finally:
            await services.close()
            await drop()


async def _measure(
    services: Services, writers: int, per_writer: int
) -> dict[str, dict[str, float]]:
    schema = build_schema(services.settings)
    store = services.stores[StoreName.COMMUNITY]
    scope_ctx = await build_caller(services, demo_principal(WRITERS[0], ()))
    question = next(
        iter(
            (
                await store.list_questions(
                    scope_ctx.read_scope.for_store(StoreName.COMMUNITY),
                    space_ids=None,
                    unanswered=False,
                    tag=None,
                    after=None,
                    limit=1,
                )
            ).items
        )
    )
    from gateway.domain import ids

    question_id = ids.encode("Question", StoreName.COMMUNITY, question.id)
    principals = [demo_principal(WRITERS[w % len(WRITERS)], ()) for w in range(writers)]
    authors = [await store.ensure_author(p.as_author()) for p in principals]  # type: ignore[arg-type]

    async def raw(w: int, n: int) -> None:
        await store.answer_question(question.id, authors[w], body=f"raw {w} {n}", now=_now())

    async def mutation(w: int, n: int, key: bool = False) -> None:
        answer: dict[str, Any] = {"questionId": question_id, "body": f"mutation {w} {n} {key}"}
        if key:
            answer["idempotencyKey"] = f"{w}-{n}"
        context = await build_context(services, principals[w])
        result = await schema.execute(ANSWER, variable_values={"i": answer}, context_value=context)
        if result.errors or result.data["answerQuestion"]["errors"]:
            raise RuntimeError(result.errors or result.data)

    return {
        "store": await _timed(writers, per_writer, raw),
        "mutation": await _timed(writers, per_writer, mutation),
        "mutation+key": await _timed(writers, per_writer, lambda w, n: mutation(w, n, key=True)),
    }


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-writer", type=int, default=50)
    args = parser.parse_args()
    results = asyncio.run(run(args.backend, args.writers, args.per_writer))
    total = args.writers * args.per_writer
    print(f"{args.backend}: {args.writers} writers x {args.per_writer} answers = {total} writes")
    print(f"{'mode':<14}{'writes/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for mode, figures in results.items():
        print(
            f"{mode:<14}{figures['writes_per_s']:>10.0f}"
            f"{figures['p50_ms']:>10.1f}{figures['p99_ms']:>10.1f}"
        )


if __name__ == "__main__":
    main()
