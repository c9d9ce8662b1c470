"""notificationAdded over a real websocket (uvicorn on loopback, graphql-transport-ws)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import websockets

from gateway.config import Settings
from gateway.identity.dev_issuer import DevIssuer
from gateway.stores.cursors import SequencePosition
from tests.served import Served

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SUBSCRIBE = """subscription($after: String) {
  notificationAdded(after: $after) {
    kind actorName subject { __typename ... on Question { title } } space { name } cursor
  }
}"""
# Before her first notification: a cursor a client gets only from an earlier page or payload.
START = SequencePosition(0).encode()
ASK = """mutation($i: AskQuestionInput!) {
  askQuestion(input: $i) { mentions { notified notNotified } errors { code } }
}"""


class Gateway(Served):
    """The whole gateway on the demo data, served by uvicorn on a free loopback port."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(
            Settings.load(
                environ={
                    "GATEWAY_DATA_DIR": str(tmp_path / "data"),
                    "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}",
                    "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{tmp_path / 'community.db'}",
                    "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
                    "GATEWAY_DEMO_DATA": "true",
                    "GATEWAY_DEV_ISSUER": "true",
                    "GATEWAY_ORGANISATION_DOMAINS": "corp.example",
                }
            )
        )

    def token(self, email: str, *roles: str) -> str:
        return DevIssuer.open(self.settings.data_dir).issue(
            email=email, name=email.split("@")[0].title(), roles=list(roles), organisation=None
        )

    async def graphql(self, token: str, query: str, variables: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(base_url=self.http, timeout=10) as client:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {token}"},
            )
        response.raise_for_status()
        return response.json()["data"]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    with Gateway(tmp_path) as running:
        yield running


async def _init(ws: Any, token: str) -> dict[str, Any]:
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def test_a_mention_arrives_over_the_websocket_and_a_hidden_one_never(
    gateway: Gateway,
) -> None:
    erin = gateway.token("erin@corp.example", "employee")
    paula = gateway.token("paula@partner.example", "partner")
    spaces = await gateway.graphql(erin, "{ spaces(first: 50) { edges { node { id name } } } }", {})
    ids = {e["node"]["name"]: e["node"]["id"] for e in spaces["spaces"]["edges"]}
    async with websockets.connect(gateway.ws, subprotocols=["graphql-transport-ws"]) as ws:
        assert (await _init(ws, paula))["type"] == "connection_ack"
        # From the beginning of her (empty) inbox, so nothing written below can slip past.
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"after": START}},
                }
            )
        )
        hidden = await gateway.graphql(
            erin,
            ASK,
            {"i": {"spaceId": ids["Project Falcon"], "title": "Secret", "body": "@paula no"}},
        )
        assert hidden["askQuestion"]["mentions"] == {"notified": [], "notNotified": ["paula"]}
        shown = await gateway.graphql(
            erin,
            ASK,
            {
                "i": {
                    "spaceId": ids["Aurora prototype feedback"],
                    "title": "Ready?",
                    "body": "@paula",
                }
            },
        )
        assert shown["askQuestion"]["mentions"]["notified"] == ["paula"]
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["type"] == "next", message
        assert message["id"] == "1"
        added = message["payload"]["data"]["notificationAdded"]
        # The payload carries the cursor to resume from: the one her list's edge has.
        inbox = await gateway.graphql(
            paula, "{ notifications { edges { cursor node { cursor kind } } } }", {}
        )
        [edge] = inbox["notifications"]["edges"]
        assert added.pop("cursor") == edge["cursor"] == edge["node"]["cursor"]
        assert added == {
            "kind": "mention",
            "actorName": "Erin",
            "subject": {"__typename": "Question", "title": "Ready?"},
            "space": {"name": "Aurora prototype feedback"},
        }
        # Nothing else is on its way: the Falcon mention left no notification at all.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 1.5)


async def test_a_bad_token_on_connection_init_is_refused(gateway: Gateway) -> None:
    async with websockets.connect(gateway.ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_guest_cannot_subscribe(gateway: Gateway) -> None:
    async with websockets.connect(gateway.ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["type"] in {"error", "next"}
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert "verified email" in json.dumps(errors)


async def _first_errors(ws: Any, query: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors of the first answer to a subscription: an ``error`` message (the operation
    never ran) or a ``next`` carrying errors."""
    payload = {"query": query, "variables": variables}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] in {"error", "next"}, message
    return message["payload"] if message["type"] == "error" else message["payload"]["errors"]


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        # Refused before it runs: the client's mistakes, named as over HTTP.
        ("subscription { nope }", {}, "GRAPHQL_VALIDATION_FAILED"),
        (
            "subscription($after: String!) { notificationAdded(after: $after) { kind } }",
            {},
            "BAD_USER_INPUT",
        ),
        # Refused as it runs: a cursor that is not one.
        (SUBSCRIBE, {"after": "¹"}, "BAD_USER_INPUT"),
    ],
)
async def test_subscription_errors_carry_their_code(
    gateway: Gateway, query: str, variables: dict[str, Any], code: str
) -> None:
    """Errors over the websocket carry ``extensions.code`` exactly as over HTTP."""
    paula = gateway.token("paula@partner.example", "partner")
    async with websockets.connect(gateway.ws, subprotocols=["graphql-transport-ws"]) as ws:
        assert (await _init(ws, paula))["type"] == "connection_ack"
        errors = await _first_errors(ws, query, variables)
    assert errors, "an error was expected"
    assert [e.get("extensions", {}).get("code") for e in errors] == [code] * len(errors), errors


async def test_a_subscription_that_does_not_parse_closes_the_socket_with_4400(
    gateway: Gateway,
) -> None:
    """graphql-transport-ws: a document that does not parse closes the socket with 4400 and
    the parser's message (strawberry's convention), never a silent ``complete``."""
    paula = gateway.token("paula@partner.example", "partner")
    async with websockets.connect(gateway.ws, subprotocols=["graphql-transport-ws"]) as ws:
        assert (await _init(ws, paula))["type"] == "connection_ack"
        payload = {"query": "subscription {"}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert closed.value.rcvd.reason.startswith("Syntax Error")
