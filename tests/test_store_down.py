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
            messages = {(e["message"], e["path"][0]) for e in body["errors"]}
            assert messages == {
                ("the community store is unavailable", "spaces"),
                ("the community store is unavailable", "questions"),
            }
