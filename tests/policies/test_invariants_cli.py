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


def test_the_zero_config_demo_changes_copies_in_its_data_directory_never_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped_policy, shipped_invariants = REPO_POLICY.read_bytes(), SHIPPED.read_bytes()
    data = tmp_path / "data"
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(data))
    asyncio.run(_demo())  # the first start seeds the copies
    assert (data / "policies.csv").read_bytes() == shipped_policy
    assert (data / "policy-invariants.csv").read_bytes() == shipped_invariants

    new = tmp_path / "new.csv"
    new.write_text(REPO_POLICY.read_text() + "p, partner, internal/open/*, space, read, allow\n")
    assert main(["policy", "apply", str(new), "--yes"]) == 0
    assert "applied: version 2" in capsys.readouterr().out
    assert (data / "policies.csv").read_text() == new.read_text()
    assert REPO_POLICY.read_bytes() == shipped_policy  # the source tree is untouched

    # The invariants in force are the copy's: edited there, they are what apply checks.
    (data / "policy-invariants.csv").write_text("never, partner, internal/open/*, space, read\n")
    assert main(["policy", "check"]) == 1
    assert "never, partner, internal/open/*, space, read" in capsys.readouterr().out
    assert SHIPPED.read_bytes() == shipped_invariants


def test_editing_the_invariants_is_previewed_refused_when_broken_unless_allowed_and_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli_env(tmp_path, monkeypatch)
    in_force = tmp_path / "policy-invariants.csv"
    shipped = in_force.read_text()
    # Paula (a partner) is Aurora's guest: an invariant against it is broken now.
    broken_line = "never, partner, internal/shared/*, space, read"
    asyncio.run(_remember("paula@partner.example", "partner"))
    new = tmp_path / "new-invariants.csv"
    new.write_text(shipped + broken_line + "\n")

    assert main(["policy", "invariants", str(new), "--yes"]) == 1
    captured = capsys.readouterr()
    assert f"+ {broken_line}" in captured.out and "user:paula@partner.example" in captured.out
    assert "--allow-broken" in captured.err
    assert in_force.read_text() == shipped  # nothing changed

    bad = tmp_path / "bad.csv"
    bad.write_text("never, partner, internal/*, space, peek\n")
    assert main(["policy", "invariants", str(bad), "--yes"]) == 1
    assert "unknown action 'peek'" in capsys.readouterr().err

    assert main(["policy", "invariants", str(new), "--yes", "--allow-broken", "--reason", "r"]) == 0
    assert "applied" in capsys.readouterr().out
    assert in_force.read_text() == new.read_text()
    assert main(["policy", "check"]) == 1
    assert broken_line in capsys.readouterr().out

    outcomes = asyncio.run(_audited("invariants_apply"))
    assert outcomes == [("ok", "r"), ("denied", None), ("denied", None)]

    # Every text that was in force is a version; a rollback is checked the same way.
    assert main(["policy", "invariants", "--history"]) == 0
    out = capsys.readouterr().out
    assert "v2" in out and "apply" in out and "v1" in out and "initial" in out
    assert main(["policy", "invariants", "--rollback", "1", "--yes", "--reason", "back"]) == 0
    assert "applied: the invariants of version 1 are in force as version 3" in (
        capsys.readouterr().out
    )
    assert in_force.read_text() == shipped
    assert main(["policy", "invariants", "--rollback", "2", "--yes"]) == 1
    captured = capsys.readouterr()
    assert f"+ {broken_line}" in captured.out and "--allow-broken" in captured.err
    assert in_force.read_text() == shipped
    assert main(["policy", "invariants", "--rollback", "7", "--yes"]) == 2
    assert "no invariants version 7" in capsys.readouterr().err
    assert main(["policy", "invariants", "--history", str(new)]) == 2
    assert asyncio.run(_audited("invariants_rollback")) == [("denied", None), ("ok", "back")]


async def _remember(email: str, *roles: str) -> None:
    from datetime import UTC, datetime

    from gateway.domain.principal import Principal

    services = build_services(Settings.load())
    try:
        principal = Principal("test", email, email, True, email, frozenset(roles))
        await services.records.remember(principal, datetime.now(UTC))
    finally:
        await services.close()


async def _audited(action: str) -> list[tuple[str, str | None]]:
    services = build_services(Settings.load())
    try:
        entries = await services.records.entries(action=action)
    finally:
        await services.close()
    return [(e.outcome.value, e.detail.get("reason")) for e in entries]
