"""``gateway content prune`` on real SQLite files: what it archives, what it leaves, its
dry run, its progress bar, its one audit entry, and its refusals of bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from gateway.cli import main
from gateway.cli.common import UsageError
from gateway.cli.content import parse_age
from gateway.config import Settings
from gateway.domain import ids
from gateway.domain.demo import demo_data
from gateway.domain.model import StoreName

if TYPE_CHECKING:
    from pathlib import Path

    from gateway.runtime.services import Services

# The demo's live questions per store (the community's fifth is archived already).
LIVE = {StoreName.INTERNAL: 8, StoreName.COMMUNITY: 9}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / ".gateway"))
    # Store URLs from the environment would turn the zero-config SQLite files off.
    for name in ("GATEWAY_INTERNAL_URL", "GATEWAY_COMMUNITY_URL", "GATEWAY_RECORDS_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / ".gateway"


def _services() -> Services:
    from gateway.http.app import build_services

    return build_services(Settings.load())


async def _seed(days_ago: int) -> None:
    """The demo data set as if loaded ``days_ago`` days ago: all of it that old."""
    services = _services()
    try:
        data = demo_data(datetime.now(UTC) - timedelta(days=days_ago))
        for store in services.stores.values():
            await store.create_schema()
            await store.load_demo(data)
        await services.records.create_schema()
    finally:
        await services.close()


async def _stale(before_days: int) -> dict[StoreName, list[str]]:
    services = _services()
    before = datetime.now(UTC) - timedelta(days=before_days)
    try:
        return {
            name: [
                q.title
                for q in await store.stale_questions(before, unanswered=False, space_ids=None)
            ]
            for name, store in services.stores.items()
        }
    finally:
        await services.close()


async def _audit() -> list[dict[str, object]]:
    services = _services()
    try:
        return [e.detail for e in await services.records.entries(action="moderate")]
    finally:
        await services.close()


async def _prune(*argv: str) -> int:
    return await asyncio.to_thread(main, ["content", "prune", *argv])


async def test_a_dry_run_lists_and_changes_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _seed(days_ago=200)
    assert await _prune("--older-than", "180d", "--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    listed = [line for line in out if line.startswith("would archive  ")]
    assert len(listed) == sum(LIVE.values())
    assert out[-1] == f"{sum(LIVE.values())} question(s) would be archived"
    assert any("Sensor will not pair" in line for line in listed)
    assert not any("Pairing the v1 hub" in line for line in listed)  # archived already
    # Each line names the question by its global id and its last activity.
    first = listed[0].split("  ")
    assert ids.decode(first[1]).type_name == "Question"
    assert first[2].startswith("last active ")
    assert {name: len(found) for name, found in (await _stale(180)).items()} == LIVE
    assert await _audit() == []  # a dry run is not audited: it changed nothing
    # Nothing is that old yet at a year.
    assert await _prune("--older-than", "52w", "--dry-run") == 0
    assert capsys.readouterr().out == "0 question(s) would be archived\n"


async def test_prune_archives_in_both_stores_and_audits_once(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _seed(days_ago=200)
    assert await _prune("--older-than", "180d", "--unanswered", "--store", "community") == 0
    out = capsys.readouterr().out.splitlines()
    unanswered = [line for line in out if line.startswith("archived  ")]
    assert out[-1] == f"{len(unanswered)} question(s) archived"
    assert 0 < len(unanswered) < LIVE[StoreName.COMMUNITY]
    assert not any(
        "Sensor will not pair" in line for line in unanswered
    )  # it has an accepted answer
    left = await _stale(180)
    assert len(left[StoreName.COMMUNITY]) == LIVE[StoreName.COMMUNITY] - len(unanswered)
    assert len(left[StoreName.INTERNAL]) == LIVE[StoreName.INTERNAL]
    (entry,) = await _audit()
    assert entry["operation"] == "pruneContent"
    assert entry["count"] == len(unanswered)
    assert entry["archived"] == {"community": len(unanswered)}
    assert entry["unanswered"] is True
    # The rest, in both stores, with a progress bar on stderr.
    assert await _prune("--older-than", "180d", "--progress") == 0
    captured = capsys.readouterr()
    rest = sum(map(len, left.values()))
    assert captured.out.splitlines()[-1] == f"{rest} question(s) archived"
    assert "prune" in captured.err and f"{rest}/{rest}" in captured.err
    assert await _stale(180) == {StoreName.INTERNAL: [], StoreName.COMMUNITY: []}
    assert [e["count"] for e in await _audit()] == [rest, len(unanswered)]
    # Pruning again finds nothing: archived questions are not archived twice.
    assert await _prune("--older-than", "180d") == 0
    assert capsys.readouterr().out == "0 question(s) archived\n"


async def test_prune_one_space(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await _seed(days_ago=200)
    services = _services()
    try:
        page = await services.stores[StoreName.INTERNAL].stale_questions(
            datetime.now(UTC), unanswered=False, space_ids=None
        )
    finally:
        await services.close()
    space = ids.encode("Space", StoreName.INTERNAL, page[0].space_id)
    in_space = [q for q in page if q.space_id == page[0].space_id]
    assert await _prune("--older-than", "180d", "--space", space) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{len(in_space)} question(s) archived"
    left = await _stale(180)
    assert len(left[StoreName.INTERNAL]) == LIVE[StoreName.INTERNAL] - len(in_space)
    assert len(left[StoreName.COMMUNITY]) == LIVE[StoreName.COMMUNITY]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--older-than", "0d"], "give a positive age"),
        (["--older-than", "six months"], "give a positive age"),
        (["--older-than", "180d", "--space", "nonsense"], "--space: "),
        (
            [
                "--older-than",
                "180d",
                "--store",
                "internal",
                "--space",
                ids.encode("Space", StoreName.COMMUNITY, "1"),
            ],
            "names no space in the store",
        ),
    ],
)
async def test_bad_input_is_one_line_and_changes_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert await _prune(*argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gateway: ") and message in err
    assert not (data_dir / "internal.db").exists()  # nothing opened, nothing written


def test_ages() -> None:
    assert parse_age("180d") == timedelta(days=180)
    assert parse_age("26W") == timedelta(weeks=26)
    assert parse_age(" 12h ") == timedelta(hours=12)
    for bad in ("", "d", "-3d", "3m", "3.5d", "99999999d"):
        with pytest.raises(UsageError):
            parse_age(bad)
