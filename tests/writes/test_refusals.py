"""Every refused write is in the audit log, once, with its code; and it changes nothing.

A ``NOT_FOUND`` row is the same for a target that does not exist and for one the caller
may not see: the refusal must not tell an admin reading the log (let alone anyone else)
more than it told the caller.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain import ids
from gateway.domain.model import StoreName
from gateway.records import AuditEntry, Outcome
from tests.personas import run
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import ANSWER_QUESTION, ASK_QUESTION, questions_in, space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

SQLITE = pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
INVITE = """mutation($i: InviteToSpaceInput!) {
  inviteToSpace(input: $i) { invitation { id } errors { code message field } } }"""


async def _refused(services: Services, who: str, query: str, values: dict[str, Any]) -> tuple:
    """Run one write that must be refused; its payload's codes and the audit rows it added."""
    before = {e.id for e in await services.records.entries(limit=1000)}
    result = await run(services, who, query, {"i": values})
    assert result.errors is None, result.errors
    [payload] = result.data.values()
    added = [e for e in await services.records.entries(limit=1000) if e.id not in before]
    return [e["code"] for e in payload["errors"]], added


async def _invitations(services: Services, space_id: str) -> Any:
    result = await run(
        services,
        "erin@corp.example",
        "query($s: ID!) { node(id: $s) { ... on Space { invitations { id email } } } }",
        {"s": space_id},
    )
    assert result.errors is None, result.errors
    return result.data["node"]["invitations"]


def _stored(entry: AuditEntry) -> tuple:
    """A row without what differs between any two requests (its id and time)."""
    return (
        entry.actor,
        entry.action,
        entry.outcome,
        entry.store,
        entry.space_key,
        entry.target,
        entry.detail,
        entry.idempotency_key,
    )


@SQLITE
async def test_each_refusal_writes_one_row_with_its_code(services: Services) -> None:
    spaces = await space_ids(services)
    aurora, support = spaces[AURORA], spaces["Product support"]
    support_question = (await questions_in(services, support))[0]["id"]
    ask = {"spaceId": aurora, "title": "T", "body": "B"}
    made = await run(
        services, "erin@corp.example", ASK_QUESTION, {"i": {**ask, "idempotencyKey": "k"}}
    )
    assert made.data["askQuestion"]["errors"] == []
    questions = {s: await questions_in(services, s) for s in (aurora, support)}
    invitations = await _invitations(services, aurora)
    services.settings = dataclasses.replace(services.settings, invite_rate_per_hour=0)
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat()

    cases = {
        "UNAUTHENTICATED": ("guest", ASK_QUESTION, ask),
        "INVALID": ("erin@corp.example", ASK_QUESTION, {**ask, "title": " "}),
        "NOT_FOUND": (
            "paula@partner.example",
            ANSWER_QUESTION,
            {"questionId": ids.encode("Question", StoreName.INTERNAL, "999999"), "body": "B"},
        ),
        "FORBIDDEN": (
            "paula@partner.example",
            ANSWER_QUESTION,
            {"questionId": support_question, "body": "B"},
        ),
        "CONFLICT": (
            "erin@corp.example",
            ASK_QUESTION,
            {**ask, "title": "Another", "idempotencyKey": "k"},
        ),
        "RATE_LIMITED": (
            "erin@corp.example",
            INVITE,
            {
                "spaceId": aurora,
                "email": "p@partner.example",
                "role": "GUEST",
                "expiresAt": expires,
            },
        ),
    }
    for code, (who, query, values) in cases.items():
        codes, added = await _refused(services, who, query, values)
        assert codes == [code]
        assert [(e.outcome, e.detail["code"]) for e in added] == [(Outcome.DENIED, code)], code
    # Nothing else changed: no question was asked or answered, no invitation made.
    assert {s: await questions_in(services, s) for s in (aurora, support)} == questions
    assert await _invitations(services, aurora) == invitations
    assert all(
        e.outcome is Outcome.OK and e.detail["operation"] == "askQuestion"
        for e in await services.records.entries(limit=1000)
        if e.outcome is not Outcome.DENIED
    )


@SQLITE
async def test_a_hidden_target_is_audited_like_a_missing_one(services: Services) -> None:
    spaces = await space_ids(services)
    hidden = (await questions_in(services, spaces["HR private"]))[0]["id"]
    missing = ids.encode("Question", StoreName.INTERNAL, "999999")
    rows = []
    for target in (hidden, missing):
        codes, added = await _refused(
            services, "paula@partner.example", ANSWER_QUESTION, {"questionId": target, "body": "B"}
        )
        assert codes == ["NOT_FOUND"]
        rows.append([_stored(e) for e in added])
    assert rows[0] == rows[1]
    [(_actor, action, outcome, store, space_key, target, detail, _key)] = rows[0]
    assert (action, outcome, store, space_key, target) == (
        "answer",
        Outcome.DENIED,
        None,
        None,
        None,
    )
    assert detail["code"] == "NOT_FOUND" and detail["fields"] == ["questionId"]
