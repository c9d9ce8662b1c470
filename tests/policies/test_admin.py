"""Changing the policy: proposals with their impact, refusals that change nothing, applied
changes in force at once and audited, stale changes refused, rollback to any version."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from gateway.cli import demo_principal, main
from gateway.config import REPO_POLICY, Settings
from gateway.http.app import build_services, prepare_stores
from gateway.policies.admin.changes import ChangeRefused, is_administrator, lockout
from gateway.policies.export import digest
from gateway.policies.policy import Policy
from gateway.policies.store import StaleVersion, VersionKind
from gateway.records import Outcome
from tests.personas import run

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from gateway.runtime.services import Services
    from tests.databases import DatabaseFactory

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
GRANT = "p, partner, internal/open/*, space, read, allow"
ADMIN = "p, security_admin, *, policy, administer, allow"
SAM = "user:sam@corp.example"
SPACES = "{ spaces(first: 50) { edges { node { name } } } }"


async def _names(services: Services, who: str) -> set[str]:
    result = await run(services, who, SPACES)
    assert result.errors is None, result.errors
    return {e["node"]["name"] for e in result.data["spaces"]["edges"]}


async def _seen(services: Services, email: str) -> None:
    """As the gateway remembers everyone who made a request (the roles their token had)."""
    await services.records.remember(demo_principal(email, ()), NOW)


@pytest.mark.backend
async def test_a_proposal_shows_its_impact_and_applying_it_is_in_force_and_audited(
    services: Services,
) -> None:
    admin = services.policy_admin
    await _seen(services, "paula@partner.example")
    assert "Engineering" not in await _names(services, "paula@partner.example")
    base = await admin.latest()
    assert base.number == services.policy.number == 1

    proposal = await admin.propose_edit([GRANT], [], now=NOW)
    assert proposal.acceptable and proposal.added == (GRANT,) and proposal.removed == ()
    summary = [str(g) for g in proposal.impact.summary()]
    assert "2 partners gain read on 2 internal spaces" in summary  # paula and a newcomer
    assert any(t.who == "user:paula@partner.example" for t in proposal.impact.turns)
    assert services.policy.number == 1  # a proposal changes nothing

    version = await admin.apply(proposal, expected=1, actor=SAM, reason="pilot", now=NOW)
    assert (version.number, version.kind, version.actor) == (2, VersionKind.APPLY, SAM)
    assert services.policy.number == 2  # in force on this replica at once
    assert "Engineering" in await _names(services, "paula@partner.example")

    [entry] = await services.records.entries(action="policy_apply")
    assert (entry.actor, entry.outcome, entry.target) == (SAM, Outcome.OK, "policy v2")
    assert entry.detail["before"] == {"version": 1, "sha256": base.sha256}
    assert (entry.detail["version"], entry.detail["sha256"]) == (2, version.sha256)
    assert entry.detail["added"] == [GRANT] and entry.detail["removed"] == []
    assert entry.detail["reason"] == "pilot"
    assert "2 partners gain read on 2 internal spaces" in entry.detail["impact"]
    # The file keeps its comments: the edit is appended, nothing else rewritten.
    assert (await services.policy_store.version(2)).text.startswith("# Collaboration Access")


@pytest.mark.backend
async def test_bad_edits_are_refused_with_reasons_and_change_nothing(services: Services) -> None:
    admin = services.policy_admin
    before = services.policy

    bad = await admin.propose_edit(
        ["p, partner, internal/open/*, space, raed, allow", "p, nobody, *, space, read"],
        ["p, employee, internal/closed/*, space, read, allow"],
        now=NOW,
    )
    assert not bad.acceptable
    text = "\n".join(bad.refusals)
    assert "add[0]: unknown action 'raed'" in text
    assert "add[1]: unknown role 'nobody'" in text
    assert "remove[0]" in text
    with pytest.raises(ChangeRefused):
        await admin.apply(bad, expected=1, actor=SAM, now=NOW)

    locked = await admin.propose_edit([], [ADMIN], now=NOW)
    assert any("no persona or user would hold administer" in r for r in locked.refusals)
    with pytest.raises(ChangeRefused):
        await admin.apply(locked, expected=1, actor=SAM, now=NOW)

    assert services.policy is before
    assert await services.policy_store.latest_number() == 1
    refused = await services.records.entries(action="policy_apply")
    assert [e.outcome for e in refused] == [Outcome.DENIED, Outcome.DENIED]
    assert any("administer" in r for r in refused[0].detail["refused"])


def test_a_change_may_not_take_administration_from_every_known_admin() -> None:
    old = Policy.from_file(REPO_POLICY)
    # Only a named user would administer: a persona no longer does.
    text = REPO_POLICY.read_text().replace(ADMIN, "p, user:new@corp.example, *, policy, administer")
    new = Policy.parse(text)
    sam = demo_principal("sam@corp.example", ())
    assert is_administrator(old, sam) and not is_administrator(new, sam)
    assert lockout(old, new, []) is None  # someone still can
    why = lockout(old, new, [sam, demo_principal("erin@corp.example", ())])
    assert why is not None and "user:sam@corp.example" in why
    # A deny line is a lockout too, however many allows remain.
    denied = Policy.parse(REPO_POLICY.read_text() + "p, employee, *, policy, administer, deny\n")
    assert lockout(old, denied, [sam]) is not None


@pytest.mark.backend
async def test_a_change_made_against_an_old_version_is_stale(services: Services) -> None:
    admin = services.policy_admin
    first = await admin.propose_edit([GRANT], [], now=NOW)
    second = await admin.propose_edit(
        ["p, contractor, internal/shared/*, space, read"], [], now=NOW
    )
    await admin.apply(first, expected=1, actor=SAM, now=NOW)
    with pytest.raises(StaleVersion) as raised:
        await admin.apply(second, expected=1, actor="user:mia@corp.example", now=NOW)
    assert raised.value.latest == 2
    assert services.policy.number == 2
    assert digest(await services.policy_store.read_source()) == services.policy.version


@pytest.mark.backend
async def test_any_earlier_version_can_be_rolled_back_to(services: Services) -> None:
    admin = services.policy_admin
    v1 = await admin.latest()
    await admin.apply(await admin.propose_edit([GRANT], [], now=NOW), expected=1, actor=SAM)
    edit = await admin.propose_edit(["p, contractor, internal/shared/*, space, read"], [GRANT])
    await admin.apply(edit, expected=2, actor=SAM)

    back = await admin.propose_rollback(1, now=NOW)
    assert (
        back.acceptable and "p, contractor, internal/shared/*, space, read, allow" in back.removed
    )
    v4 = await admin.apply(back, expected=3, actor=SAM, kind=VersionKind.ROLLBACK, reason="undo")
    assert (v4.number, v4.sha256, v4.text) == (4, v1.sha256, v1.text)  # comments and all
    assert services.policy.version == v1.sha256
    [entry] = await services.records.entries(action="policy_rollback")
    assert entry.detail["before"]["version"] == 3 and entry.detail["version"] == 4

    with pytest.raises(ChangeRefused, match="no policy version 9"):
        await admin.propose_rollback(9)
    same = await admin.propose_rollback(4)
    assert same.unchanged
    with pytest.raises(ChangeRefused, match="already in force"):
        await admin.apply(same, expected=4, actor=SAM)


@pytest.fixture
async def database_policy(databases: DatabaseFactory, tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_INTERNAL_URL": await databases.create("internal"),
            "GATEWAY_COMMUNITY_URL": await databases.create("community"),
            "GATEWAY_RECORDS_URL": await databases.create("records"),
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_POLICY_STORE": "database",
        }
    )
    built = build_services(settings)
    await prepare_stores(built)
    try:
        yield built
    finally:
        await built.close()


@pytest.mark.backend
async def test_the_database_policy_is_seeded_from_the_file_then_changed_there(
    database_policy: Services,
) -> None:
    services = database_policy
    assert services.policy.number == 1
    assert services.policy.version == digest(Policy.from_file(REPO_POLICY))
    admin = services.policy_admin
    await admin.apply(await admin.propose_edit([GRANT], [], now=NOW), expected=1, actor=SAM)
    assert "Engineering" in await _names(services, "paula@partner.example")
    assert digest(await services.policy_store.read_source()) == services.policy.version
    # The file is untouched: the database is where this policy lives.
    assert GRANT not in REPO_POLICY.read_text()

    # A second start finds the policy in the database, not the file's.
    again = build_services(dataclasses.replace(services.settings))
    await prepare_stores(again)
    try:
        assert (again.policy.number, again.policy.version) == (2, services.policy.version)
    finally:
        await again.close()


def _cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    policy = tmp_path / "policies.csv"
    policy.write_text(REPO_POLICY.read_text())
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GATEWAY_POLICY_FILE", str(policy))
    return policy


def test_cli_apply_history_and_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _cli_env(tmp_path, monkeypatch)
    original = policy.read_text()
    new = tmp_path / "new.csv"
    new.write_text(original + GRANT + "\n")

    # Without --yes and no terminal to confirm at: nothing happens.
    assert main(["policy", "apply", str(new)]) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert policy.read_text() == original

    assert main(["policy", "apply", str(new), "--yes", "--reason", "pilot"]) == 0
    out = capsys.readouterr().out
    assert "impact of" in out and "1 line(s) added, 0 removed" in out
    assert "applied: version 2" in out
    assert policy.read_text() == new.read_text()  # the file as written, comments and all

    broken = tmp_path / "broken.csv"
    broken.write_text(original.replace(ADMIN, "") + "p, partner, internal/open/*, space, rea\n")
    assert main(["policy", "apply", str(broken), "--yes"]) == 1
    captured = capsys.readouterr()
    assert "unknown action 'rea'" in captured.out + captured.err
    assert policy.read_text() == new.read_text()

    noadmin = tmp_path / "noadmin.csv"
    noadmin.write_text(original.replace(ADMIN, ""))
    assert main(["policy", "apply", str(noadmin), "--yes"]) == 1
    assert "administer" in capsys.readouterr().err

    assert main(["policy", "rollback", "1", "--yes", "--reason", "undo"]) == 0
    assert "applied: version 3" in capsys.readouterr().out
    assert policy.read_text() == original

    assert main(["policy", "history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["VERSION", "v3", "v2", "v1"]
    assert "rollback" in lines[1] and "undo" in lines[1] and "cli:" in lines[1]
    assert "apply" in lines[2] and "pilot" in lines[2]

    assert main(["policy", "export", "--version", "2"]) == 0
    assert GRANT in capsys.readouterr().out
    assert main(["policy", "export", "--version", "7"]) == 2
    assert "no policy version 7" in capsys.readouterr().err
