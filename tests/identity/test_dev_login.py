"""The demo's persona picker: a browser session without any external IdP."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import httpx

from gateway.config import Settings
from gateway.http.app import create_app

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

T = TypeVar("T")

VIEWER = {"query": "{ viewer { id roles issuer } spaces(first: 50) { edges { node { name } } } }"}


def _settings(tmp_path: Path, *, dev_issuer: bool) -> Settings:
    return Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "gw"),
            "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}",
            "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{tmp_path / 'community.db'}",
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true" if dev_issuer else "false",
        }
    )


async def _run(
    settings: Settings,
    cookies: httpx.Cookies,
    steps: Callable[[httpx.AsyncClient], Awaitable[T]],
) -> T:
    """Run ``steps`` against a fresh app; cookies carry over between apps, like a browser."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://gateway.test", cookies=cookies
        ) as client:
            result = await steps(client)
            cookies.update(client.cookies)
            return result


async def test_pick_a_persona_and_get_their_view(tmp_path: Path) -> None:
    cookies = httpx.Cookies()

    async def steps(client: httpx.AsyncClient) -> None:
        page = await client.get("/auth/dev")
        assert page.status_code == 200
        assert "paula@partner.example" in page.text and 'method="post"' in page.text
        chosen = await client.post(
            "/auth/dev",
            content="email=paula%40partner.example&next=%2Fgraphql",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert chosen.status_code == 303
        assert chosen.headers["location"] == "/graphql"
        cookie = chosen.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
        body = (await client.post("/graphql", json=VIEWER)).json()["data"]
        assert body["viewer"]["id"] == "user:paula@partner.example"
        assert body["viewer"]["roles"] == ["partner"]
        names = {e["node"]["name"] for e in body["spaces"]["edges"]}
        assert "Aurora prototype feedback" in names
        assert "Engineering" not in names

    await _run(_settings(tmp_path, dev_issuer=True), cookies, steps)


async def test_refusals_leave_a_guest(tmp_path: Path) -> None:
    cookies = httpx.Cookies()

    async def steps(client: httpx.AsyncClient) -> None:
        form = {"content-type": "application/x-www-form-urlencoded"}
        unknown = await client.post("/auth/dev", content="email=zed%40evil.example", headers=form)
        assert unknown.status_code == 400
        assert "set-cookie" not in unknown.headers
        # A GET never logs anyone in (a link or an image could be forged).
        assert (await client.get("/auth/dev?email=erin%40corp.example")).status_code == 200
        viewer = (await client.post("/graphql", json=VIEWER)).json()["data"]["viewer"]
        assert viewer["id"] == "anonymous"
        away = await client.post(
            "/auth/dev", content="email=mo%40customer.example&next=%2F%2Fevil.example", headers=form
        )
        assert away.headers["location"] == "/"

    await _run(_settings(tmp_path, dev_issuer=True), cookies, steps)


async def test_switching_the_dev_issuer_off_ends_its_sessions(tmp_path: Path) -> None:
    cookies = httpx.Cookies()

    async def log_in(client: httpx.AsyncClient) -> str:
        await client.post(
            "/auth/dev",
            content="email=erin%40corp.example",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        return (await client.post("/graphql", json=VIEWER)).json()["data"]["viewer"]["id"]

    assert await _run(_settings(tmp_path, dev_issuer=True), cookies, log_in) == (
        "user:erin@corp.example"
    )

    async def afterwards(client: httpx.AsyncClient) -> tuple[int, str]:
        page = await client.get("/auth/dev")
        viewer = (await client.post("/graphql", json=VIEWER)).json()["data"]["viewer"]
        return page.status_code, viewer["id"]

    # Same data directory, so the same session secret: the cookie is genuine, yet no longer
    # vouched for.
    assert await _run(_settings(tmp_path, dev_issuer=False), cookies, afterwards) == (
        404,
        "anonymous",
    )
