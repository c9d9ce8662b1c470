"""Authorization denials on /metrics, through the real app over HTTP: by reason, policy
object and action, with label values from closed sets only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.http.metrics import DENIAL_ACTIONS, DENIAL_OBJECTS, DENIAL_REASONS
from tests.http.test_metrics import _app, _client, _scrape, _value

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette

DENIALS = "gateway_authorization_denials_total"
AURORA = "Aurora prototype feedback"
SPACES = "{ spaces(first: 50) { edges { node { id name } } } }"
NOTES = """{ spaces(first: 50) { edges { node { prototypes(first: 5) { edges { node {
  feedback(first: 5) { edges { node { rating internalNote } } } } } } } } } }"""
ASK = "mutation($i: AskQuestionInput!) { askQuestion(input: $i) { errors { code } } }"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    async with _app(tmp_path) as application:
        yield application


def _bearer(app: Starlette, email: str, role: str) -> dict[str, str]:
    token = app.state.services.dev_issuer.issue(email=email, name=email, roles=[role])
    return {"Authorization": f"Bearer {token}"}


async def test_denials_are_counted_by_reason(app: Starlette) -> None:
    async with _client(app) as client:
        erin = _bearer(app, "erin@corp.example", "employee")
        listed = (await client.post("/graphql", json={"query": SPACES}, headers=erin)).json()
        spaces = {e["node"]["name"]: e["node"]["id"] for e in listed["data"]["spaces"]["edges"]}
        before = await _scrape(client)

        # A guarded field the policy grants a partner nothing on: null, and one denial.
        paula = _bearer(app, "paula@partner.example", "partner")
        notes = (await client.post("/graphql", json={"query": NOTES}, headers=paula)).json()
        assert "errors" not in notes, notes
        feedback = [
            f["node"]
            for s in notes["data"]["spaces"]["edges"]
            for p in s["node"]["prototypes"]["edges"]
            for f in p["node"]["feedback"]["edges"]
        ]
        assert feedback and all(f["internalNote"] is None for f in feedback)
        # A write aimed at a space outside the caller's read scope: NOT_FOUND, one denial.
        mo = _bearer(app, "mo@customer.example", "member")
        asked = {"i": {"spaceId": spaces[AURORA], "title": "Hello", "body": "there"}}
        refused = await client.post("/graphql", json={"query": ASK, "variables": asked}, headers=mo)
        assert refused.json()["data"]["askQuestion"]["errors"] == [{"code": "NOT_FOUND"}]
        # The employee reads the notes: no denial of that field.
        allowed = (await client.post("/graphql", json={"query": NOTES}, headers=erin)).json()
        assert any(
            f["node"]["internalNote"]
            for s in allowed["data"]["spaces"]["edges"]
            for p in s["node"]["prototypes"]["edges"]
            for f in p["node"]["feedback"]["edges"]
        )
        after = await _scrape(client)

    note = {"reason": "no_grant", "object": "Feedback.internalNote", "action": "read"}
    # Once per distinct (field, space) check in the request, not once per row.
    assert _value(after, DENIALS, **note) == _value(before, DENIALS, **note) + 1
    scope = {"reason": "not_in_scope", "object": "Space", "action": "write"}
    assert _value(after, DENIALS, **scope) == _value(before, DENIALS, **scope) + 1
    for (name, labels), _v in after.items():
        if name == DENIALS:
            found = dict(labels)
            assert found["reason"] in DENIAL_REASONS
            assert found["object"] in DENIAL_OBJECTS | {"_other"}
            assert found["action"] in DENIAL_ACTIONS | {"_other"}
