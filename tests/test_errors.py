"""Errors over HTTP as a client meets them: one failing field never fails the request,
and every error names its code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette

COMMUNITY_QUESTION = "UXVlc3Rpb246Y29tbXVuaXR5OjE="  # Question:community:1


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


async def test_a_failing_field_beside_one_sharing_its_lookup_is_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    """``a.answers`` fails (first: 0) inside a non-null field while ``b.space`` waits on the
    same space lookup as ``a.space``: graphql-core cancels ``a.space``, and that used to
    cancel the lookup ``b`` waited on too (HTTP 500)."""
    query = f"""{{
      a: question(id: "{COMMUNITY_QUESTION}") {{
        space {{ id }} answers(first: 0) {{ edges {{ node {{ id }} }} }} }}
      b: question(id: "{COMMUNITY_QUESTION}") {{ space {{ id }} }} }}"""
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["a"] is None
    assert body["data"]["b"]["space"]["id"]
    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        (["a", "answers"], "first must be between 1 and 100, got 0")
    ]
