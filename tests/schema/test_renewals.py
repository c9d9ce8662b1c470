"""Notifications people expect (an answer, an acceptance, an invitation, one about to
expire) and extending invitations and memberships, on every store backend, with the clock
in the test's hands."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain import ids
from gateway.domain.model import StoreName
from gateway.records import Outcome
from gateway.runtime.reminders import remind_expiring
from tests.personas import run
from tests.schema.test_invitations import NOW, codes, invite, newcomer, sees
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

EXTEND = """mutation($i: ExtendInvitationInput!) {
  extendInvitation(input: $i) {
    invitation { id status expiresAt } errors { code message field } } }"""
EXTEND_MEMBER = """mutation($i: ExtendMembershipInput!) {
  extendMembership(input: $i) { extended expiresAt errors { code message field } } }"""
NOTES = """{ notifications(first: 50) { edges { node { kind actorName
  subject { id ... on Invitation { email status } ... on Answer { body } }
  space { name } } } } }"""


async def notes(services: Services, who: str, **kwargs: Any) -> list[dict[str, Any]]:
    result = await run(services, who, NOTES, **kwargs)
    assert result.errors is None, result.errors
    return [e["node"] for e in result.data["notifications"]["edges"]]


async def test_the_asker_hears_of_an_answer_and_the_answerer_of_its_acceptance(
    services: Services,
) -> None:
    ask = """{ questions(first: 50) { edges { node { id title } } } }"""
    listed = await run(services, "tara@customer.example", ask)
    ipv6 = next(
        e["node"]["id"]
        for e in listed.data["questions"]["edges"]
        if e["node"]["title"] == "Does the hub support IPv6?"
    )
    answered = await run(
        services,
        "erin@corp.example",
        """mutation($i: AnswerQuestionInput!) {
          answerQuestion(input: $i) { answer { id } errors { code } } }""",
        {"i": {"questionId": ipv6, "body": "Yes, since firmware 2.1."}},
    )
    answer = answered.data["answerQuestion"]["answer"]["id"]
    assert [n for n in await notes(services, "tara@customer.example") if n["kind"] == "answer"] == [
        {
            "kind": "answer",
            "actorName": "Erin Engel",
            "subject": {"id": answer, "body": "Yes, since firmware 2.1."},
            "space": {"name": "Product support"},
        }
    ]
    accepted = await run(
        services,
        "tara@customer.example",
        """mutation($i: AcceptAnswerInput!) { acceptAnswer(input: $i) { errors { code } } }""",
        {"i": {"answerId": answer}},
    )
    assert accepted.data["acceptAnswer"]["errors"] == []
    told = [n for n in await notes(services, "erin@corp.example") if n["kind"] == "accepted"]
    assert [(n["subject"]["id"], n["actorName"]) for n in told] == [(answer, "Tara Thompson")]
    # Nobody is told of their own doing: tara accepting is not news to tara.
    assert not [
        n for n in await notes(services, "tara@customer.example") if n["kind"] == "accepted"
    ]


async def test_the_invitee_is_told_and_reminded_once_with_the_sponsor(services: Services) -> None:
    spaces = await space_ids(services)
    made = await invite(services, "erin@corp.example", spaces[AURORA], expires=timedelta(days=10))
    invitation = made["invitation"]["id"]
    mine = await notes(services, "", principal=newcomer(), now=NOW)
    assert [(n["kind"], n["subject"]["id"], n["actorName"]) for n in mine] == [
        ("invited", invitation, "Erin Engel")
    ]
    # Too early: the reminder is 3 days ahead by default.
    assert await remind_expiring(services, NOW + timedelta(days=6)) == 0
    # Two replicas running the job at once send each reminder once.
    soon = NOW + timedelta(days=8)
    both = await asyncio.gather(remind_expiring(services, soon), remind_expiring(services, soon))
    assert sum(both) == 2
    assert await remind_expiring(services, soon + timedelta(hours=1)) == 0
    expiring = [
        n
        for n in await notes(services, "", principal=newcomer(), now=soon)
        if n["kind"] == "expiring"
    ]
    assert [(n["subject"]["id"], n["actorName"]) for n in expiring] == [(invitation, "the gateway")]
    sponsor = [
        n for n in await notes(services, "erin@corp.example", now=soon) if n["kind"] == "expiring"
    ]
    assert [n["subject"]["id"] for n in sponsor] == [invitation]
    # Extended, it is reminded of again when the new expiry comes near.
    later = (NOW + timedelta(days=40)).isoformat()
    extended = await run(
        services,
        "erin@corp.example",
        EXTEND,
        {"i": {"invitationId": invitation, "expiresAt": later}},
        now=soon,
    )
    assert extended.data["extendInvitation"]["errors"] == []
    assert extended.data["extendInvitation"]["invitation"]["expiresAt"] == later
    assert await remind_expiring(services, soon + timedelta(days=1)) == 0
    assert await remind_expiring(services, NOW + timedelta(days=38)) == 2


async def test_extending_an_accepted_invitation_extends_the_access(services: Services) -> None:
    spaces = await space_ids(services)
    made = await invite(services, "erin@corp.example", spaces[AURORA], expires=timedelta(days=10))
    invitation = made["invitation"]["id"]
    await sees(services, newcomer(), NOW + timedelta(minutes=1))  # binds it
    until = (NOW + timedelta(days=60)).isoformat()
    variables = {"i": {"invitationId": invitation, "expiresAt": until, "idempotencyKey": "x1"}}
    first = await run(services, "erin@corp.example", EXTEND, variables, now=NOW)
    second = await run(services, "erin@corp.example", EXTEND, variables, now=NOW)
    assert first.data == second.data
    assert first.data["extendInvitation"]["invitation"]["status"] == "ACCEPTED"
    seen = await sees(services, newcomer(), NOW + timedelta(days=20))
    assert AURORA in seen["spaces"]
    assert seen["memberships"][0]["expiresAt"] == until
    written = await services.records.entries(actor="user:erin@corp.example", action="invite")
    extends = [e for e in written if e.detail.get("operation") == "extendInvitation"]
    assert [e.outcome for e in extends] == [Outcome.OK]


async def test_extending_an_invitation_within_the_limits_of_inviting(services: Services) -> None:
    spaces = await space_ids(services)
    made = await invite(services, "erin@corp.example", spaces[AURORA])
    invitation = made["invitation"]["id"]

    async def extend(who: str, expires: timedelta, target: str = invitation) -> Any:
        at = (NOW + expires).isoformat()
        result = await run(
            services, who, EXTEND, {"i": {"invitationId": target, "expiresAt": at}}, now=NOW
        )
        assert result.errors is None, result.errors
        return result.data["extendInvitation"]

    too_far = await extend("erin@corp.example", timedelta(days=400))
    assert codes(too_far) == [("INVALID", "expiresAt")]
    past = await extend("erin@corp.example", timedelta(days=-1))
    assert codes(past) == [("INVALID", "expiresAt")]
    # Someone who may not manage Aurora's members: answered like a missing invitation.
    missing = ids.encode("Invitation", StoreName.INTERNAL, "999999")
    for who in ("paula@partner.example", "hana@corp.example", "mo@customer.example"):
        hidden = await extend(who, timedelta(days=20))
        absent = await extend(who, timedelta(days=20), missing)
        assert hidden == absent, who
        assert codes(hidden) == [("NOT_FOUND", "invitationId")]
    guest = await extend("guest", timedelta(days=20))
    assert codes(guest) == [("UNAUTHENTICATED", None)]
    revoked = await run(
        services,
        "erin@corp.example",
        """mutation($i: RevokeInvitationInput!) {
          revokeInvitation(input: $i) { errors { code } } }""",
        {"i": {"invitationId": invitation}},
        now=NOW,
    )
    assert revoked.data["revokeInvitation"]["errors"] == []
    again = await extend("erin@corp.example", timedelta(days=20))
    assert codes(again) == [("CONFLICT", None)]


async def test_extending_a_membership(services: Services) -> None:
    """Paula's demo membership of Aurora (180 days) moves; re-inviting her is a CONFLICT."""
    spaces = await space_ids(services)
    authors = await run(
        services,
        "erin@corp.example",
        """query($s: ID!) { space(id: $s) { questions(first: 10) { edges { node {
          title author { id } } } } } }""",
        {"s": spaces[AURORA]},
    )
    paula = next(
        e["node"]["author"]["id"]
        for e in authors.data["space"]["questions"]["edges"]
        if e["node"]["title"] == "Aurora battery spec?"
    )
    reinvite = await invite(services, "erin@corp.example", spaces[AURORA], "paula@partner.example")
    assert codes(reinvite) == [("CONFLICT", None)]
    until = (NOW + timedelta(days=300)).isoformat()
    variables = {"i": {"spaceId": spaces[AURORA], "personId": paula, "expiresAt": until}}
    done = await run(services, "erin@corp.example", EXTEND_MEMBER, variables, now=NOW)
    assert done.data["extendMembership"] == {"extended": True, "expiresAt": until, "errors": []}
    me = await run(
        services,
        "paula@partner.example",
        "{ viewer { memberships { expiresAt space { name } } } }",
        now=NOW,
    )
    assert {"expiresAt": until, "space": {"name": AURORA}} in me.data["viewer"]["memberships"]
    # Not the owner: tara reads Aurora, but may not manage its members.
    refused = await run(services, "tara@customer.example", EXTEND_MEMBER, variables, now=NOW)
    assert codes(refused.data["extendMembership"]) == [("FORBIDDEN", "spaceId")]
    # Someone who holds no membership there.
    nobody = ids.encode("Person", StoreName.INTERNAL, "999999")
    none = await run(
        services,
        "erin@corp.example",
        EXTEND_MEMBER,
        {"i": {"spaceId": spaces[AURORA], "personId": nobody, "expiresAt": until}},
        now=NOW,
    )
    assert codes(none.data["extendMembership"]) == [("NOT_FOUND", "personId")]
    # A space the caller cannot see: like a missing one.
    hidden = await run(
        services,
        "paula@partner.example",
        EXTEND_MEMBER,
        {"i": {"spaceId": spaces["Project Falcon"], "personId": paula, "expiresAt": until}},
        now=NOW,
    )
    assert codes(hidden.data["extendMembership"]) == [("NOT_FOUND", "spaceId")]
