"""``gateway policy check``, ``impact`` and ``apply`` with declared invariants: what a nightly
job and an administrator at a terminal see."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from gateway.cli import main
from gateway.config import REPO_POLICY, Settings
from gateway.http.app import build_services, prepare_stores

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

SHIPPED = REPO_POLICY.with_name("policy-invariants.csv")
PARTNER = "never, partner, internal/restricted/*, space, read"
BREACH = "p, partner, internal/restricted/*, space, read, allow\n"


def _cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    policy = tmp_path / "policies.csv"
    policy.write_text(REPO_POLICY.read_text())
    (tmp_path / "policy-invariants.csv").write_text(SHIPPED.read_text())
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GATEWAY_POLICY_FILE", str(policy))
    asyncio.run(_demo())
    return policy


async def _demo() -> None:
    """The stores with the demo data, as `gateway serve` would leave them."""
    services = build_services(Settings.load())
    try:
        await prepare_stores(services)
    finally:
        await services.close()


def test_check_apply_and_impact_name_the_broken_invariant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _cli_env(tmp_path, monkeypatch)
    original = policy.read_text()
    assert main(["policy", "check"]) == 0
    out = capsys.readouterr().out
    assert "invariant(s) of" in out and "invariants broken now: none" in out

    new = tmp_path / "new.csv"
    new.write_text(original + BREACH)
    assert main(["policy", "impact", str(new)]) == 0
    out = capsys.readouterr().out
    assert "the new policy would break: 1" in out and PARTNER in out
    assert "persona:partner" in out and "internal/restricted/project-falcon" in out
    assert main(["policy", "impact", str(new), "--format", "json"]) == 0
    [broken] = json.loads(capsys.readouterr().out)["broken_invariants"]
    assert broken["invariant"] == PARTNER and broken["principals"] == ["persona:partner"]

    assert main(["policy", "apply", str(new), "--yes"]) == 1
    err = capsys.readouterr().err
    assert f"breaks invariant '{PARTNER}'" in err and "persona:partner" in err
    assert policy.read_text() == original  # nothing changed

    # The file edited by hand (no gateway running to refuse it): the nightly check says so.
    policy.write_text(original + BREACH)
    assert main(["policy", "check"]) == 1
    out = capsys.readouterr().out
    assert "invariants broken now: 1" in out and PARTNER in out
    assert main(["policy", "check", "--format", "json"]) == 1
    [broken] = json.loads(capsys.readouterr().out)
    assert "internal/restricted/project-falcon" in broken["targets"]


def test_check_says_why_invariants_do_not_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli_env(tmp_path, monkeypatch)
    (tmp_path / "policy-invariants.csv").write_text("never, partner, internal/*, space, peek\n")
    assert main(["policy", "check"]) == 1
    assert "line 1: unknown action 'peek'" in capsys.readouterr().err
