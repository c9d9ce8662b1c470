"""A benchmark is code: these smoke tests keep the scripts under bench/ running.

Each runs one benchmark end to end with the smallest parameters that still take every
path it has, then parses what it printed: the rows it is meant to print are there and
their figures are numbers, and the facts it exists to show hold where they are
deterministic (a refusal, a store not dialled, a count). No figure is compared with a
threshold: timings belong to the benchmarks' output, never to an assertion.
"""

from __future__ import annotations

import ast
import logging
import re
import sqlite3
from typing import TYPE_CHECKING

from bench import compile_scope, error_logs, fanout, hung_store, profile_page, sessions
from tests.schema.test_limits import fan_out

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

NUMBER = r"\d+(?:\.\d+)?"
ERIN = {"id": "user:erin@corp.example"}


def test_fanout_answers_a_shallow_query_and_refuses_the_ten_level_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Starts a real `gateway serve` (free port, temporary data directory) and polls
    # /healthz while each query runs.
    fanout.main(["--levels", "3,10", "--timeout", "20"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["levels", "bytes", "answer", "healthz", "worst", "verdict"]
    row = re.compile(rf"^\s*(\d+)\s+(\d+)\s+({NUMBER})ms\s+({NUMBER})ms\s+(\S.*)$")
    rows = {}
    for line in lines[1:]:
        found = row.match(line)
        assert found, line
        levels, size, _answer, _healthz, verdict = found.groups()
        assert int(size) == len(fan_out(int(levels)).encode())
        rows[int(levels)] = verdict
    # Three levels is an ordinary query; ten (10^9 spreads) is refused before it runs,
    # not answered late nor timed out.
    assert rows == {3: "ok", 10: "QUERY_TOO_COMPLEX"}


REQUEST = re.compile(
    rf"^request (\d+): +({NUMBER}) ms  viewer=(.*) errors=(.*)  \(dialled the store (\d+)x\)$"
)
FAIL_FAST = re.compile(rf"^a store call with the breaker open: ({NUMBER}) µs \(mean of \d+\)$")


def _requests(out: str) -> list[tuple[dict[str, str], list[str], int]]:
    """(viewer, error messages, connections the blackhole accepted) per request line."""
    found = []
    for number, line in enumerate((x for x in out.splitlines() if x.startswith("request")), 1):
        match = REQUEST.match(line)
        assert match, line  # also not "no answer within ...": every request was answered
        assert int(match[1]) == number
        found.append((ast.literal_eval(match[3]), ast.literal_eval(match[4]), int(match[5])))
    return found


async def test_hung_store_fails_fast_once_the_breaker_opens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await hung_store.main(requests=3, deadline=0.2, give_up=10.0, healthy=False)
    out = capsys.readouterr().out
    assert out.startswith("community store blackholed; deadline 0.2 s")
    answers = _requests(out)
    assert len(answers) == 3
    for viewer, errors, _dialled in answers:
        # The viewer is the internal store's; the hung community store costs an error,
        # not the answer.
        assert viewer == ERIN
        assert "the community store is unavailable" in errors
    dials = [dialled for _, _, dialled in answers]
    # The first request dialled the blackhole (failed start-up + two requests past their
    # deadline open the breaker at its default three failures); the last one was
    # refused by the open breaker without a connection.
    assert dials[0] >= 1
    assert dials[-1] == 0
    assert any(FAIL_FAST.match(line) for line in out.splitlines()), out


async def test_hung_store_healthy_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    # Both stores on SQLite; the deadline is generous so that a loaded machine cannot
    # turn the baseline into a timeout (no store hangs here, so it is never reached).
    await hung_store.main(requests=3, deadline=5.0, give_up=10.0, healthy=True)
    out = capsys.readouterr().out
    assert out.startswith("community store healthy (SQLite); deadline 5 s")
    assert _requests(out) == [(ERIN, [], 0)] * 3
    assert "(no open breaker: the fail-fast cost is not measured)" in out.splitlines()
    assert not any(FAIL_FAST.match(line) for line in out.splitlines())


async def test_error_logs_counts_one_record_per_bad_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root_level = logging.getLogger().level
    await error_logs.main(20)
    assert logging.getLogger().level == root_level  # the benchmark leaves logging as found
    lines = capsys.readouterr().out.splitlines()
    summary = re.fullmatch(rf"log lines per 1,000 bad requests: ({NUMBER}) \((.*)\)", lines[0])
    assert summary, lines
    by_level = dict(part.split(" ") for part in summary[2].split(", "))
    assert set(by_level) <= {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    # Client errors are the client's: logged at INFO, never as faults with a traceback.
    assert "ERROR" not in by_level
    assert "CRITICAL" not in by_level
    assert sum(float(v) for v in by_level.values()) == float(summary[1])
    assert lines[1].startswith("records by logger: ")
    records = ast.literal_eval(lines[1].removeprefix("records by logger: "))
    # 20 bad requests, eight kinds in rotation: each logged exactly one record.
    assert sum(records.values()) == 20
    assert float(summary[1]) >= 1000


def test_sessions_reads_the_session_without_writing_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = tmp_path / "records.db"
    sessions.main(["--requests", "20", "--records-url", f"sqlite+aiosqlite:///{records}"])
    lines = capsys.readouterr().out.splitlines()
    row = re.compile(
        rf"^\s*(no cookie|session cookie): /healthz p50 ({NUMBER}) ms, p99 ({NUMBER}) ms$"
    )
    figures = {}
    for line in lines:
        match = row.match(line)
        assert match, line
        figures[match[1]] = float(match[2]), float(match[3])
    assert list(figures) == ["no cookie", "session cookie"]
    assert all(p50 <= p99 for p50, p99 in figures.values())  # percentiles of one sorted list
    # The cookie requests ran on a real server-side session in the records database the
    # benchmark was given, and none of the 70 wrote it (last seen is at most once a minute).
    with sqlite3.connect(records) as db:
        live = db.execute(
            "SELECT principal, created_at, last_seen FROM sessions WHERE ended_at IS NULL"
        ).fetchall()
    assert len(live) == 1
    principal, created, seen = live[0]
    assert principal == "user:paula@partner.example"
    assert seen == created


def test_compile_scope_prints_fresh_and_reused_per_membership_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    compile_scope.main(["--memberships", "0,3,40", "--rounds", "4"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == compile_scope.HEADER
    row = re.compile(rf"^\s*(\d+)\s+({NUMBER})\s+({NUMBER})\s+(\d+)$")
    rows = [m.groups() for line in lines[1:] if (m := row.match(line))]
    assert [r[0] for r in rows] == ["0", "3", "40"], lines
    # Every measured round after the warm-up reused the compiled scope: a fact, not a time.
    assert [r[3] for r in rows] == ["4", "4", "4"], lines


def test_profile_page_groups_a_real_page_by_layer(capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ([], ["--cache"]):
        shares = profile_page.main(["--requests", "5", "--top", "3", *extra])
        assert abs(sum(shares.values()) - 1.0) < 1e-6
        printed = capsys.readouterr().out
        assert re.search(rf"^5 requests in {NUMBER} s: {NUMBER} ms each", printed, re.M), printed
        assert "self time by layer:" in printed
        if extra:  # every profiled request is a cache hit: no resolver, no store statement
            assert "sqlalchemy" not in shares and "driver" not in shares, shares
        else:  # the page is executed and read from the stores
            assert shares.get("graphql-core", 0) > 0 and shares.get("sqlalchemy", 0) > 0
