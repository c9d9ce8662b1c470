"""Stale content: archived questions vanish for everyone but the space's moderators, who
list (``archived: true``) and restore them; exempt spaces are never pruned. On every store
backend, in both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from gateway.domain import ids
from gateway.domain.model import StoreName
from tests.personas import PERSONAS, run
from tests.schema.test_moderation import EVERY_PLACE, first_question, sees_question
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

RESTORE = """mutation($i: RestoreQuestionInput!) {
  restoreQuestion(input: $i) { question { id archived } errors { code field } }
}"""
EXEMPT = """mutation($i: SetArchiveExemptInput!) {
  setArchiveExempt(input: $i) { space { id archiveExempt } errors { code field } }
}"""
ARCHIVED = """query($s: ID!) {
  questions(archived: true, first: 50) { edges { node { id archived } } }
  space(id: $s) { questions(archived: true) { edges { node { id } } } }
}"""
ANSWER = "query($a: ID!) { node(id: $a) { id } }"
# The demo's archived question, in Product support.
DEMO_ARCHIVED = "Pairing the v1 hub"
# Who moderates each space (lists archived questions, restores them), of the demo personas.
MODERATORS = {"Product support": {"mia@corp.example"}, AURORA: {"erin@corp.example"}}


async def archive(services: Services, question_id: str) -> None:
    """Archive one question as ``gateway content prune`` does (it is stale since now)."""
    ref = ids.decode(question_id)
    now = datetime.now(UTC)
    done = await services.stores[ref.store].archive_questions(
        [ref.native_id], before=now + timedelta(seconds=1), unanswered=False, now=now
    )
    assert done == [ref.native_id]


async def listed_archived(services: Services, who: str, space: str) -> tuple[set[str], set[str]]:
    result = await run(services, who, ARCHIVED, {"s": space})
    assert result.errors is None, result.errors
    everywhere = {e["node"]["id"] for e in result.data["questions"]["edges"]}
    in_space = result.data["space"]
    return everywhere, {
        e["node"]["id"] for e in in_space["questions"]["edges"]
    } if in_space else set()


async def test_an_archived_question_vanishes_for_everyone_but_moderators(
    services: Services,
) -> None:
    spaces = await space_ids(services)
    for name, moderators in MODERATORS.items():
        space = spaces[name]
        question = await first_question(services, space)
        answer = question["answers"]["edges"][0]["node"]["id"]
        readers = [
            who
            for who in PERSONAS
            if (await run(services, who, ANSWER, {"a": question["id"]})).data["node"]
        ]
        for who in readers:
            assert await sees_question(services, who, question, space) == EVERY_PLACE
        assert set(moderators) < set(readers)
        await archive(services, question["id"])
        for who in readers:
            found = await sees_question(services, who, question, space)
            answer_found = (await run(services, who, ANSWER, {"a": answer})).data["node"]
            everywhere, in_space = await listed_archived(services, who, space)
            if who in moderators:
                # By id, and listed with archived: true; never in the live lists or search.
                assert found == {"node"}, (name, who)
                assert answer_found == {"id": answer}
                assert question["id"] in everywhere and question["id"] in in_space
            else:
                assert found == set(), (name, who)
                assert answer_found is None, (name, who)
                assert question["id"] not in everywhere and in_space == set(), (name, who)

        # Restoring: anyone but a moderator is answered as for a question that does not exist.
        missing = ids.encode("Question", ids.decode(question["id"]).store, "999999")
        for who in readers:
            if who in moderators:
                continue
            refused = await run(services, who, RESTORE, {"i": {"questionId": question["id"]}})
            absent = await run(services, who, RESTORE, {"i": {"questionId": missing}})
            assert refused.data == absent.data, (name, who)
            expected = "UNAUTHENTICATED" if who == "guest" else "NOT_FOUND"
            assert refused.data["restoreQuestion"]["errors"][0]["code"] == expected
        moderator = next(iter(moderators))
        for _ in range(2):  # idempotent: restoring a live question changes nothing
            restored = await run(
                services, moderator, RESTORE, {"i": {"questionId": question["id"]}}
            )
            assert restored.data["restoreQuestion"] == {
                "question": {"id": question["id"], "archived": False},
                "errors": [],
            }
        for who in readers:
            assert await sees_question(services, who, question, space) == EVERY_PLACE, who
        # Audited, each time.
        entries = await services.records.entries(action="moderate")
        assert [e.detail["operation"] for e in entries][:2] == ["restoreQuestion"] * 2


async def test_the_demo_has_an_archived_question(services: Services) -> None:
    support = (await space_ids(services))["Product support"]
    everywhere, in_space = await listed_archived(services, "mia@corp.example", support)
    assert len(everywhere) == len(in_space) == 1
    (archived,) = everywhere
    shown = await run(
        services,
        "mia@corp.example",
        "query($q: ID!) { node(id: $q) { ... on Question { title archived } } }",
        {"q": archived},
    )
    assert shown.data["node"] == {"title": DEMO_ARCHIVED, "archived": True}
    for who in PERSONAS:
        if who != "mia@corp.example":
            assert await listed_archived(services, who, support) == (set(), set()), who
            hidden = await run(
                services, who, "query($q: ID!) { node(id: $q) { id } }", {"q": archived}
            )
            assert hidden.data["node"] is None, who


async def test_exempt_spaces_are_never_pruned(services: Services) -> None:
    spaces = await space_ids(services)
    support = spaces["Product support"]
    before = datetime.now(UTC) + timedelta(days=1)  # everything is stale by then
    store = services.stores[StoreName.COMMUNITY]
    native = ids.decode(support).native_id
    stale = await store.stale_questions(before, unanswered=False, space_ids=[native])
    assert len(stale) == 3  # the demo's live questions there (the fourth is archived already)
    unanswered = await store.stale_questions(before, unanswered=True, space_ids=[native])
    assert {q.title for q in unanswered} == {
        "Does the hub support IPv6?",
        "Bulk pricing for installers?",
    }
    # Only its moderators may exempt it; a reader is refused, an outsider answered NOT_FOUND.
    refused = await run(services, "tara@customer.example", EXEMPT, {"i": {"spaceId": support}})
    assert refused.data["setArchiveExempt"]["errors"] == [{"code": "FORBIDDEN", "field": "spaceId"}]
    aurora = spaces[AURORA]
    hidden = await run(services, "mo@customer.example", EXEMPT, {"i": {"spaceId": aurora}})
    missing = ids.encode("Space", StoreName.INTERNAL, "999999")
    absent = await run(services, "mo@customer.example", EXEMPT, {"i": {"spaceId": missing}})
    assert hidden.data == absent.data
    assert hidden.data["setArchiveExempt"]["errors"] == [{"code": "NOT_FOUND", "field": "spaceId"}]
    made = await run(services, "mia@corp.example", EXEMPT, {"i": {"spaceId": support}})
    assert made.data["setArchiveExempt"] == {
        "space": {"id": support, "archiveExempt": True},
        "errors": [],
    }
    shown = await run(
        services, "guest", "query($s: ID!) { space(id: $s) { archiveExempt } }", {"s": support}
    )
    assert shown.data["space"] == {"archiveExempt": True}
    assert await store.stale_questions(before, unanswered=False, space_ids=[native]) == []
    everywhere = await store.stale_questions(before, unanswered=False, space_ids=None)
    assert everywhere and all(q.space_id != native for q in everywhere)
    # ...and archiving re-checks: nothing there is archived even when asked by id.
    assert (
        await store.archive_questions(
            [q.id for q in stale], before=before, unanswered=False, now=before
        )
        == []
    )
    await run(services, "mia@corp.example", EXEMPT, {"i": {"spaceId": support, "exempt": False}})
    assert len(await store.stale_questions(before, unanswered=False, space_ids=[native])) == 3


async def test_activity_keeps_a_question_live(services: Services) -> None:
    """A question answered since the cutoff is not stale, and an answer that arrives
    between listing and archiving keeps it live."""
    spaces = await space_ids(services)
    aurora = spaces[AURORA]
    store = services.stores[StoreName.INTERNAL]
    native = ids.decode(aurora).native_id
    cutoff = datetime.now(UTC) + timedelta(seconds=1)
    stale = {
        q.title: q
        for q in await store.stale_questions(cutoff, unanswered=False, space_ids=[native])
    }
    question = stale["Can Aurora export CSV?"]
    answered = await run(
        services,
        "erin@corp.example",
        """mutation($i: AnswerQuestionInput!) { answerQuestion(input: $i) { errors { code } } }""",
        {
            "i": {
                "questionId": ids.encode("Question", StoreName.INTERNAL, question.id),
                "body": "Yes, soon.",
            }
        },
        now=cutoff + timedelta(seconds=1),
    )
    assert answered.data["answerQuestion"]["errors"] == []
    assert (
        await store.archive_questions([question.id], before=cutoff, unanswered=False, now=cutoff)
        == []
    )
    left = await store.stale_questions(cutoff, unanswered=False, space_ids=[native])
    assert question.id not in {q.id for q in left}
