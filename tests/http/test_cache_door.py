"""A cache hit answered in front of strawberry's view (gateway.http.cached's door) is the
answer the view would send: the same status, headers and bytes. What the door does not
read itself goes on to the view with its body intact, and a miss is counted once."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from strawberry.http.async_base_view import AsyncBaseHTTPView

from tests.http.test_response_cache import PAGE, Gateway, serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from gateway.runtime.services import Services

# The door never reaches a store: one backend shows what it does.
pytestmark = pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
# Headers that differ from one response to the next whoever writes them.
PER_RESPONSE = {"date", "x-request-id"}


class Views:
    """Counts the requests strawberry's view handled (the door answered the others)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs = 0
        run = AsyncBaseHTTPView.run

        async def counted(view: Any, *args: Any, **kwargs: Any) -> Any:
            self.runs += 1
            return await run(view, *args, **kwargs)

        monkeypatch.setattr(AsyncBaseHTTPView, "run", counted)


@pytest.fixture
async def gateway(services: Services) -> AsyncIterator[Gateway]:
    async with serving(services) as served:
        yield served


def _seen(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in PER_RESPONSE)
    return response.status_code, headers, response.content


@pytest.mark.parametrize(
    ("content_type", "accept"),
    [
        ("application/json", None),
        ("application/json; charset=utf-8", "application/json"),
        ("application/json;charset=UTF-8", "*/*"),
        ("Application/JSON", None),  # the view refuses it: so does the door
        ("application/json", "application/graphql-response+json"),
        ("application/json", "application/json;q=0.5, application/graphql-response+json"),
    ],
)
async def test_a_hit_at_the_door_is_the_answer_the_view_sends(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, content_type: str, accept: str | None
) -> None:
    views = Views(monkeypatch)
    erin = gateway.persona("erin@corp.example")
    for who in ({}, erin):
        headers = {"content-type": content_type, **who, **({"accept": accept} if accept else {})}
        body = json.dumps({"query": PAGE}).encode()
        missed = await gateway.client.post("/graphql", content=body, headers=headers)
        assert views.runs == 1
        if content_type == "Application/JSON":  # strawberry's test of the type is exact
            assert missed.status_code == 400
            again = await gateway.client.post("/graphql", content=body, headers=headers)
            assert _seen(again) == _seen(missed) and views.runs == 2
            return
        assert "errors" not in missed.json()
        hits = gateway.stats.hits
        at_the_door = await gateway.client.post("/graphql", content=body, headers=headers)
        assert views.runs == 1, "the view handled a hit the door should have answered"
        # A query string sends a POST past the door: the view answers the same hit.
        by_the_view = await gateway.client.post("/graphql?via=view", content=body, headers=headers)
        assert views.runs == 2
        assert gateway.stats.hits == hits + 2
        assert _seen(at_the_door) == _seen(by_the_view) == _seen(missed)
        views.runs = 0


async def test_a_miss_at_the_door_is_counted_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    views = Views(monkeypatch)
    misses = gateway.stats.misses
    await gateway.ask(PAGE)
    assert views.runs == 1
    assert gateway.stats.misses == misses + 1, "the door and the view both counted the miss"
    await gateway.ask(PAGE)
    assert views.runs == 1 and gateway.stats.misses == misses + 1


async def test_a_body_in_pieces_is_read_whole_at_the_door(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    views = Views(monkeypatch)
    first = await gateway.ask(PAGE)
    body = json.dumps({"query": PAGE}).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    again = await gateway.client.post(
        "/graphql", content=pieces(), headers={"content-type": "application/json"}
    )
    assert again.json() == first
    assert views.runs == 1, "a hit in pieces went past the door"


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b'{"query": "{ questions(first: 1', "application/json", "BAD_REQUEST"),
        (b"\xff\xfe", "application/json", "BAD_REQUEST"),
        # json.loads would read UTF-16; the view reads UTF-8 only, so the door must too.
        (json.dumps({"query": PAGE}).encode("utf-16"), "application/json", "BAD_REQUEST"),
        (b'{"query": 7}', "application/json", "BAD_REQUEST"),
        (json.dumps({"query": PAGE, "variables": []}).encode(), "application/json", "BAD_REQUEST"),
        (json.dumps({"query": PAGE}).encode(), "text/plain", "BAD_REQUEST"),
    ],
)
async def test_what_the_door_cannot_read_is_the_views_to_refuse(
    gateway: Gateway, body: bytes, content_type: str, code: str
) -> None:
    await gateway.ask(PAGE)  # the page is cached: nothing below may be answered with it
    refused = await gateway.client.post(
        "/graphql", content=body, headers={"content-type": content_type}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == code


async def test_what_the_door_leaves_alone_is_answered_by_the_view(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = await gateway.ask(PAGE)
    views = Views(monkeypatch)
    batch = await gateway.client.post("/graphql", json=[{"query": PAGE}])
    assert batch.status_code == 400  # batches are off: the view says so
    named = await gateway.client.post(
        "/graphql", json={"query": f"query Page {PAGE}", "operationName": "Page"}
    )
    assert named.json() == page  # another document: a miss, run by the view
    mutation = await gateway.client.post(
        "/graphql", json={"query": 'mutation { markNotificationsRead(ids: ["x"]) { count } }'}
    )
    assert mutation.status_code == 200 and mutation.json()["errors"]
    assert views.runs == 3
