"""Invitations and membership lifecycle: invite, bind on first request, expire at their time,
revoke, remove; and creating spaces. On every store backend, with the clock in the test's
hands."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain import ids
from gateway.domain.model import StoreName
from gateway.identity.dev_issuer import dev_principal
from gateway.records import Outcome
from tests.personas import run
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.domain.principal import Principal
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

NOW = datetime.now(UTC).replace(microsecond=0)
NEWCOMER = "nina@partner.example"

INVITE = """mutation($i: InviteToSpaceInput!) {
  inviteToSpace(input: $i) {
    invitation { id email role status expiresAt sponsor { handle } space { name } }
    errors { code message field }
  }
}"""
REVOKE = """mutation($i: RevokeInvitationInput!) {
  revokeInvitation(input: $i) { invitation { id status } errors { code message field } }
}"""
REMOVE = """mutation($i: RemoveMemberInput!) {
  removeMember(input: $i) { removed errors { code message field } }
}"""
CREATE = """mutation($i: CreateSpaceInput!) {
  createSpace(input: $i) {
    space { id name visibility store kind viewerRole }
    errors { code message field }
  }
}"""
SEES = """{ viewer { memberships { role expiresAt space { name } } }
  spaces(first: 100) { edges { node { name viewerRole } } } }"""


def newcomer(email: str = NEWCOMER, *, verified: bool = True) -> Principal:
    principal = dev_principal(email, name="Nina New", roles=("partner",), organisation="Partner")
    return dataclasses.replace(principal, email_verified=verified)


async def sees(services: Services, principal: Principal, at: datetime) -> dict[str, Any]:
    result = await run(services, "", SEES, now=at, principal=principal)
    assert result.errors is None, result.errors
    return {
        "spaces": {e["node"]["name"] for e in result.data["spaces"]["edges"]},
        "memberships": result.data["viewer"]["memberships"],
    }


async def invite(
    services: Services,
    who: str,
    space: str,
    email: str = NEWCOMER,
    role: str = "GUEST",
    expires: timedelta | None = timedelta(days=30),
    at: datetime = NOW,
) -> dict[str, Any]:
    variables: dict[str, Any] = {"spaceId": space, "email": email, "role": role}
    if expires is not None:
        variables["expiresAt"] = (at + expires).isoformat()
    result = await run(services, who, INVITE, {"i": variables}, now=at)
    assert result.errors is None, result.errors
    return result.data["inviteToSpace"]


def codes(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_an_invitation_binds_on_first_request_and_expires_at_its_time(
    services: Services,
) -> None:
    spaces = await space_ids(services)
    assert AURORA not in (await sees(services, newcomer(), NOW))["spaces"]
    made = await invite(services, "erin@corp.example", spaces[AURORA])
    assert made["errors"] == []
    invitation = made["invitation"]
    assert invitation["email"] == NEWCOMER
    assert invitation["role"] == "GUEST"
    assert invitation["status"] == "PENDING"
    assert invitation["sponsor"] == {"handle": "erin"}
    assert invitation["space"] == {"name": AURORA}

    # The owner sees it among the space's invitations; another employee sees none.
    listed = """query($s: ID!) { space(id: $s) { invitations { email status } } }"""
    owner_view = await run(services, "erin@corp.example", listed, {"s": spaces[AURORA]}, now=NOW)
    assert {"email": NEWCOMER, "status": "PENDING"} in owner_view.data["space"]["invitations"]
    other = await run(services, "hana@corp.example", listed, {"s": spaces[AURORA]}, now=NOW)
    assert other.data["space"]["invitations"] == []

    # First request with the verified email: bound, and the space is there at once.
    later = NOW + timedelta(minutes=5)
    seen = await sees(services, newcomer(), later)
    assert AURORA in seen["spaces"]
    assert seen["memberships"] == [
        {
            "role": "GUEST",
            "expiresAt": (NOW + timedelta(days=30)).isoformat(),
            "space": {"name": AURORA},
        }
    ]
    owner_view = await run(services, "erin@corp.example", listed, {"s": spaces[AURORA]}, now=later)
    assert {"email": NEWCOMER, "status": "ACCEPTED"} in owner_view.data["space"]["invitations"]
    joined = await services.records.entries(actor=f"user:{NEWCOMER}", action="join")
    assert [e.outcome for e in joined] == [Outcome.OK]

    # Access ends at the expiry, with no job having run: a second before, and at it.
    assert (
        AURORA in (await sees(services, newcomer(), NOW + timedelta(days=30, seconds=-1)))["spaces"]
    )
    expired = await sees(services, newcomer(), NOW + timedelta(days=30))
    assert AURORA not in expired["spaces"]
    assert expired["memberships"] == []


async def test_expired_revoked_and_unverified_invitations_never_bind(services: Services) -> None:
    spaces = await space_ids(services)
    short = await invite(
        services,
        "erin@corp.example",
        spaces[AURORA],
        "late@partner.example",
        expires=timedelta(hours=1),
    )
    assert short["errors"] == []
    assert (
        AURORA
        not in (await sees(services, newcomer("late@partner.example"), NOW + timedelta(hours=2)))[
            "spaces"
        ]
    )

    revoked = await invite(services, "erin@corp.example", spaces[AURORA], "gone@partner.example")
    result = await run(
        services, "erin@corp.example", REVOKE, {"i": {"invitationId": revoked["invitation"]["id"]}}
    )
    assert result.data["revokeInvitation"]["invitation"]["status"] == "REVOKED"
    assert AURORA not in (await sees(services, newcomer("gone@partner.example"), NOW))["spaces"]

    await invite(services, "erin@corp.example", spaces[AURORA], "shady@partner.example")
    unverified = newcomer("shady@partner.example", verified=False)
    assert AURORA not in (await sees(services, unverified, NOW))["spaces"]
    assert AURORA in (await sees(services, newcomer("shady@partner.example"), NOW))["spaces"]


async def test_revocation_and_removal_take_effect_on_the_next_request(services: Services) -> None:
    spaces = await space_ids(services)
    made = await invite(services, "erin@corp.example", spaces[AURORA])
    assert AURORA in (await sees(services, newcomer(), NOW))["spaces"]  # bound
    revoke = await run(
        services, "erin@corp.example", REVOKE, {"i": {"invitationId": made["invitation"]["id"]}}
    )
    assert revoke.data["revokeInvitation"]["errors"] == []
    assert AURORA not in (await sees(services, newcomer(), NOW))["spaces"]

    # Paula is a demo guest of Aurora; her owner removes her.
    assert AURORA in (await sees(services, demo("paula@partner.example"), NOW))["spaces"]
    paula = await _person_id(services, "paula")
    denied = await run(
        services,
        "hana@corp.example",
        REMOVE,
        {"i": {"spaceId": spaces[AURORA], "personId": paula}},
    )
    assert codes(denied.data["removeMember"]) == [("FORBIDDEN", "spaceId")]
    removed = await run(
        services,
        "erin@corp.example",
        REMOVE,
        {"i": {"spaceId": spaces[AURORA], "personId": paula}},
    )
    assert removed.data["removeMember"] == {"removed": True, "errors": []}
    assert AURORA not in (await sees(services, demo("paula@partner.example"), NOW))["spaces"]


def demo(email: str) -> Principal:
    from gateway.cli import demo_principal

    return demo_principal(email, ())


async def _person_id(services: Services, handle: str) -> str:
    result = await run(
        services,
        "erin@corp.example",
        """query($s: ID!) { questions(spaceId: $s, first: 50) {
             edges { node { author { id handle } } } } }""",
        {"s": (await space_ids(services))[AURORA]},
    )
    for edge in result.data["questions"]["edges"]:
        if edge["node"]["author"]["handle"] == handle:
            return edge["node"]["author"]["id"]
    people = await services.stores[StoreName.INTERNAL].people_by_emails(
        [f"{handle}@partner.example"]
    )
    return ids.encode("Person", StoreName.INTERNAL, people[f"{handle}@partner.example"].id)


async def test_who_may_invite_whom(services: Services) -> None:
    spaces = await space_ids(services)
    aurora, engineering = spaces[AURORA], spaces["Engineering"]
    # An external may be a guest of a shared space, never a member.
    assert codes(await invite(services, "erin@corp.example", aurora, role="MEMBER")) == [
        ("INVALID", "role")
    ]
    # Owners of open spaces invite staff, not externals (guests are for shared spaces).
    assert codes(await invite(services, "omar@corp.example", engineering)) == [
        ("FORBIDDEN", "role")
    ]
    staff = await invite(
        services, "omar@corp.example", engineering, "new.hire@corp.example", "MEMBER", None
    )
    assert staff["errors"] == []
    # Non-owners may not invite at all; an invited guest may not either.
    assert codes(await invite(services, "hana@corp.example", aurora)) == [("FORBIDDEN", "role")]
    assert codes(await invite(services, "paula@partner.example", aurora)) == [("FORBIDDEN", "role")]
    # An external needs an expiry, within the configured horizon, and a real address.
    assert codes(await invite(services, "erin@corp.example", aurora, expires=None)) == [
        ("INVALID", "expiresAt")
    ]
    assert codes(
        await invite(services, "erin@corp.example", aurora, expires=timedelta(days=400))
    ) == [("INVALID", "expiresAt")]
    assert codes(await invite(services, "erin@corp.example", aurora, "not-an-email")) == [
        ("INVALID", "email")
    ]
    # The community store grants access through its groups, not invitations.
    support = await invite(services, "mia@corp.example", spaces["Product support"], role="MEMBER")
    assert [e["code"] for e in support["errors"]] in (["INVALID"], ["FORBIDDEN"])
    # Already a member: said so, nothing changes.
    member = await invite(services, "erin@corp.example", aurora, "paula@partner.example")
    assert codes(member) == [("CONFLICT", None)]


async def test_domain_lists_and_the_rate_limit(services: Services) -> None:
    spaces = await space_ids(services)
    aurora = spaces[AURORA]
    services.settings = dataclasses.replace(
        services.settings,
        invite_denied_domains=("rival.example",),
        invite_allowed_domains=("partner.example", "customer.example"),
        invite_rate_per_hour=3,
    )
    assert codes(await invite(services, "erin@corp.example", aurora, "spy@rival.example")) == [
        ("INVALID", "email")
    ]
    assert codes(await invite(services, "erin@corp.example", aurora, "x@elsewhere.example")) == [
        ("INVALID", "email")
    ]
    for n in range(3):
        made = await invite(services, "erin@corp.example", aurora, f"p{n}@partner.example")
        assert made["errors"] == []
    limited = await invite(services, "erin@corp.example", aurora, "p9@partner.example")
    assert codes(limited) == [("RATE_LIMITED", None)]
    # The window slides: an hour later the inviter may invite again.
    later = await invite(
        services,
        "erin@corp.example",
        aurora,
        "p9@partner.example",
        at=NOW + timedelta(hours=1, minutes=1),
    )
    assert later["errors"] == []


async def test_revoking_a_hidden_invitation_answers_like_a_missing_one(services: Services) -> None:
    spaces = await space_ids(services)
    made = await invite(services, "erin@corp.example", spaces[AURORA])
    hidden = made["invitation"]["id"]
    missing = ids.encode("Invitation", StoreName.INTERNAL, "999999")
    for who in ("mo@customer.example", "carl@contractor.example", "guest"):
        one = await run(services, who, REVOKE, {"i": {"invitationId": hidden}})
        two = await run(services, who, REVOKE, {"i": {"invitationId": missing}})
        assert one.data == two.data, who
        assert one.data["revokeInvitation"]["invitation"] is None


async def test_create_space(services: Services) -> None:
    made = await run(
        services,
        "erin@corp.example",
        CREATE,
        {
            "i": {
                "store": "INTERNAL",
                "kind": "GROUP",
                "name": "Zeppelin design",
                "visibility": "RESTRICTED",
            }
        },
    )
    payload = made.data["createSpace"]
    assert payload["errors"] == []
    assert payload["space"]["name"] == "Zeppelin design"
    assert payload["space"]["visibility"] == "RESTRICTED"
    # The payload says what a fresh query would: the creator owns it.
    assert payload["space"]["viewerRole"] == "OWNER"
    # Restricted: its creator (owner) sees it from the next request on; other employees do not.
    erin = await sees(services, demo("erin@corp.example"), NOW)
    assert "Zeppelin design" in erin["spaces"]
    assert "Zeppelin design" not in (await sees(services, demo("sam@corp.example"), NOW))["spaces"]
    again = await run(
        services,
        "sam@corp.example",
        CREATE,
        {
            "i": {
                "store": "INTERNAL",
                "kind": "GROUP",
                "name": "Zeppelin Design!",
                "visibility": "OPEN",
            }
        },
    )
    assert codes(again.data["createSpace"]) == [("CONFLICT", None)]
    for who, store in (("tara@customer.example", "COMMUNITY"), ("erin@corp.example", "COMMUNITY")):
        denied = await run(
            services,
            who,
            CREATE,
            {"i": {"store": store, "kind": "QA", "name": "Mine", "visibility": "PUBLIC"}},
        )
        assert codes(denied.data["createSpace"]) == [("FORBIDDEN", "store")], who
    community = await run(
        services,
        "mia@corp.example",
        CREATE,
        {
            "i": {
                "store": "COMMUNITY",
                "kind": "QA",
                "name": "Beta testers",
                "visibility": "PRIVATE",
            }
        },
    )
    assert community.data["createSpace"]["errors"] == []
    assert "Beta testers" in (await sees(services, demo("mia@corp.example"), NOW))["spaces"]
    assert (
        "Beta testers" not in (await sees(services, demo("tara@customer.example"), NOW))["spaces"]
    )
    bad = await run(
        services,
        "mia@corp.example",
        CREATE,
        {"i": {"store": "COMMUNITY", "kind": "QA", "name": " ", "visibility": "PUBLIC"}},
    )
    assert codes(bad.data["createSpace"]) == [("INVALID", "name")]
    # A visibility no store has is not a Visibility: refused before anything runs.
    unknown = await run(
        services,
        "mia@corp.example",
        CREATE,
        {"i": {"store": "COMMUNITY", "kind": "QA", "name": "X", "visibility": "secret"}},
    )
    assert unknown.data is None
    assert unknown.errors and "Visibility" in unknown.errors[0].message
