"""Cross-origin browser pages: real preflights through the app, and real cross-origin
websocket handshakes against a real uvicorn; one setting (GATEWAY_CORS_ORIGINS) for both."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import httpx
import pytest
import websockets

from gateway.config import Settings
from gateway.http.app import create_app
from tests.served import Served

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from contextlib import AbstractAsyncContextManager
    from pathlib import Path

    Client = Callable[[str | None], AbstractAsyncContextManager[httpx.AsyncClient]]

APP = "https://app.example"
LOCAL = "http://localhost:5173"
EVIL = "https://evil.example"
VIEWER = {"query": "{ viewer { isGuest } }"}


@pytest.fixture
def client(tmp_path: Path) -> Client:
    """``async with client("https://a.example,...") as c``: the app with those origins
    (None: the setting left out), over httpx's ASGI transport with its lifespan."""

    @contextlib.asynccontextmanager
    async def open_client(origins: str | None) -> AsyncIterator[httpx.AsyncClient]:
        environ = {"GATEWAY_DATA_DIR": str(tmp_path / "gw")}
        if origins is not None:
            environ["GATEWAY_CORS_ORIGINS"] = origins
        app = create_app(Settings.load(environ=environ))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
                yield c

    return open_client


def preflight(origin: str, headers: str = "content-type,authorization") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


async def test_a_listed_origin_passes_its_preflight_and_reads_the_answer(client: Client) -> None:
    async with client(f"{APP},{LOCAL}") as c:
        for origin in (APP, LOCAL):
            answer = await c.options("/graphql", headers=preflight(origin))
            assert answer.status_code == 200
            assert answer.headers["access-control-allow-origin"] == origin
            assert answer.headers["access-control-allow-credentials"] == "true"
            assert "POST" in answer.headers["access-control-allow-methods"]
            allowed = answer.headers["access-control-allow-headers"].lower()
            assert "authorization" in allowed and "content-type" in allowed
            assert "Origin" in answer.headers["vary"]
        posted = await c.post("/graphql", json=VIEWER, headers={"Origin": APP})
        assert posted.json()["data"] == {"viewer": {"isGuest": True}}
        assert posted.headers["access-control-allow-origin"] == APP
        assert posted.headers["access-control-allow-credentials"] == "true"
        assert "retry-after" in posted.headers["access-control-expose-headers"].lower()


async def test_a_refusal_carries_the_cors_headers_so_the_page_can_read_it(client: Client) -> None:
    async with client(APP) as c:
        refused = await c.post(
            "/graphql", json=VIEWER, headers={"Origin": APP, "Authorization": "Bearer nonsense"}
        )
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == APP


async def test_an_unlisted_origin_gets_no_allow_origin(client: Client) -> None:
    async with client(APP) as c:
        answer = await c.options("/graphql", headers=preflight(EVIL))
        assert answer.status_code == 400
        assert "access-control-allow-origin" not in answer.headers
        # A look-alike is not the origin: scheme, host and port all count.
        for near in ("http://app.example", "https://app.example:8443", "https://app.example.evil"):
            assert (
                "access-control-allow-origin"
                not in (await c.options("/graphql", headers=preflight(near))).headers
            )
        # The request itself is answered (CORS is the browser's to enforce), without the
        # header that would let the page read it.
        posted = await c.post("/graphql", json=VIEWER, headers={"Origin": EVIL})
        assert posted.status_code == 200
        assert "access-control-allow-origin" not in posted.headers


async def test_a_header_outside_the_list_fails_the_preflight(client: Client) -> None:
    async with client(APP) as c:
        answer = await c.options("/graphql", headers=preflight(APP, "x-something-else"))
        assert answer.status_code == 400
        assert answer.text == "Disallowed CORS headers"


async def test_without_the_setting_there_is_no_cors_as_before(client: Client) -> None:
    async with client(None) as c:
        answer = await c.options("/graphql", headers=preflight(APP))
        assert answer.status_code == 405
        assert "access-control-allow-origin" not in answer.headers
        posted = await c.post("/graphql", json=VIEWER, headers={"Origin": APP})
        assert posted.json()["data"] == {"viewer": {"isGuest": True}}
        assert not any(h.startswith("access-control-") for h in posted.headers)


async def test_a_star_is_any_origin_without_credentials(client: Client) -> None:
    async with client("*") as c:
        answer = await c.options("/graphql", headers=preflight(EVIL))
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in answer.headers
        # Even with a cookie the origin is not echoed: a credentialed call stays unreadable.
        posted = await c.post(
            "/graphql", json=VIEWER, headers={"Origin": EVIL, "Cookie": "gateway_session=x"}
        )
        assert posted.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in posted.headers


# --- the websocket -----------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    environ = {"GATEWAY_DATA_DIR": str(tmp_path / "gw")}
    if request.param is not None:
        environ["GATEWAY_CORS_ORIGINS"] = request.param
    with Served(Settings.load(environ=environ)) as running:
        yield running


async def _handshake(served: Served, origin: str | None) -> str:
    """Open the websocket from ``origin`` and run one query over graphql-transport-ws;
    the answer's ``isGuest``, or ``refused NNN`` when the handshake is refused."""
    try:
        async with websockets.connect(
            served.ws,
            subprotocols=["graphql-transport-ws"],
            origin=origin,
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": VIEWER}))
            message = json.loads(await ws.recv())
            assert message["type"] == "next", message
            return f"isGuest {message['payload']['data']['viewer']['isGuest']}"
    except websockets.InvalidStatus as exc:
        return f"refused {exc.response.status_code}"


@pytest.mark.parametrize("served", [f"{APP},{LOCAL}"], indirect=True)
async def test_a_listed_origin_opens_the_websocket_and_others_are_refused(
    served: Served,
) -> None:
    assert await _handshake(served, APP) == "isGuest True"
    assert await _handshake(served, LOCAL) == "isGuest True"
    assert await _handshake(served, EVIL) == "refused 403"
    assert await _handshake(served, "http://app.example") == "refused 403"
    # Same-origin pages and clients that send no Origin (not browsers) as always.
    assert await _handshake(served, served.http) == "isGuest True"
    assert await _handshake(served, None) == "isGuest True"


@pytest.mark.parametrize("served", [None, "*"], indirect=True)
async def test_without_listed_origins_only_the_gateways_own_pages_open_the_websocket(
    served: Served,
) -> None:
    # "*" included: browsers send cookies with a handshake whatever CORS says.
    assert await _handshake(served, APP) == "refused 403"
    assert await _handshake(served, served.http) == "isGuest True"
    assert await _handshake(served, None) == "isGuest True"
