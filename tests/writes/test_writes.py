"""Collaboration writes: the allowed/denied matrix per persona and action, input checks,
idempotency, concurrent writers and the audit log, on every store backend."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain import ids
from gateway.domain.model import StoreName
from gateway.records import Outcome
from tests.personas import PERSONAS, run
from tests.schema.test_read_matrix import ALL_SPACES, AURORA, COMMUNITY, ENGINEERING, MATRIX

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

EMPLOYEES = ("erin@corp.example", "hana@corp.example", "sam@corp.example", "mia@corp.example")

# Nobody writes where they cannot read; within that, the policy narrows: a partner asks only
# where invited, a guest writes nothing.
ASK: dict[str, set[str]] = {
    "guest": set(),
    "mo@customer.example": MATRIX["mo@customer.example"],
    "tara@customer.example": COMMUNITY | {AURORA},
    "paula@partner.example": {AURORA},
    "carl@contractor.example": ENGINEERING,
    **{who: MATRIX[who] for who in EMPLOYEES},
}
FEEDBACK = {AURORA} & set().union(*ASK.values())
FEEDBACK_BY = {
    "tara@customer.example",
    "paula@partner.example",
    *EMPLOYEES,
}

ASK_QUESTION = """mutation($i: AskQuestionInput!) {
  askQuestion(input: $i) {
    question { id title body tags answered author { handle } space { name } }
    errors { code message field }
  }
}"""
ANSWER_QUESTION = """mutation($i: AnswerQuestionInput!) {
  answerQuestion(input: $i) {
    answer { id body accepted author { handle } question { id } }
    errors { code message field }
  }
}"""
ACCEPT_ANSWER = """mutation($i: AcceptAnswerInput!) {
  acceptAnswer(input: $i) {
    question { id answered acceptedAnswer { id } }
    answer { id accepted question { answered acceptedAnswer { id accepted } } }
    errors { code message field }
  }
}"""
POST_FEEDBACK = """mutation($i: PostFeedbackInput!) {
  postFeedback(input: $i) {
    feedback { id rating body internalNote author { handle } }
    errors { code message field }
  }
}"""


def test_tables_name_every_persona() -> None:
    assert set(ASK) == set(PERSONAS)
    for who, spaces in ASK.items():
        assert spaces <= MATRIX[who], f"{who} would write where they cannot read"


async def space_ids(services: Services) -> dict[str, str]:
    found: dict[str, str] = {}
    for who in ("erin@corp.example", "hana@corp.example"):
        result = await run(services, who, "{ spaces(first: 100) { edges { node { id name } } } }")
        found |= {e["node"]["name"]: e["node"]["id"] for e in result.data["spaces"]["edges"]}
    assert set(found) == ALL_SPACES
    return found


async def questions_in(services: Services, space_id: str) -> list[dict[str, Any]]:
    """Every question of a space, newest first, as read by the employees who may read it."""
    found: dict[str, dict[str, Any]] = {}
    for who in ("erin@corp.example", "hana@corp.example"):
        result = await run(
            services,
            who,
            """query($s: ID!) { questions(spaceId: $s, first: 100) {
                 edges { node { id title answered author { handle }
                                answers(first: 100) { edges { node { id body } } } } } } }""",
            {"s": space_id},
        )
        assert result.errors is None, result.errors
        found |= {e["node"]["id"]: e["node"] for e in result.data["questions"]["edges"]}
    return list(found.values())


async def prototype_id(services: Services, spaces: dict[str, str]) -> str:
    result = await run(
        services,
        "erin@corp.example",
        "query($s: ID!) { space(id: $s) { prototypes(first: 10) { edges { node { id name } } } } }",
        {"s": spaces[AURORA]},
    )
    return result.data["space"]["prototypes"]["edges"][0]["node"]["id"]


def _expected_refusal(who: str, name: str) -> str:
    if who == "guest":
        return "UNAUTHENTICATED"
    return "FORBIDDEN" if name in MATRIX[who] else "NOT_FOUND"


async def test_ask_matrix(services: Services) -> None:
    spaces = await space_ids(services)
    before = {name: len(await questions_in(services, sid)) for name, sid in spaces.items()}
    written: dict[str, int] = dict.fromkeys(spaces, 0)
    for who in PERSONAS:
        for name, space_id in spaces.items():
            title = f"{who} asks in {name}"
            result = await run(
                services,
                who,
                ASK_QUESTION,
                {"i": {"spaceId": space_id, "title": title, "body": "Why?", "tags": ["Matrix"]}},
            )
            assert result.errors is None, result.errors
            payload = result.data["askQuestion"]
            if name in ASK[who]:
                assert payload["errors"] == [], (who, name)
                question = payload["question"]
                assert question["title"] == title
                assert question["tags"] == ["matrix"]
                assert question["space"] == {"name": name}
                assert question["answered"] is False
                assert question["author"]["handle"]
                written[name] += 1
            else:
                assert payload["question"] is None
                codes = [e["code"] for e in payload["errors"]]
                assert codes == [_expected_refusal(who, name)], (who, name, payload)
    for name, space_id in spaces.items():
        assert len(await questions_in(services, space_id)) == before[name] + written[name], name


async def test_answer_matrix_follows_the_ask_matrix(services: Services) -> None:
    spaces = await space_ids(services)
    targets = {name: (await questions_in(services, sid))[0]["id"] for name, sid in spaces.items()}
    for who in PERSONAS:
        for name, question_id in targets.items():
            result = await run(
                services,
                who,
                ANSWER_QUESTION,
                {"i": {"questionId": question_id, "body": f"{who} answers"}},
            )
            payload = result.data["answerQuestion"]
            if name in ASK[who]:
                assert payload["errors"] == [], (who, name)
                assert payload["answer"]["question"] == {"id": question_id}
                assert payload["answer"]["accepted"] is False
            else:
                assert [e["code"] for e in payload["errors"]] == [_expected_refusal(who, name)]
                assert payload["answer"] is None


async def test_feedback_matrix_and_internal_notes(services: Services) -> None:
    spaces = await space_ids(services)
    prototype = await prototype_id(services, spaces)
    for who in PERSONAS:
        result = await run(
            services,
            who,
            POST_FEEDBACK,
            {"i": {"prototypeId": prototype, "rating": 4, "body": "Works"}},
        )
        payload = result.data["postFeedback"]
        if who in FEEDBACK_BY:
            assert payload["errors"] == [], who
            assert payload["feedback"]["rating"] == 4
        else:
            expected = _expected_refusal(who, AURORA)
            assert [e["code"] for e in payload["errors"]] == [expected], who
        with_note = await run(
            services,
            who,
            POST_FEEDBACK,
            {"i": {"prototypeId": prototype, "rating": 2, "body": "Hm", "internalNote": "psst"}},
        )
        payload = with_note.data["postFeedback"]
        if who in EMPLOYEES:
            assert payload["errors"] == []
            assert payload["feedback"]["internalNote"] == "psst"
        elif who in FEEDBACK_BY:
            assert payload["feedback"] is None
            assert [(e["code"], e["field"]) for e in payload["errors"]] == [
                ("FORBIDDEN", "internalNote")
            ]


async def test_accept_by_asker_owner_or_moderator_only(services: Services) -> None:
    spaces = await space_ids(services)
    cases = {
        # space: (the asker, who else may accept, who may not though they can read)
        AURORA: ("tara@customer.example", "erin@corp.example", "paula@partner.example"),
        "Product support": ("mo@customer.example", "mia@corp.example", "tara@customer.example"),
    }
    for name, (asker, other, refused) in cases.items():
        for accepter in (asker, other):
            asked = await run(
                services,
                asker,
                ASK_QUESTION,
                {"i": {"spaceId": spaces[name], "title": f"For {accepter}", "body": "?"}},
            )
            question = asked.data["askQuestion"]["question"]
            answered = await run(
                services,
                refused,
                ANSWER_QUESTION,
                {"i": {"questionId": question["id"], "body": "Try this"}},
            )
            answer = answered.data["answerQuestion"]["answer"]
            denied = await run(services, refused, ACCEPT_ANSWER, {"i": {"answerId": answer["id"]}})
            assert [e["code"] for e in denied.data["acceptAnswer"]["errors"]] == ["FORBIDDEN"]
            unanswered = await _unanswered_titles(services, accepter)
            assert f"For {accepter}" in unanswered
            accepted = await run(
                services, accepter, ACCEPT_ANSWER, {"i": {"answerId": answer["id"]}}
            )
            payload = accepted.data["acceptAnswer"]
            assert payload["errors"] == [], (name, accepter)
            assert payload["question"] == {
                "id": question["id"],
                "answered": True,
                "acceptedAnswer": {"id": answer["id"]},
            }
            # The answer's own question too: read after the write, as a fresh query reads it.
            assert payload["answer"] == {
                "id": answer["id"],
                "accepted": True,
                "question": {
                    "answered": True,
                    "acceptedAnswer": {"id": answer["id"], "accepted": True},
                },
            }
            # Answered questions leave the unanswered list, in whichever store they live.
            assert f"For {accepter}" not in await _unanswered_titles(services, accepter)


async def _unanswered_titles(services: Services, who: str) -> set[str]:
    result = await run(
        services,
        who,
        "{ questions(unanswered: true, first: 100) { edges { node { title } } } }",
    )
    return {e["node"]["title"] for e in result.data["questions"]["edges"]}


async def test_bad_input_is_refused_with_every_reason_and_nothing_written(
    services: Services,
) -> None:
    spaces = await space_ids(services)
    engineering = spaces["Engineering"]
    before = len(await questions_in(services, engineering))
    result = await run(
        services,
        "erin@corp.example",
        ASK_QUESTION,
        {
            "i": {
                "spaceId": engineering,
                "title": "   ",
                "body": "x" * 20_001,
                "tags": ["ok", "not ok", "a", "b", "c", "d"],
                "idempotencyKey": "",
            }
        },
    )
    errors = result.data["askQuestion"]["errors"]
    assert {(e["code"], e["field"]) for e in errors} == {
        ("INVALID", "title"),
        ("INVALID", "body"),
        ("INVALID", "tags"),
        ("INVALID", "idempotencyKey"),
    }
    assert all(e["message"] for e in errors)
    bad_ids = [
        ("not an id", "INVALID"),
        (ids.encode("Question", StoreName.INTERNAL, "1"), "INVALID"),  # wrong type
        (ids.encode("Space", StoreName.INTERNAL, "999999"), "NOT_FOUND"),
        (ids.encode("Space", StoreName.COMMUNITY, "abc"), "NOT_FOUND"),
    ]
    for space_id, code in bad_ids:
        result = await run(
            services,
            "erin@corp.example",
            ASK_QUESTION,
            {"i": {"spaceId": space_id, "title": "T", "body": "B"}},
        )
        assert [(e["code"], e["field"]) for e in result.data["askQuestion"]["errors"]] == [
            (code, "spaceId")
        ], space_id
    prototype = await prototype_id(services, spaces)
    for rating in (0, 6, -1):
        result = await run(
            services,
            "erin@corp.example",
            POST_FEEDBACK,
            {"i": {"prototypeId": prototype, "rating": rating, "body": "B"}},
        )
        assert [(e["code"], e["field"]) for e in result.data["postFeedback"]["errors"]] == [
            ("INVALID", "rating")
        ]
    assert len(await questions_in(services, engineering)) == before
    assert [e for e in await services.records.entries() if e.outcome is Outcome.OK] == []


async def test_idempotent_retries_write_once(services: Services) -> None:
    spaces = await space_ids(services)
    engineering = spaces["Engineering"]
    before = len(await questions_in(services, engineering))
    ask = {"spaceId": engineering, "title": "Once", "body": "Only once", "idempotencyKey": "k-1"}
    first = await run(services, "erin@corp.example", ASK_QUESTION, {"i": ask})
    again = await run(services, "erin@corp.example", ASK_QUESTION, {"i": ask})
    assert first.data == again.data
    assert first.data["askQuestion"]["errors"] == []
    # Concurrent retries of one request: all get the one result.
    burst = {**ask, "idempotencyKey": "k-2", "title": "Burst"}
    results = await asyncio.gather(
        *(run(services, "erin@corp.example", ASK_QUESTION, {"i": burst}) for _ in range(8))
    )
    assert len({r.data["askQuestion"]["question"]["id"] for r in results}) == 1
    # The same key for another request is a conflict, not a silent replay.
    other = await run(
        services, "erin@corp.example", ASK_QUESTION, {"i": {**ask, "title": "Different"}}
    )
    assert [(e["code"], e["field"]) for e in other.data["askQuestion"]["errors"]] == [
        ("CONFLICT", "idempotencyKey")
    ]
    # Keys are per caller: another person's identical key is their own request.
    omar = await run(services, "sam@corp.example", ASK_QUESTION, {"i": ask})
    assert omar.data["askQuestion"]["question"]["id"] != first.data["askQuestion"]["question"]["id"]
    titles = [q["title"] for q in await questions_in(services, engineering)]
    assert len(titles) == before + 3
    assert titles.count("Once") == 2 and titles.count("Burst") == 1


async def test_concurrent_writers_each_write_exactly_once(services: Services) -> None:
    spaces = await space_ids(services)
    question = (await questions_in(services, spaces["Product support"]))[0]
    before = len(question["answers"]["edges"])
    writers = ("erin@corp.example", "mia@corp.example", "tara@customer.example", "sam@corp.example")
    per_writer = 12

    async def writer(who: str) -> list[str]:
        made = []
        for n in range(per_writer):
            answer = {"questionId": question["id"], "body": f"{who} #{n}", "idempotencyKey": f"{n}"}
            # Every answer is sent twice at once, as a client retrying a timed-out request.
            twice = await asyncio.gather(
                *(run(services, who, ANSWER_QUESTION, {"i": answer}) for _ in range(2))
            )
            got = {r.data["answerQuestion"]["answer"]["id"] for r in twice}
            assert len(got) == 1, twice[0].data
            made.extend(got)
        return made

    made = await asyncio.gather(*(writer(w) for w in writers))
    all_ids = [i for batch in made for i in batch]
    assert len(set(all_ids)) == len(writers) * per_writer
    after = (await questions_in(services, spaces["Product support"]))[0]
    bodies = [e["node"]["body"] for e in after["answers"]["edges"]]
    assert len(bodies) == before + len(writers) * per_writer
    assert len(set(bodies)) == len(bodies)


async def test_every_write_and_refusal_is_audited(services: Services) -> None:
    spaces = await space_ids(services)
    asked = await run(
        services,
        "paula@partner.example",
        ASK_QUESTION,
        {"i": {"spaceId": spaces[AURORA], "title": "Audit me", "body": "?"}},
    )
    question_id = asked.data["askQuestion"]["question"]["id"]
    await run(
        services,
        "paula@partner.example",
        ANSWER_QUESTION,
        {
            "i": {
                "questionId": (await questions_in(services, spaces["Product support"]))[0]["id"],
                "body": "no",
            }
        },
    )
    entries = await services.records.entries(actor="user:paula@partner.example")
    assert [(e.action, e.outcome) for e in entries] == [
        ("answer", Outcome.DENIED),
        ("ask", Outcome.OK),
    ]
    ok = entries[1]
    assert ok.target == question_id
    assert ok.store == "internal"
    assert ok.space_key == "internal/shared/aurora-feedback"
    assert ok.issuer
    assert ok.detail == {
        "operation": "askQuestion",
        "policy": services.policy.version[:12],
        "policy_version": 1,
        "title_length": 8,
        "body_length": 1,
        "tags": [],
    }
    assert "Audit me" not in str(ok.detail)  # the log keeps ids and sizes, never content


# Moderation and invitations follow space ownership (and the community's moderators);
# creating spaces follows personas. Every other persona is refused.
MODERATE = {
    "mia@corp.example": COMMUNITY,  # community manager: every community space
    "erin@corp.example": {AURORA},  # owner
    "hana@corp.example": {"HR private"},  # owner
}
INVITE_STAFF = {"erin@corp.example": {AURORA}, "hana@corp.example": {"HR private"}}
CREATE = {who: {"INTERNAL"} for who in EMPLOYEES} | {"mia@corp.example": {"INTERNAL", "COMMUNITY"}}


def _outcome(payload: dict[str, Any]) -> str:
    return payload["errors"][0]["code"] if payload["errors"] else "OK"


async def test_moderate_invite_and_create_matrix(services: Services) -> None:
    spaces = await space_ids(services)
    targets = {name: (await questions_in(services, sid))[0]["id"] for name, sid in spaces.items()}
    hide = """mutation($i: HidePostInput!) { hidePost(input: $i) { errors { code } } }"""
    invite = (
        """mutation($i: InviteToSpaceInput!) { inviteToSpace(input: $i) { errors { code } } }"""
    )
    create = """mutation($i: CreateSpaceInput!) { createSpace(input: $i) { errors { code } } }"""
    for who in PERSONAS:
        for name, space_id in spaces.items():
            refused = _expected_refusal(who, name)
            hid = await run(services, who, hide, {"i": {"postId": targets[name]}})
            expected = "OK" if name in MODERATE.get(who, set()) else refused
            assert _outcome(hid.data["hidePost"]) == expected, (who, name, "hide")
            if expected == "OK":  # show it again for the next persona
                await run(services, who, hide, {"i": {"postId": targets[name], "hidden": False}})
            handle = who.split("@")[0]
            invited = await run(
                services,
                who,
                invite,
                {
                    "i": {
                        "spaceId": space_id,
                        "email": f"new.{handle}@corp.example",
                        "role": "MEMBER",
                    }
                },
            )
            expected = "OK" if name in INVITE_STAFF.get(who, set()) else refused
            assert _outcome(invited.data["inviteToSpace"]) == expected, (who, name, "invite")
        for store, visibility in (("INTERNAL", "OPEN"), ("COMMUNITY", "PUBLIC")):
            made = await run(
                services,
                who,
                create,
                {
                    "i": {
                        "store": store,
                        "kind": "QA",
                        "name": f"{who} {store}",
                        "visibility": visibility,
                    }
                },
            )
            expected = (
                "OK"
                if store in CREATE.get(who, set())
                else ("UNAUTHENTICATED" if who == "guest" else "FORBIDDEN")
            )
            assert _outcome(made.data["createSpace"]) == expected, (who, store, "create")
