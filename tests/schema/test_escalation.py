"""Escalating community questions into internal spaces, per persona, on every store backend.

The demo escalated "Does the hub support IPv6?" into Engineering Q&A (erin): whoever may
read Engineering Q&A sees the escalation on the question; everyone else sees null, as for a
question never escalated, and ``node`` answers its id like one that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.cli import demo_principal
from gateway.domain import ids
from gateway.domain.model import StoreName
from gateway.records import Outcome
from tests.personas import PERSONAS, run

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

IPV6 = "Does the hub support IPv6?"
QUESTIONS = """{ questions(first: 100) { edges { node { id title answered
  escalation { id at space { name } by { displayName } topic { title body }
    question { title } answer { body accepted } } } } } }"""
SPACES = "{ spaces(first: 100) { edges { node { id name } } } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Escalation { space { name } } } }"
ESCALATE = """mutation($i: EscalateQuestionInput!) { escalateQuestion(input: $i) {
  escalation { id space { name } by { displayName } question { title } }
  topic { title body space { name } } errors { code field message } } }"""
ANSWER = """mutation($i: AnswerFromEscalationInput!) { answerFromEscalation(input: $i) {
  answer { id body accepted author { displayName } question { answered } }
  escalation { answer { body } } errors { code field message } } }"""

# Who may read Engineering Q&A (open): employees and the contractor.
ENGINEERING_READERS = {
    "carl@contractor.example",
    "erin@corp.example",
    "hana@corp.example",
    "sam@corp.example",
    "mia@corp.example",
}


async def _questions(services: Services, who: str) -> dict[str, dict[str, Any]]:
    result = await run(services, who, QUESTIONS)
    assert result.errors is None, result.errors
    return {e["node"]["title"]: e["node"] for e in result.data["questions"]["edges"]}


async def _space_ids(services: Services) -> dict[str, str]:
    result = await run(services, "erin@corp.example", SPACES)
    return {e["node"]["name"]: e["node"]["id"] for e in result.data["spaces"]["edges"]}


async def _demo_escalation_id(services: Services) -> str:
    escalation = (await _questions(services, "erin@corp.example"))[IPV6]["escalation"]
    assert escalation is not None
    return str(escalation["id"])


@pytest.mark.parametrize("who", PERSONAS)
async def test_the_demo_escalation_shows_to_readers_of_its_space_only(
    services: Services, who: str
) -> None:
    question = (await _questions(services, who))[IPV6]
    escalation = question["escalation"]
    node = await run(services, who, NODE, {"id": await _demo_escalation_id(services)})
    if who in ENGINEERING_READERS:
        assert escalation["space"] == {"name": "Engineering Q&A"}
        assert escalation["by"] == {"displayName": "Erin Engel"}
        assert escalation["question"] == {"title": IPV6}
        assert escalation["topic"]["title"] == f"Escalated: {IPV6}"
        assert "> Our network is IPv6-only." in escalation["topic"]["body"]
        assert question["id"] in escalation["topic"]["body"]  # the link back
        assert node.data["node"]["space"] == {"name": "Engineering Q&A"}
    else:
        assert escalation is None
        assert node.data["node"] is None
        assert f"Escalated: {IPV6}" not in str(await _questions(services, who))


async def _escalate(services: Services, who: str, **values: Any) -> dict[str, Any]:
    result = await run(services, who, ESCALATE, {"i": values})
    assert result.errors is None, result.errors
    return dict(result.data["escalateQuestion"])


async def test_an_escalation_into_falcon_is_seen_by_falcon_only(services: Services) -> None:
    questions, spaces = await _questions(services, "erin@corp.example"), await _space_ids(services)
    pairing = questions["Sensor will not pair"]["id"]
    made = await _escalate(
        services,
        "erin@corp.example",
        questionId=pairing,
        spaceId=spaces["Project Falcon"],
        note="Does Falcon's sync change pairing?",
    )
    assert made["errors"] == []
    assert made["escalation"]["space"] == {"name": "Project Falcon"}
    assert made["topic"]["space"] == {"name": "Project Falcon"}
    assert made["topic"]["body"].endswith("Does Falcon's sync change pairing?")
    for who in PERSONAS:
        shown = (await _questions(services, who))["Sensor will not pair"]["escalation"]
        assert (shown is not None) is (who == "erin@corp.example"), who
    # omar is in Falcon too, but not a demo persona: his principal has the employee role.
    omar = demo_principal("omar@corp.example", ("employee",))
    seen = await run(services, "", QUESTIONS, principal=omar)
    by_title = {e["node"]["title"]: e["node"] for e in seen.data["questions"]["edges"]}
    assert by_title["Sensor will not pair"]["escalation"]["space"] == {"name": "Project Falcon"}
    entries = await services.records.entries(actor="user:erin@corp.example")
    assert [e.outcome for e in entries if e.action == "escalate"] == [Outcome.OK]


async def test_a_question_not_everyone_may_read_is_linked_never_quoted(
    services: Services,
) -> None:
    """Any internal space may hold invited externals: a members-only, trusted or private
    community question goes in by its link alone, never its title or text."""
    questions, spaces = await _questions(services, "erin@corp.example"), await _space_ids(services)
    guest = await _questions(services, "guest")
    hidden = [t for t in questions if t not in guest and questions[t]["id"]]
    public = next(t for t in questions if t in guest and t != IPV6)
    community = {
        t: q for t, q in questions.items() if ids.decode(q["id"]).store is StoreName.COMMUNITY
    }
    withheld = next(t for t in hidden if t in community)
    shared = spaces["Aurora prototype feedback"]  # employees and invited externals
    made = await _escalate(
        services,
        "erin@corp.example",
        questionId=community[withheld]["id"],
        spaceId=shared,
        note="For the firmware team.",
    )
    assert made["errors"] == []
    topic = made["topic"]
    assert topic["title"] == "Escalated community question"
    assert withheld not in topic["body"] and withheld not in topic["title"]
    assert community[withheld]["id"] in topic["body"]  # the link, which answers its readers
    assert topic["body"].endswith("For the firmware team.")
    # paula, invited to Aurora, reads the topic but learns nothing of the question.
    seen = str((await run(services, "paula@partner.example", QUESTIONS)).data)
    assert "Escalated community question" in seen and withheld not in seen
    # A question anyone may read is quoted as before.
    quoted = await _escalate(
        services, "erin@corp.example", questionId=community[public]["id"], spaceId=shared
    )
    assert quoted["topic"]["title"] == f"Escalated: {public}"


# (who, question, space, code, field): every refusal, and nothing written.
REFUSALS = [
    ("guest", "Sensor will not pair", "Project Falcon", "UNAUTHENTICATED", None),
    (
        "paula@partner.example",
        "Sensor will not pair",
        "Aurora prototype feedback",
        "FORBIDDEN",
        "questionId",
    ),
    (
        "carl@contractor.example",
        "Sensor will not pair",
        "Engineering Q&A",
        "FORBIDDEN",
        "questionId",
    ),
    ("hana@corp.example", "Sensor will not pair", "Project Falcon", "NOT_FOUND", "spaceId"),
    (
        "paula@partner.example",
        "Beta programme for Aurora",
        "Engineering",
        "NOT_FOUND",
        "questionId",
    ),
    ("erin@corp.example", "Who owns the build cache?", "Project Falcon", "INVALID", "questionId"),
    ("erin@corp.example", "Sensor will not pair", "Product support", "INVALID", "spaceId"),
    ("erin@corp.example", IPV6, "Engineering Q&A", "CONFLICT", None),
]


@pytest.mark.parametrize(("who", "question", "space", "code", "field"), REFUSALS)
async def test_escalations_refused(
    services: Services, who: str, question: str, space: str, code: str, field: str | None
) -> None:
    questions, spaces = await _questions(services, "erin@corp.example"), await _space_ids(services)
    before = await _questions(services, "erin@corp.example")
    made = await _escalate(
        services, who, questionId=questions[question]["id"], spaceId=spaces[space]
    )
    assert made["escalation"] is None and made["topic"] is None
    assert [(e["code"], e["field"]) for e in made["errors"]] == [(code, field)]
    assert await _questions(services, "erin@corp.example") == before


async def test_escalating_is_idempotent_with_a_key(services: Services) -> None:
    questions, spaces = await _questions(services, "mia@corp.example"), await _space_ids(services)
    values = {
        "questionId": questions["Webhook on alarms"]["id"],
        "spaceId": spaces["Engineering"],
        "idempotencyKey": "escalate-webhooks-1",
    }
    first = await _escalate(services, "mia@corp.example", **values)
    again = await _escalate(services, "mia@corp.example", **values)
    assert first["errors"] == [] and again == first
    titles = [t for t in await _questions(services, "mia@corp.example") if t.startswith("Esc")]
    assert titles.count("Escalated: Webhook on alarms") <= 1  # a discussion space: not listed
    other = await _escalate(services, "mia@corp.example", **{**values, "idempotencyKey": "2"})
    assert [e["code"] for e in other["errors"]] == ["CONFLICT"]


async def test_the_agreed_answer_goes_back_as_its_writer(services: Services) -> None:
    escalation = await _demo_escalation_id(services)
    answer = {"escalationId": escalation, "body": "Yes: firmware 2.4 supports IPv6-only networks."}
    # erin may answer there, but not accept: she does not moderate Product support.
    refused = await run(services, "erin@corp.example", ANSWER, {"i": {**answer, "accept": True}})
    assert [e["code"] for e in refused.data["answerFromEscalation"]["errors"]] == ["FORBIDDEN"]
    assert not (await _questions(services, "erin@corp.example"))[IPV6]["answered"]
    # Who may not read the internal space cannot use the escalation at all.
    for who in ("paula@partner.example", "tara@customer.example"):
        hidden = await run(services, who, ANSWER, {"i": answer})
        assert [e["code"] for e in hidden.data["answerFromEscalation"]["errors"]] == ["NOT_FOUND"]
    missing = ids.encode("Escalation", StoreName.INTERNAL, "999999")
    absent = await run(
        services, "erin@corp.example", ANSWER, {"i": {**answer, "escalationId": missing}}
    )
    assert [e["code"] for e in absent.data["answerFromEscalation"]["errors"]] == ["NOT_FOUND"]
    # mia moderates the community: she posts it and accepts it.
    done = await run(services, "mia@corp.example", ANSWER, {"i": {**answer, "accept": True}})
    payload = done.data["answerFromEscalation"]
    assert payload["errors"] == []
    assert payload["answer"]["accepted"] and payload["answer"]["question"]["answered"]
    assert payload["answer"]["author"] == {"displayName": "Mia Moreau"}
    assert payload["escalation"]["answer"]["body"] == answer["body"]
    # The community sees the answer, as anyone's; never where it was agreed.
    seen = (await _questions(services, "tara@customer.example"))[IPV6]
    assert seen["answered"] and seen["escalation"] is None
    entries = await services.records.entries(actor="user:mia@corp.example")
    assert [e.outcome for e in entries if e.action == "answer"] == [Outcome.OK]
