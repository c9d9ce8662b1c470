"""One store down: the other store's data is served, with an error naming the failed one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.config import Settings
from gateway.domain import ids
from gateway.domain.model import StoreName
from gateway.http.app import create_app
from gateway.records import Outcome
from gateway.schema import build_schema

if TYPE_CHECKING:
    from pathlib import Path

    from gateway.identity.dev_issuer import DevIssuer


async def test_community_store_down(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database's directory should be")
    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "gw"),
            "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}",
            "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{blocker / 'community.db'}",
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        issuer: DevIssuer = app.state.services.dev_issuer
        token = issuer.issue(email="erin@corp.example", name="Erin", roles=["employee"])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            checks = ready.json()["checks"]
            assert checks["internal_store"] == "ok"
            assert checks["community_store"].startswith("unreachable")

            query = """{ spaces { edges { node { name store } } }
                         questions { edges { node { title } } } }"""
            response = await client.post(
                "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
            )
            body = response.json()
            stores = {e["node"]["store"] for e in body["data"]["spaces"]["edges"]}
            assert stores == {"INTERNAL"}
            assert body["data"]["questions"]["edges"], "internal questions are still served"
            messages = {(e["message"], e.get("path", [None])[0]) for e in body["errors"]}
            assert messages == {
                ("the community store is unavailable", "spaces"),
                ("the community store is unavailable", "questions"),
                # the caller's memberships there: not one field's, the whole response's
                ("the community store is unavailable", None),
            }
            assert [e["extensions"] for e in body["errors"]] == [
                {"code": "STORE_UNAVAILABLE", "store": "community"}
            ] * 3


async def test_records_database_down_refuses_writes_and_serves_reads(tmp_path: Path) -> None:
    """Without the audit log no write happens (it would be unaudited); reads go on."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the records database's directory should be")
    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "gw"),
            "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}",
            "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{tmp_path / 'community.db'}",
            "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{blocker / 'records.db'}",
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        issuer: DevIssuer = app.state.services.dev_issuer
        token = issuer.issue(email="erin@corp.example", name="Erin", roles=["employee"])
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["records"].startswith("unreachable (writes are refused)")
            listed = await client.post(
                "/graphql",
                json={"query": "{ spaces(first: 50) { edges { node { id name } } } }"},
                headers=headers,
            )
            spaces = {
                e["node"]["name"]: e["node"]["id"] for e in listed.json()["data"]["spaces"]["edges"]
            }
            ask = """mutation($i: AskQuestionInput!) {
                askQuestion(input: $i) { question { id } errors { code message } } }"""
            response = await client.post(
                "/graphql",
                json={
                    "query": ask,
                    "variables": {
                        "i": {"spaceId": spaces["Engineering"], "title": "T", "body": "B"}
                    },
                },
                headers=headers,
            )
            assert response.json()["data"]["askQuestion"] == {
                "question": None,
                "errors": [
                    {
                        "code": "UNAVAILABLE",
                        "message": "the audit log is unavailable; nothing was written",
                    }
                ],
            }
            titles = await client.post(
                "/graphql",
                json={
                    "query": "query($s: ID!) { questions(spaceId: $s) "
                    "{ edges { node { title } } } }",
                    "variables": {"s": spaces["Engineering"]},
                },
                headers=headers,
            )
            assert "T" not in {
                e["node"]["title"] for e in titles.json()["data"]["questions"]["edges"]
            }


# Every public mutation that writes to a store, as (input type, input) aimed at ``store``.
def _writes(store: StoreName) -> dict[str, tuple[str, dict[str, object]]]:
    def gid(type_name: str) -> str:
        return ids.encode(type_name, store, "1")

    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    writes: dict[str, tuple[str, dict[str, object]]] = {
        "askQuestion": ("AskQuestionInput", {"spaceId": gid("Space"), "title": "T", "body": "B"}),
        "answerQuestion": ("AnswerQuestionInput", {"questionId": gid("Question"), "body": "B"}),
        "acceptAnswer": ("AcceptAnswerInput", {"answerId": gid("Answer")}),
        "postFeedback": (
            "PostFeedbackInput",
            {"prototypeId": gid("Prototype"), "rating": 4, "body": "B"},
        ),
        "createSpace": (
            "CreateSpaceInput",
            {
                "store": store.name,
                "kind": "QA",
                "name": "Outage",
                "visibility": "PUBLIC" if store is StoreName.COMMUNITY else "OPEN",
            },
        ),
        "inviteToSpace": (
            "InviteToSpaceInput",
            {
                "spaceId": gid("Space"),
                "email": "someone@partner.example",
                "role": "MEMBER",
                "expiresAt": expires,
            },
        ),
        "revokeInvitation": ("RevokeInvitationInput", {"invitationId": gid("Invitation")}),
        "removeMember": ("RemoveMemberInput", {"spaceId": gid("Space"), "personId": gid("Person")}),
        "hidePost": ("HidePostInput", {"postId": gid("Question")}),
        "featurePost": ("FeaturePostInput", {"questionId": gid("Question")}),
        "restoreQuestion": ("RestoreQuestionInput", {"questionId": gid("Question")}),
        "setArchiveExempt": ("SetArchiveExemptInput", {"spaceId": gid("Space")}),
        "flagPost": ("FlagPostInput", {"postId": gid("Question"), "reason": "SPAM"}),
        "resolveFlags": ("ResolveFlagsInput", {"postId": gid("Question"), "action": "KEEP"}),
        # Both stores, whichever is down: the community question, the internal space.
        "escalateQuestion": (
            "EscalateQuestionInput",
            {
                "questionId": ids.encode("Question", StoreName.COMMUNITY, "1"),
                "spaceId": ids.encode("Space", StoreName.INTERNAL, "1"),
            },
        ),
        # The escalation the test records (ESCALATION): its internal space, then the
        # community question it answers.
        "answerFromEscalation": (
            "AnswerFromEscalationInput",
            {"escalationId": ids.encode("Escalation", StoreName.INTERNAL, "1"), "body": "B"},
        ),
        "giveKudos": ("GiveKudosInput", {"answerId": gid("Answer")}),
        "giveFeedbackKudos": ("GiveFeedbackKudosInput", {"feedbackId": gid("Feedback")}),
        "extendInvitation": (
            "ExtendInvitationInput",
            {"invitationId": gid("Invitation"), "expiresAt": expires},
        ),
        "extendMembership": (
            "ExtendMembershipInput",
            {"spaceId": gid("Space"), "personId": gid("Person"), "expiresAt": expires},
        ),
    }
    if store is StoreName.COMMUNITY:
        # The forum has no prototypes and keeps no invitations: NOT_FOUND, store up or down.
        del writes["postFeedback"], writes["revokeInvitation"]
        del writes["giveFeedbackKudos"], writes["extendInvitation"]
    return writes


@pytest.mark.parametrize("down", [StoreName.COMMUNITY, StoreName.INTERNAL])
async def test_every_write_into_a_down_store_answers_unavailable(
    tmp_path: Path, down: StoreName
) -> None:
    """Each mutation answers its documented ``UNAVAILABLE`` payload error (never "Unexpected
    error." with ``data: null``), and nothing is written."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database's directory should be")
    urls = {
        store: f"sqlite+aiosqlite:///{(blocker if store is down else tmp_path) / store.value}.db"
        for store in StoreName
    }
    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "gw"),
            "GATEWAY_INTERNAL_URL": urls[StoreName.INTERNAL],
            "GATEWAY_COMMUNITY_URL": urls[StoreName.COMMUNITY],
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
        }
    )
    mutation_type = build_schema(settings)._schema.mutation_type
    assert mutation_type is not None
    every = set(_writes(StoreName.INTERNAL))
    assert set(mutation_type.fields) - {"markNotificationsRead"} == every, "a mutation untested"
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        issuer: DevIssuer = app.state.services.dev_issuer
        # Mia manages the community and is staff: every write is hers to try.
        token = issuer.issue(
            email="mia@corp.example", name="Mia", roles=["employee", "community_manager"]
        )
        writes = _writes(down)
        # An escalation to answer from (the demo makes its own only once both stores loaded).
        await app.state.services.records.add_escalation(
            question_id="1",
            space_id="1",
            topic_id="1",
            actor="user:erin@corp.example",
            by_person_id="1",
            at=datetime.now(UTC),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            answers = {}
            for name, (input_type, values) in writes.items():
                mutation = f"""mutation($i: {input_type}!) {{
                    {name}(input: $i) {{ errors {{ code message field }} }} }}"""
                response = await client.post(
                    "/graphql",
                    json={"query": mutation, "variables": {"i": values}},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body = response.json()
                # The one response-wide error: the caller's memberships in the down store
                # could not be read. The write's own refusal is its payload's.
                assert body.get("errors") == [
                    {
                        "message": f"the {down.value} store is unavailable",
                        "extensions": {"code": "STORE_UNAVAILABLE", "store": down.value},
                    }
                ], (name, body)
                answers[name] = body["data"][name]["errors"]
        expected = [
            {
                "code": "UNAVAILABLE",
                "message": f"the {down.value} store is unavailable; nothing was written",
                "field": None,
            }
        ]
        assert answers == dict.fromkeys(writes, expected)
        entries = await app.state.services.records.entries(limit=100)
        assert not [e for e in entries if e.outcome in {Outcome.OK, Outcome.PENDING}]
        # Each refusal is audited once, with its code: denied before the write was tried,
        # failed when the store failed under it (createSpace: nothing to look up first).
        refused = sorted(e.detail["operation"] for e in entries)
        assert refused == sorted(writes)
        assert {e.outcome for e in entries} <= {Outcome.DENIED, Outcome.FAILED}
        assert {e.detail["code"] for e in entries} == {"UNAVAILABLE"}
