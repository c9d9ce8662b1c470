"""With ``policy.store = "database"`` the invariants live in the records database beside
the policy: seeded from the shipped file on the very first start, checked on every change,
edited there (never in the file), and in force on another replica after its next look."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from gateway.config import REPO_POLICY
from gateway.http.app import build_services, prepare_stores
from gateway.policies.admin.changes import ChangeRefused
from gateway.policies.admin.invariant_edits import apply_invariants, propose_invariants
from gateway.policies.invariant_table import InvariantTable
from tests.policies.test_admin import database_policy

if TYPE_CHECKING:
    from gateway.runtime.services import Services

__all__ = ["database_policy"]  # the fixture, used by name

SHIPPED = REPO_POLICY.with_name("policy-invariants.csv")
BREACH = "p, partner, internal/restricted/*, space, read, allow"
OPEN = "never, partner, internal/open/*, space, read"


@pytest.mark.backend
async def test_the_database_invariants_are_seeded_checked_edited_and_seen_by_replicas(
    database_policy: Services,
) -> None:
    services = database_policy
    assert isinstance(services.invariants, InvariantTable)
    assert services.invariants.read().text == SHIPPED.read_text()

    admin = services.policy_admin
    proposal = await admin.propose_edit([BREACH], [])
    with pytest.raises(ChangeRefused) as refused:
        await admin.apply(proposal, expected=1, actor="user:sam@corp.example")
    assert "never, partner, internal/restricted/*, space, read" in refused.value.broken[0]

    # Another replica over the same databases.
    other = build_services(dataclasses.replace(services.settings))
    await prepare_stores(other)
    try:
        edit = await propose_invariants(admin, SHIPPED.read_text() + OPEN + "\n", services.policy)
        await apply_invariants(admin, edit, actor="user:sam@corp.example", reason="tighter")
        assert OPEN in {str(i) for i in services.invariants.read().items}
        assert OPEN not in SHIPPED.read_text()  # edited in the database, never in the file
        assert OPEN not in {str(i) for i in other.invariants.read().items}  # not looked yet
        await other.invariants.refresh()
        assert OPEN in {str(i) for i in other.invariants.read().items}
        grant = await other.policy_admin.propose_edit(
            ["p, partner, internal/open/*, space, read"], []
        )
        assert any(OPEN in r for r in grant.refusals)
    finally:
        await other.close()
