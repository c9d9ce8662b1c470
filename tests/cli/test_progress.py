"""Progress of ``gateway access-report`` on stderr: totals and the time left when asked for
(or on a terminal), nothing otherwise, and never in what the command prints."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from typing import TYPE_CHECKING

import pytest

from gateway.cli import main
from gateway.config import Settings
from gateway.http.app import build_services, prepare_stores

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def demo_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / ".gateway"))
    monkeypatch.setenv("GATEWAY_DEMO_DATA", "true")
    for name in ("INTERNAL", "COMMUNITY", "RECORDS"):
        monkeypatch.setenv(f"GATEWAY_{name}_URL", f"sqlite+aiosqlite:///{tmp_path / name}.db")

    async def prepare() -> None:
        built = build_services(Settings.load())
        await prepare_stores(built)
        await built.close()

    asyncio.run(prepare())


def _final(stderr: str, unit: str) -> re.Match[str]:
    """The last state of the bar counting ``unit``: done/total [elapsed<left, rate]."""
    states = re.findall(
        rf"access report: +(\d+)%\|[^|]*\| (\d+)/(\d+) \[([\d:]+)<([\d:?]+), [^\]]* {unit}",
        stderr.replace("\r", "\n"),
    )
    assert states, stderr
    return states[-1]


@pytest.mark.usefixtures("demo_stores")
def test_progress_counts_stores_then_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["access-report", "--store", "all", "--csv", "--progress"]) == 0
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert rows, "the demo has members"
    # Progress went to stderr only: stdout is the CSV, whole.
    assert "access report" not in captured.out
    percent, done, total, _, left = _final(captured.err, "stores")
    assert (percent, done, total, left) == ("100", "2", "2", "00:00")
    percent, done, total, _, left = _final(captured.err, "rows")
    assert (percent, done, total, left) == ("100", str(len(rows)), str(len(rows)), "00:00")


@pytest.mark.usefixtures("demo_stores")
def test_quiet_off_a_terminal_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    # pytest's captured stderr is not a terminal.
    assert main(["access-report", "--store", "all"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["access-report", "--store", "all", "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_progress_is_for_the_membership_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["access-report", "--who", "--progress"]) == 2
    assert "--progress belongs to the membership report" in capsys.readouterr().err


@pytest.mark.usefixtures("demo_stores")
def test_policy_impact_counts_the_principals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    in_force = Settings.load().policy_file
    new = tmp_path / "new.csv"
    new.write_text(in_force.read_text() + "p, partner, internal/open/*, space, read, allow\n")
    assert main(["policy", "impact", str(new), "--format", "json", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "policy impact" not in captured.out  # stdout is the report, whole
    states = re.findall(
        r"policy impact: +(\d+)%\|[^|]*\| (\d+)/(\d+) \[[\d:]+<([\d:?]+), [^\]]* principals",
        captured.err.replace("\r", "\n"),
    )
    assert states, captured.err
    percent, done, total, left = states[-1]
    assert (percent, left) == ("100", "00:00") and done == total and int(total) >= 1
    # Off a terminal, and with --no-progress, nothing on stderr.
    assert main(["policy", "impact", str(new), "--format", "json"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["policy", "impact", str(new), "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
