"""The read-path benchmark (``bench.seed`` then ``bench.run``) end to end, so that it cannot
rot: a tiny seeded data set, every mode, every persona, a handful of requests.

What is asserted is what does not depend on timing: every request answered, every mode
giving each persona the same 20 questions, and the exit status. No figure is compared
with anything; they are only checked to be numbers.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from bench import run, seed
from bench.common import PERSONAS
from bench.serve import MODES
from tests.databases import factory_for

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

NUMBER = r"\d+(?:\.\d+)?"
ROW = re.compile(
    rf"^\((?P<letter>[a-e])\) (?P<mode>\S+) +(?P<persona>\S+) +(?P<p50>{NUMBER}) +"
    rf"(?P<p99>{NUMBER}) +(?P<rps>{NUMBER}) +(?P<n>\d+) +(?P<rows>\d+) +(?P<scanned>\d*) +"
    r"(?P<errors>\d+)$"
)
REQUESTS = 3
# Enough posts that every persona sees a full page of 20 questions.
SPACES, POSTS = 40, 600


def _check(status: int, printed: str) -> None:
    lines = printed.splitlines()
    assert run.HEADER in lines, printed
    rows = [m for line in lines if (m := ROW.match(line))]
    cells = {(m["mode"], m["persona"]) for m in rows}
    assert cells == {(m, p.label) for m in MODES for p in PERSONAS}, printed
    for m in rows:
        assert int(m["errors"]) == 0, m.string
        assert int(m["n"]) == REQUESTS, m.string
        assert int(m["rows"]) == 20, m.string
        assert float(m["p50"]) <= float(m["p99"])  # percentiles of one sorted list
        # Only the naive gateway counts the rows it judged, at least the page's 20.
        assert (m["scanned"] != "") == (m["mode"] == "naive"), m.string
        if m["scanned"]:
            assert int(m["scanned"]) >= 20
    assert "MISMATCH" not in printed
    assert "failed requests" not in printed
    for persona in PERSONAS:
        same = re.compile(
            rf"^correctness {persona.label}: \(a\), \(c\), \(d\), \(e\) return the same 20 "
            r"questions "
            r"\(title\+space; \d+ internal, \d+ community\), same order; every field equal$"
        )
        assert any(same.match(line) for line in lines), printed
    assert status == 0


def test_the_benchmark_runs_every_mode_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tiny"
    seed.main(["--spaces", str(SPACES), "--posts", str(POSTS), "--out", str(out)])
    capsys.readouterr()
    status = run.main(_run_args(out, workers=1))
    _check(status, capsys.readouterr().out)


async def test_the_benchmark_runs_every_mode_on_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    databases = await factory_for("postgresql", tmp_path)  # skips without a server
    try:
        urls = [
            "--internal-url",
            await databases.create("bench_internal"),
            "--community-url",
            await databases.create("bench_community"),
        ]
        out = tmp_path / "tiny-pg"
        # Both scripts run their own event loop.
        args = ["--spaces", str(SPACES), "--posts", str(POSTS), "--out", str(out), *urls]
        await asyncio.to_thread(seed.main, args)
        capsys.readouterr()
        status = await asyncio.to_thread(run.main, _run_args(out, workers=1))
        _check(status, capsys.readouterr().out)
    finally:
        await databases.drop_all()


def _run_args(out: Path, *, workers: int) -> list[str]:
    return [
        "--out",
        str(out),
        "--requests",
        str(REQUESTS),
        # By count: a handful of requests, not seconds of them per mode.
        "--throughput-seconds",
        "0",
        "--warmup",
        "1",
        "--concurrency",
        "2",
        "--workers",
        str(workers),
    ]
