"""The population administrators' tools judge: gathered in a few statements, and equal to
what each principal's own requests would load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from gateway.domain.demo import PEOPLE
from gateway.domain.model import StoreName
from gateway.policies.admin import population
from gateway.policies.admin.judged import Judge
from gateway.policies.admin.whocan import who_can
from tests.personas import run
from tests.schema.test_invitations import INVITE, REVOKE, newcomer, sees
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services


@pytest.mark.backend
async def test_memberships_of_many_equal_each_ones_own(services: Services) -> None:
    spaces = await space_ids(services)
    invited = await run(
        services,
        "erin@corp.example",
        INVITE,
        {
            "i": {
                "spaceId": spaces[AURORA],
                "email": "Nina@Partner.example",
                "role": "GUEST",
                "expiresAt": (datetime.now(UTC) + timedelta(days=9)).isoformat(),
            }
        },
    )
    assert invited.errors is None and not invited.data["inviteToSpace"]["errors"]
    emails = [p.email for p in PEOPLE] + ["nina@partner.example", "nobody@example.com", " "]
    asked = [e.upper() if i % 2 else e for i, e in enumerate(emails)]  # case does not matter
    for name in StoreName:
        store = services.stores[name]
        many = await store.memberships_of(asked)
        one_by_one = {e: await store.memberships_for(e) for e in emails if e.strip()}
        assert many == {e: ms for e, ms in one_by_one.items() if ms}
    assert any(
        m.pending
        for m in (
            await services.stores[StoreName.INTERNAL].memberships_of(["nina@partner.example"])
        )["nina@partner.example"]
    )
    assert await services.stores[StoreName.COMMUNITY].memberships_of([]) == {}


@pytest.mark.backend
async def test_the_population_carries_each_known_principals_memberships(
    services: Services,
) -> None:
    for person in PEOPLE:
        await run(services, person.email, "{ viewer { id } }")  # seen, as a request makes them
    found = await population.gather(services.stores, services.records)
    known = {s.name: s.principal for s in found.subjects if s.name.startswith("user:")}
    assert set(known) == {f"user:{p.email}" for p in PEOPLE}
    for pid, principal in known.items():
        alone = await population.with_memberships(services.stores, principal)
        assert sorted(principal.memberships, key=repr) == sorted(alone.memberships, key=repr), pid
    assert [s.name for s in found.subjects if s.name.startswith("persona:")]
    assert len(found.spaces) == len(await population.all_spaces(services.stores))


FALCON = "internal/restricted/project-falcon"


@pytest.mark.backend
async def test_members_who_never_logged_in_are_there_with_how_they_were_judged(
    services: Services,
) -> None:
    # Nobody has logged in: every person comes from the stores alone.
    judge = Judge.for_settings(services.settings)
    found = await population.gather(services.stores, services.records, judge=judge)
    judged = {s.name: s for s in found.subjects if s.judged is not None}
    held: set[str] = set()
    for name in StoreName:
        held |= set(await services.stores[name].memberships_of([p.email for p in PEOPLE]))
    assert set(judged) == {f"user:{e}" for e in held}
    omar = judged["user:omar@corp.example"]
    assert omar.principal.roles == {"employee"}
    assert omar.judged == (
        "never logged in; judged as employee by the demo data (the development issuer)"
    )
    assert any(
        m.space_key == FALCON and m.role.value == "space_owner" for m in omar.principal.memberships
    )
    # Their memberships are what their own request would load.
    for subject in judged.values():
        alone = await population.with_memberships(services.stores, subject.principal)
        assert sorted(subject.principal.memberships, key=repr) == sorted(
            alone.memberships, key=repr
        )
    # Known principals stay as their token said, and are not judged twice.
    await run(services, "omar@corp.example", "{ viewer { id } }")
    again = await population.gather(services.stores, services.records, judge=judge)
    named = [s for s in again.subjects if s.name == "user:omar@corp.example"]
    assert len(named) == 1 and named[0].judged is None


@pytest.mark.backend
async def test_an_invitee_without_a_profile_is_judged_by_what_the_stores_know(
    services: Services,
) -> None:
    spaces = await space_ids(services)
    invited = await run(
        services,
        "erin@corp.example",
        INVITE,
        {
            "i": {
                "spaceId": spaces[AURORA],
                "email": "nina@partner.example",
                "role": "GUEST",
                "expiresAt": (datetime.now(UTC) + timedelta(days=9)).isoformat(),
            }
        },
    )
    assert invited.errors is None and not invited.data["inviteToSpace"]["errors"]
    # Without any login configuration: the stores' records alone.
    found = await population.gather(services.stores, services.records)
    by_name = {s.name: s for s in found.subjects}
    nina = by_name["user:nina@partner.example"]
    assert nina.principal.roles == frozenset()  # not even the guest's: memberships only
    assert nina.judged == (
        "never logged in; judged as no persona (memberships only) by the stores (nothing says more)"
    )
    assert [m.pending for m in nina.principal.memberships] == [True]
    omar = by_name["user:omar@corp.example"]
    assert omar.principal.roles == {"employee"}
    assert omar.judged is not None and "internal store's profile" in omar.judged
    paula = by_name["user:paula@partner.example"]
    assert paula.principal.roles == frozenset()  # marked external: her memberships only
    assert {m.space_key for m in paula.principal.memberships} >= {"internal/shared/aurora-feedback"}


@pytest.mark.backend
async def test_a_revoked_invitation_is_explained_with_when_and_by_whom(
    services: Services,
) -> None:
    spaces = await space_ids(services)
    invited = await run(
        services,
        "erin@corp.example",
        INVITE,
        {
            "i": {
                "spaceId": spaces[AURORA],
                "email": "nina@partner.example",
                "role": "GUEST",
                "expiresAt": (datetime.now(UTC) + timedelta(days=9)).isoformat(),
            }
        },
    )
    invitation = invited.data["inviteToSpace"]["invitation"]["id"]
    await sees(services, newcomer(), datetime.now(UTC))  # she arrives: it binds
    revoked = await run(services, "erin@corp.example", REVOKE, {"i": {"invitationId": invitation}})
    assert revoked.errors is None and not revoked.data["revokeInvitation"]["errors"]
    found = await population.gather(services.stores, services.records)
    report = who_can(services.policy, found.subjects, found.spaces, datetime.now(UTC))
    row = next(r for r in report.rows if r.subject.name == "user:nina@partner.example")
    aurora = row.decisions[[s.name for s in report.spaces].index(AURORA)]
    assert not aurora.allowed
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    assert aurora.ended == (
        "invitation as space_guest in internal/shared/aurora-feedback revoked on "
        f"{today} by user:erin@corp.example"
    )
    assert "default deny" not in aurora.why("policies.csv")
    assert aurora.why("policies.csv").startswith(f"{aurora.ended}; no other line")
