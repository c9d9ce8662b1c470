"""One store down: the other store's data is served, with an error naming the failed one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from gateway.app import create_app
from gateway.config import Settings
from gateway.identity.dev_issuer import DevIssuer

if TYPE_CHECKING:
    from pathlib import Path


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
