"""Access invariants: parsed with clear errors, and a table of invariants x changes (policy
lines, rollbacks, file edits, invitations, bindings, membership changes, new spaces) on
every store backend: each change that would break one is refused naming it, changes
nothing, and is audited; the same change without the invariant goes through."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from gateway.cli import demo_principal
from gateway.config import REPO_POLICY
from gateway.identity.dev_issuer import dev_principal
from gateway.policies.admin.changes import ChangeRefused
from gateway.policies.admin.guard import check_state
from gateway.policies.admin.reload import PolicyReloader
from gateway.policies.invariants import InvariantError, Invariants, Kind
from gateway.records import Outcome
from tests.personas import run
from tests.schema.test_invitations import CREATE, INVITE, REMOVE
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from gateway.runtime.services import Services

NOW = datetime.now(UTC).replace(microsecond=0)
SHIPPED = REPO_POLICY.with_name("policy-invariants.csv")
FALCON = "Project Falcon"
SUPPLIER = "supplier@partner.example"
# Lets externals be given any role anywhere internal: the invariants must still hold.
JOIN_ANY = "p, external, internal/*, Membership.*, join, allow"
INVITE_ANY = "p, space_owner, internal/*, Membership.space_guest, invite, allow"


def test_the_shipped_invariants_load_and_each_line_says_what_it_is() -> None:
    shipped = Invariants.from_file(SHIPPED)
    assert {str(i) for i in shipped.items} >= {
        "never, partner, internal/restricted/*, space, read",
        "always, security_admin, *, policy, administer",
    }
    assert {i.kind for i in shipped.items} == set(Kind)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("never, partner, internal/restricted/*, space", "5 fields"),
        ("sometimes, partner, internal/*, space, read", "'never' or 'always'"),
        ("never, supplier, internal/*, space, read", "unknown subject 'supplier'"),
        ("never, user:nobody, internal/*, space, read", "needs an email"),
        ("never, partner, internal/secret/*, space, read", "unknown visibility 'secret'"),
        ("never, partner, internal/*, Space.name, read", "names no resource"),
        ("never, partner, internal/*, space, peek", "unknown action 'peek'"),
        ("always, security_admin, internal/*, policy, administer", "domain '*' only"),
    ],
)
def test_a_bad_invariant_is_refused_naming_its_line_and_why(line: str, reason: str) -> None:
    with pytest.raises(InvariantError) as caught:
        Invariants.parse(f"# a comment\n\n{line}\n", source="inv.csv")
    assert caught.value.located[0][0] == 3
    assert reason in caught.value.located[0][1], caught.value.located
    assert str(caught.value).startswith("inv.csv: line 3: ")


def declare(services: Services, *lines: str) -> None:
    services.settings.policy_invariants_file.write_text("".join(f"{x}\n" for x in lines))


@pytest.mark.backend
async def test_the_shipped_policy_and_demo_break_no_shipped_invariant(services: Services) -> None:
    declare(services, *SHIPPED.read_text().splitlines())
    broken, found = await check_state(
        services.policy,
        services.invariants.read(),
        services.stores,
        services.records,
    )
    assert broken == [] and found.spaces


# --- the table ---------------------------------------------------------------------------


async def _gql(services: Services, who: str, query: str, i: dict[str, Any], **kw: Any) -> Any:
    result = await run(services, who, query, {"i": i}, **kw)
    assert result.errors is None, result.errors
    return next(iter(result.data.values()))


async def _errors(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["code"], e["message"]) for e in payload["errors"]]


async def _policy_change(services: Services, add: list[str], remove: list[str]) -> list[str]:
    admin = services.policy_admin
    latest = await admin.latest()
    proposal = await admin.propose_edit(add, remove)
    try:
        await admin.apply(proposal, expected=latest.number, actor="user:sam@corp.example")
    except ChangeRefused as exc:
        assert exc.broken, exc.problems
        return exc.broken
    return []


async def add_partner_restricted(services: Services) -> list[str]:
    return await _policy_change(services, ["p, partner, internal/restricted/*, space, read"], [])


async def remove_employee_open(services: Services) -> list[str]:
    return await _policy_change(services, [], ["p, employee, internal/open/*, space, read, allow"])


async def rollback_to_public_guests(services: Services) -> list[str]:
    # v2 stops guests reading the public community; going back to v1 would again let them.
    await _apply_unchecked(services, [], ["p, guest, community/public/*, space, read, allow"])
    admin = services.policy_admin
    latest = await admin.latest()
    proposal = await admin.propose_rollback(1)
    try:
        await admin.apply(proposal, expected=latest.number, actor="user:sam@corp.example")
    except ChangeRefused as exc:
        return exc.broken
    return []


async def _apply_unchecked(services: Services, add: list[str], remove: list[str]) -> None:
    """A change made before the invariant under test is declared (the table's set-up)."""
    saved = services.settings.policy_invariants_file.read_text()
    declare(services)
    admin = services.policy_admin
    latest = await admin.latest()
    proposal = await admin.propose_edit(add, remove)
    await admin.apply(proposal, expected=latest.number, actor="user:sam@corp.example")
    services.settings.policy_invariants_file.write_text(saved)


async def edit_file_on_disk(services: Services) -> list[str]:
    admin = services.policy_admin
    reloader = PolicyReloader(
        services,
        services.records.known_principals,
        services.policy_store,
        breaks=admin.breaks_now,
    )
    before = services.policy
    path = services.settings.policy_file
    path.write_text(path.read_text() + "\np, partner, internal/restricted/*, space, read\n")
    if await reloader.check():
        return []
    assert services.policy is before
    return ["not reloaded"]


async def invite_supplier_into_falcon(services: Services) -> list[str]:
    await _apply_unchecked(services, [JOIN_ANY], [])
    spaces = await space_ids(services)
    payload = await _gql(
        services,
        "omar@corp.example",
        INVITE,
        {
            "spaceId": spaces[FALCON],
            "email": SUPPLIER,
            "role": "MEMBER",
            "expiresAt": (NOW + timedelta(days=7)).isoformat(),
        },
        now=NOW,
    )
    return [m for code, m in await _errors(payload) if code == "INVARIANT"] or (
        [] if payload["invitation"] else ["refused otherwise"]
    )


async def bind_at_login(services: Services) -> list[str]:
    # Invited before the invariant was declared; the supplier logs in after.
    saved = services.settings.policy_invariants_file.read_text()
    declare(services)
    made = await invite_supplier_into_falcon(services)
    assert made == []
    services.settings.policy_invariants_file.write_text(saved)
    supplier = dev_principal(SUPPLIER, name="Sue", roles=("partner",), organisation="Partner")
    seen = await _gql_raw(services, supplier, NOW + timedelta(minutes=1))
    entries = await services.records.entries(actor=f"user:{SUPPLIER}", action="join")
    if FALCON in seen:
        assert [e.outcome for e in entries] == [Outcome.OK]
        return []
    [entry] = entries
    assert entry.outcome is Outcome.DENIED
    return list(entry.detail["refused"])


async def _gql_raw(services: Services, principal: Any, at: datetime) -> set[str]:
    query = "{ spaces(first: 100) { edges { node { name } } } }"
    result = await run(services, "", query, now=at, principal=principal)
    assert result.errors is None, result.errors
    return {e["node"]["name"] for e in result.data["spaces"]["edges"]}


async def remove_erin_from_falcon(services: Services) -> list[str]:
    spaces = await space_ids(services)
    result = await run(
        services,
        "omar@corp.example",
        """query($s: ID!) { questions(spaceId: $s, first: 50) {
             edges { node { author { id handle } } } } }""",
        {"s": spaces[FALCON]},
    )
    [erin] = {
        e["node"]["author"]["id"]
        for e in result.data["questions"]["edges"]
        if e["node"]["author"]["handle"] == "erin"
    }
    payload = await _gql(
        services, "omar@corp.example", REMOVE, {"spaceId": spaces[FALCON], "personId": erin}
    )
    return [m for code, m in await _errors(payload) if code == "INVARIANT"]


async def create_restricted_space(services: Services) -> list[str]:
    payload = await _gql(
        services,
        "erin@corp.example",
        CREATE,
        {"store": "INTERNAL", "kind": "GROUP", "name": "Skunkworks", "visibility": "RESTRICTED"},
    )
    return [m for code, m in await _errors(payload) if code == "INVARIANT"] or (
        [] if payload["space"] else ["refused otherwise"]
    )


@dataclass(frozen=True)
class Case:
    invariant: str
    change: Callable[[Services], Awaitable[list[str]]]
    names: str  # what the refusal must name besides the invariant: a principal or a space


PARTNER = "never, partner, internal/restricted/*, space, read"
TABLE = [
    Case(PARTNER, add_partner_restricted, "persona:partner"),
    Case("always, employee, internal/open/*, space, read", remove_employee_open, "internal/open/"),
    Case("never, guest, community/public/*, space, read", rollback_to_public_guests, "community/"),
    Case(PARTNER, edit_file_on_disk, ""),
    Case(PARTNER, invite_supplier_into_falcon, SUPPLIER),
    Case(PARTNER, bind_at_login, "internal/restricted/project-falcon"),
    Case(
        "always, user:erin@corp.example, internal/restricted/*, space, read",
        remove_erin_from_falcon,
        "user:erin@corp.example",
    ),
    Case("never, employee, internal/restricted/*, space, ask", create_restricted_space, "skunk"),
]


@pytest.mark.backend
@pytest.mark.parametrize("case", TABLE, ids=lambda c: c.change.__name__)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
async def test_a_change_breaking_an_invariant_is_refused_naming_it(
    services: Services, case: Case, declared: bool
) -> None:
    declare(services, case.invariant if declared else "# none")
    refused = await case.change(services)
    if not declared:
        assert refused == []
        return
    assert refused, "the change went through"
    if case.change is not edit_file_on_disk:
        assert case.invariant in refused[0] and case.names in refused[0], refused


@pytest.mark.backend
async def test_a_refused_policy_change_is_audited_with_its_invariant(services: Services) -> None:
    declare(services, PARTNER)
    before = services.policy
    assert await add_partner_restricted(services)
    assert services.policy is before
    [entry] = await services.records.entries(action="policy_apply")
    assert entry.outcome is Outcome.DENIED
    assert entry.detail["invariants"][0]["invariant"] == PARTNER
    assert "persona:partner" in entry.detail["invariants"][0]["principals"]


@pytest.mark.backend
async def test_an_invariant_the_state_breaks_refuses_only_what_adds_to_it(
    services: Services,
) -> None:
    # Broken already (paula reads Aurora as its guest); an unrelated change still goes through.
    await services.records.remember(demo_principal("paula@partner.example", ()), NOW)
    declare(services, "never, partner, internal/shared/*, space, read")
    assert await _policy_change(services, ["p, partner, internal/open/*, space, read"], []) == []
    assert await _policy_change(services, ["p, partner, internal/shared/*, space, read"], [])


def test_invariant_messages_name_line_principal_and_space() -> None:
    from gateway.policies.admin.impact import persona_subjects
    from gateway.policies.invariants import evaluate
    from gateway.policies.policy import Policy

    policy = Policy.parse(REPO_POLICY.read_text() + "p, partner, internal/*, space, read\n")
    declared = Invariants.parse(f"# x\n{PARTNER}\n")
    [broken] = evaluate(policy, declared, persona_subjects(), ["internal/restricted/falcon"])
    assert broken.message() == (
        f"breaks invariant '{PARTNER}' (line 2): persona:partner would be allowed read in "
        "internal/restricted/falcon"
    )
    assert dataclasses.replace(broken.invariant, line=9) == broken.invariant
