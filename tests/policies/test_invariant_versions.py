"""The invariants are versioned like the policy: every text put in force is a numbered
version in the records database (with the file store as with the database store), and a
rollback returns to one as a new version, checked and audited like any edit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.config import REPO_POLICY, Settings
from gateway.http.app import build_services, prepare_stores
from gateway.policies.admin.changes import ChangeRefused
from gateway.policies.admin.invariant_edits import (
    apply_invariants,
    propose_invariant_rollback,
    propose_invariants,
)
from gateway.policies.invariants import InvariantKind

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from gateway.runtime.services import Services
    from tests.databases import DatabaseFactory

SHIPPED = REPO_POLICY.with_name("policy-invariants.csv").read_text()
OPEN = "never, partner, internal/open/*, space, read"  # holds under the shipped policy
BROKEN = "never, employee, internal/open/*, space, read"  # every employee reads them
SAM = "user:sam@corp.example"


@pytest.fixture(params=["file", "database"])
async def either(
    request: pytest.FixtureRequest, databases: DatabaseFactory, tmp_path: Path
) -> AsyncIterator[Services]:
    """The services with the invariants in their file, or in the records database."""
    policy = tmp_path / "policies.csv"
    policy.write_text(REPO_POLICY.read_text())
    policy.with_name("policy-invariants.csv").write_text(SHIPPED)
    settings = Settings.load(
        environ={
            "GATEWAY_POLICY_FILE": str(policy),
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_INTERNAL_URL": await databases.create("internal"),
            "GATEWAY_COMMUNITY_URL": await databases.create("community"),
            "GATEWAY_RECORDS_URL": await databases.create("records"),
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_POLICY_STORE": request.param,
        }
    )
    built = build_services(settings)
    await prepare_stores(built)
    try:
        yield built
    finally:
        await built.close()


def _in_force(services: Services) -> set[str]:
    return {str(i) for i in services.invariants.read().items}


@pytest.mark.backend
async def test_every_edit_is_a_version_and_a_rollback_returns_to_one(either: Services) -> None:
    services = either
    admin = services.policy_admin
    [first] = await services.invariants.versions()
    assert (first.number, first.kind, first.text) == (1, InvariantKind.INITIAL, SHIPPED)

    edit = await propose_invariants(admin, SHIPPED + OPEN + "\n", services.policy)
    applied = await apply_invariants(admin, edit, actor=SAM, reason="tighter")
    assert applied is not None and applied.number == 2
    assert OPEN in _in_force(services)
    [second, _first] = await services.invariants.versions()
    assert (second.kind, second.actor, second.reason) == (InvariantKind.APPLY, SAM, "tighter")
    [entry] = await services.records.entries(action="invariants_apply")
    assert entry.target == "invariants v2" and entry.detail["version"] == 2

    back = await propose_invariant_rollback(admin, 1, services.policy)
    assert back.removed == (OPEN,) and back.added == () and back.acceptable
    rolled = await apply_invariants(admin, back, actor=SAM, reason="too tight")
    assert rolled is not None and rolled.number == 3 and rolled.kind is InvariantKind.ROLLBACK
    assert OPEN not in _in_force(services)
    assert services.invariants.read().text == SHIPPED
    [entry] = await services.records.entries(action="invariants_rollback")
    assert entry.outcome.value == "ok" and entry.detail["version"] == 3
    assert entry.detail["removed"] == [OPEN] and entry.detail["reason"] == "too tight"

    with pytest.raises(ChangeRefused, match="no invariants version 9"):
        await propose_invariant_rollback(admin, 9, services.policy)


@pytest.mark.backend
async def test_a_rollback_to_an_invariant_broken_now_needs_allow_broken(either: Services) -> None:
    services = either
    admin = services.policy_admin
    edit = await propose_invariants(admin, SHIPPED + BROKEN + "\n", services.policy)
    assert [str(b.invariant) for b in edit.broken] == [BROKEN]
    await apply_invariants(admin, edit, actor=SAM, allow_broken=True)  # v2
    await apply_invariants(  # v3: fixed, by removing it
        admin, await propose_invariant_rollback(admin, 1, services.policy), actor=SAM
    )
    again = await propose_invariant_rollback(admin, 2, services.policy)
    with pytest.raises(ChangeRefused) as refused:
        await apply_invariants(admin, again, actor=SAM)
    assert BROKEN in refused.value.broken[0] and "--allow-broken" in refused.value.broken[0]
    assert BROKEN not in _in_force(services)
    assert [v.number for v in await services.invariants.versions()] == [3, 2, 1]
    [denied] = await services.records.entries(action="invariants_rollback", limit=1)
    assert denied.outcome.value == "denied" and denied.target is None

    allowed = await apply_invariants(admin, again, actor=SAM, allow_broken=True)
    assert allowed is not None and allowed.number == 4
    assert BROKEN in _in_force(services)
    assert "1 broken at" in services.invariants.status()


@pytest.mark.backend
async def test_a_file_edited_on_disk_is_recorded_as_an_edit(services: Services) -> None:
    path = services.settings.policy_invariants_file
    path.write_text(SHIPPED)
    assert [v.kind for v in await services.invariants.versions()] == [InvariantKind.INITIAL]
    path.write_text(SHIPPED + OPEN + "\n")
    latest, first = await services.invariants.versions()
    assert (latest.kind, latest.actor, latest.text) == (
        InvariantKind.EDIT,
        str(path),
        SHIPPED + OPEN + "\n",
    )
    # And a rollback to before it restores the file as it was.
    admin = services.policy_admin
    await apply_invariants(
        admin, await propose_invariant_rollback(admin, first.number, services.policy), actor=SAM
    )
    assert path.read_text() == SHIPPED
