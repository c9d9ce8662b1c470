"""Limits at the edge, over a real uvicorn: fragment fan-out, request sizes, websocket messages;
and the query cost limit, over HTTP through the app."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import websockets
from graphql import parse, validate
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from gateway.config import ConfigError, Settings
from gateway.http.app import create_app
from gateway.http.protocol import MAX_TARGET_BYTES
from gateway.identity.dev_issuer import DevIssuer
from gateway.schema import build_schema
from gateway.schema.limits import measure_document, operation_cost, query_limits
from tests.served import Served

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from starlette.applications import Starlette

LIMIT = 64 * 1024  # GATEWAY_MAX_BODY_BYTES for these tests


def fan_out(levels: int, width: int = 10) -> str:
    """The reported shape: each fragment spreads the next ``width`` times (no cycle)."""
    parts = ["query { viewer { ...F0 } }"]
    for i in range(levels - 1):
        parts.append(f"fragment F{i} on Viewer {{ {' '.join([f'...F{i + 1}'] * width)} }}")
    parts.append(f"fragment F{levels - 1} on Viewer {{ id }}")
    return "\n".join(parts)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    settings = Settings.load(
        environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_MAX_BODY_BYTES": str(LIMIT)}
    )
    with Served(settings) as running:
        yield running


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    # The timeout only keeps a broken build from hanging the suite; nothing is timed.
    async with httpx.AsyncClient(base_url=served.http, timeout=60) as c:
        yield c


# --- fragment fan-out ------------------------------------------------------------------


async def test_a_ten_level_fan_out_is_refused_while_healthz_answers(
    client: httpx.AsyncClient,
) -> None:
    query = fan_out(10)
    assert len(query) < 900  # the reported attack was 813 bytes
    attack = client.post("/graphql", json={"query": query})
    health = client.get("/healthz")
    refused, healthy = await asyncio.gather(attack, health)
    assert healthy.status_code == 200 and healthy.json() == {"status": "ok"}
    body = refused.json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "1000000001 fields" in error["message"]
    # Several at once, and the service still answers between them.
    answers = await asyncio.gather(
        *(client.post("/graphql", json={"query": query}) for _ in range(5)), client.get("/healthz")
    )
    assert answers[-1].status_code == 200
    assert all(
        a.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX" for a in answers[:-1]
    )


async def test_a_fan_out_within_the_bound_is_answered(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": fan_out(3)})).json()  # 101 fields
    assert body["data"] == {"viewer": {"id": "anonymous"}}


async def test_a_fan_out_is_refused_over_the_websocket(served: Served) -> None:
    async with websockets.connect(served.ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        subscription = fan_out(10).replace("query { viewer", "subscription { viewer", 1)
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": subscription}})
        )
        answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert answer["type"] == "error"
    assert any(
        e.get("extensions", {}).get("code") == "QUERY_TOO_COMPLEX" for e in answer["payload"]
    )


async def test_two_operations_without_a_name_are_an_error_over_the_websocket(
    served: Served,
) -> None:
    two = "subscription A { notificationAdded { kind } } query B { viewer { id } }"
    async with websockets.connect(served.ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": two}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert answer["type"] == "error"
    assert answer["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_measures_are_linear_and_exact() -> None:
    measures = measure_document(parse(fan_out(10)))
    (measure,) = measures.values()
    assert measure.fields == 1 + 10**9
    assert measure.depth == 1
    cyclic = parse(
        "{ viewer { ...A } } fragment A on Viewer { id ...B } fragment B on Viewer { ...A }"
    )
    (measure,) = measure_document(cyclic).values()
    assert measure.fields == 2  # the cycle counts once; NoFragmentCyclesRule reports it


DOCUMENTS = [
    "{ viewer { id } }",
    "{ __schema { types { name fields { name type { name ofType { name } } } } } }",
    "query Q { spaces { edges { node { questions { edges { node { id } } } } } } }",
    "{ a: viewer { id } b: viewer { ...V } } fragment V on Viewer { c: id d: isGuest }",
    "query { spaces { edges { node { ...S } } } }"
    " fragment S on Space { questions { edges { node { ...Q } } } }"
    " fragment Q on Question { space { ...T } } fragment T on Space { x: id y: name }",
    "{ spaces { edges { ... on SpaceEdge { node { ... on Space { id"
    " questions { edges { cursor } } } } } } } }",
    "query A { viewer { id } } query B { spaces { edges { node { e: id } } } }",
]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4, 5, 6])
def test_depth_and_aliases_judged_as_strawberry_judges_them(
    tmp_path: Path, document: str, limit: int
) -> None:
    """Ours replaces strawberry's limiters: on documents they can walk, the same verdicts."""
    schema = build_schema(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)}))._schema
    ast = parse(document)
    ours = query_limits(max_depth=limit, max_aliases=limit, max_expanded_fields=10**6)
    ours_errors = {e.message for e in validate(schema, ast, [ours])}
    (depth,) = QueryDepthLimiter(max_depth=limit).validation_rules
    (aliases,) = MaxAliasesLimiter(max_alias_count=limit).validation_rules
    theirs = {e.message for e in validate(schema, ast, [depth, aliases])}
    assert ours_errors == theirs


# --- request sizes ---------------------------------------------------------------------


def _padded(size: int) -> dict[str, Any]:
    return {"query": "{ viewer { id } }" + " " * size}


async def test_a_body_over_the_limit_is_413_before_it_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=_padded(LIMIT))
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert str(LIMIT) in error["message"]
    # Ten megabytes: still a 413, not a connection reset mid-upload.
    huge = await client.post("/graphql", json=_padded(10 * 1024 * 1024))
    assert huge.status_code == 413
    # Just under the limit is answered.
    within = await client.post("/graphql", json=_padded(LIMIT - 100))
    assert within.json()["data"] == {"viewer": {"id": "anonymous"}}


async def test_a_chunked_body_is_counted_as_it_streams(client: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ viewer { id } }'
        for _ in range(10 * LIMIT // 4096):  # ten times the limit, if all were read
            sent += 4096
            yield b" " * 4096
        yield b'"}'

    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"

    async def small() -> AsyncIterator[bytes]:
        yield b'{"query": "{ viewer '
        yield b'{ id } }"}'

    answered = await client.post(
        "/graphql", content=small(), headers={"content-type": "application/json"}
    )
    assert answered.json()["data"] == {"viewer": {"id": "anonymous"}}


async def test_a_query_string_over_the_limit_is_414(
    served: Served, client: httpx.AsyncClient
) -> None:
    # Over httpx's own URL limit: the request line is written by hand.
    host, port = served.http.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    query = "%7B%20viewer%20%7B%20id%20%7D%20%7D" + "+" * LIMIT
    writer.write(f"GET /graphql?query={query} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    body = json.loads(await reader.readexactly(length))
    writer.close()
    assert head.startswith(b"HTTP/1.1 414 ")
    assert body["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    within = await client.get("/graphql", params={"query": "{ viewer { id } }"})
    assert within.json()["data"] == {"viewer": {"id": "anonymous"}}


async def test_a_request_target_as_long_as_the_parser_takes_is_served(served: Served) -> None:
    # gateway.http.protocol refuses only what httptools cannot parse: one byte less is a query.
    host, port = served.http.removeprefix("http://").split(":")
    start = "/graphql?query=%7B%20viewer%20%7B%20id%20%7D%20%7D"
    target = start + "+" * (MAX_TARGET_BYTES - len(start))
    assert len(target) == MAX_TARGET_BYTES
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    head, _, body = (await asyncio.wait_for(reader.read(), 30)).partition(b"\r\n\r\n")
    writer.close()
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert json.loads(body)["data"] == {"viewer": {"id": "anonymous"}}


async def test_a_websocket_message_over_the_limit_closes_with_1009(served: Served) -> None:
    async with websockets.connect(
        served.ws, subprotocols=["graphql-transport-ws"], max_size=None
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription { notificationAdded { kind } }" + " " * LIMIT
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


async def test_a_websocket_message_nested_too_deeply_is_refused_as_not_json(
    served: Served,
) -> None:
    async with websockets.connect(served.ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send("[" * 1_000 + "]" * 1_000)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400  # graphql-transport-ws: invalid message


async def test_a_websocket_message_within_the_limit_is_served(served: Served) -> None:
    async with websockets.connect(served.ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"pad": " " * (LIMIT // 2)}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"


# --- settings ----------------------------------------------------------------------------


def test_the_edge_settings_from_file_and_environment(tmp_path: Path) -> None:
    defaults = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)})
    assert (defaults.max_body_bytes, defaults.max_expanded_fields) == (1 << 20, 5000)
    assert defaults.shutdown_timeout == 10
    config = tmp_path / "gateway.toml"
    config.write_text(
        "[graphql]\nmax_body_bytes = 2048\nmax_expanded_fields = 300\n"
        "[server]\nshutdown_timeout = 3\n"
    )
    settings = Settings.load(config, environ={"GATEWAY_SHUTDOWN_TIMEOUT": "4"})
    assert (settings.max_body_bytes, settings.max_expanded_fields) == (2048, 300)
    assert settings.shutdown_timeout == 4
    config.write_text("[server]\nshutdown_timeout = 0\n")
    with pytest.raises(ConfigError, match=r"server\.shutdown_timeout in .*at least 1"):
        Settings.load(config, environ={})
    config.write_text("[server]\nshutdown = 3\n")
    with pytest.raises(ConfigError, match=r"server\.shutdown in .*unknown setting"):
        Settings.load(config, environ={})


# --- query cost ----------------------------------------------------------------------------

# The issue's query: 100 spaces x 100 questions x 100 answers.
CUBE = (
    "{ spaces(first: 100) { edges { node { questions(first: 100) { edges { node {"
    " answers(first: 100) { edges { node { id } } } } } } } } } }"
)
FRONT_PAGE = (  # bench/common.py's QUERY, the representative front-end query
    "{ questions(first: 20) { edges { node { title tags answerCount "
    "author { displayName } space { name } } } } }"
)


def _cost(document: str, variables: dict[str, Any] | None = None, **settings: str) -> int:
    built = Settings.load(environ={"GATEWAY_DATA_DIR": "/nonexistent", **settings})
    ast = parse(document)
    (operation,) = [d for d in ast.definitions if d.kind == "operation_definition"]
    return operation_cost(
        build_schema(built)._schema,
        ast,
        operation,  # type: ignore[arg-type]
        variables,
        default_page_size=built.default_page_size,
        max_page_size=built.max_page_size,
    )


def test_cost_multiplies_page_sizes_through_nesting() -> None:
    # Each field 1; a connection's edges hold its page (first, or the default page of 20).
    assert _cost("{ viewer { id } }") == 2
    assert _cost("{ spaces(first: 10) { edges { node { id } } } }") == 1 + 1 + 10 * 2
    assert _cost("{ spaces { edges { node { id } } } }") == 1 + 1 + 20 * 2
    assert _cost("{ spaces(first: 10) { pageInfo { hasNextPage } edges { cursor } } }") == (
        1 + 2 + 1 + 10 * 1
    )
    # search is a connection too: its edges hold the page it asked for.
    assert _cost('{ search(text: "x", first: 5) { edges { node { id title } } } }') == (
        1 + 1 + 5 * (1 + 2)
    )
    # Answers per question per space: 2,030,302.
    answers = 1 + 1 + 100 * 2
    questions = 1 + 1 + 100 * (1 + answers)
    assert _cost(CUBE) == 1 + 1 + 100 * (1 + questions) == 2_030_302
    assert _cost(FRONT_PAGE) < 200


def test_cost_reads_page_sizes_from_variables_and_caps_them() -> None:
    query = "query($n: Int) { spaces(first: $n) { edges { node { id } } } }"
    assert _cost(query, {"n": 10}) == 22
    assert _cost(query, {}) == _cost(query, {"n": None}) == 42  # the default page
    with_default = "query($n: Int = 5) { spaces(first: $n) { edges { node { id } } } }"
    assert _cost(with_default, {}) == 12
    # Over the largest page: refused by the field anyway, never counted as more.
    assert _cost(query, {"n": 10_000}) == _cost(query, {"n": 100}) == 202
    assert _cost(query, {"n": "many"}) == 202  # not a number: never cheaper than the most
    assert _cost(query, {"n": 50}, GATEWAY_MAX_PAGE_SIZE="30") == 62


def test_cost_is_linear_in_fragment_fan_out() -> None:
    # Ten levels of ten spreads each: 10^9 expanded fields, costed without expanding.
    assert _cost(fan_out(10)) == 1 + 10**9
    lists = (
        "{ spaces(first: 3) { edges { node { ...S } } } }"
        " fragment S on Space { questions(first: 4) { edges { node { ...Q ...Q } } } }"
        " fragment Q on Question { id title }"
    )
    assert _cost(lists) == 1 + 1 + 3 * (1 + 1 + 1 + 4 * (1 + 2 * 2))


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def local(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:  # in-process, no uvicorn
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


def _erin(app: Starlette) -> dict[str, str]:
    issuer: DevIssuer = app.state.services.dev_issuer
    token = issuer.issue(email="erin@corp.example", name="Erin Engel", roles=["employee"])
    return {"Authorization": f"Bearer {token}"}


async def test_a_costly_query_is_refused_with_its_cost_and_the_limit(
    local: httpx.AsyncClient,
) -> None:
    body = (await local.post("/graphql", json={"query": CUBE})).json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 2030302, "limit": 250000}
    assert "costs 2030302, over the limit of 250000" in error["message"]
    # Page sizes from variables count as they are sent.
    query = (
        "query($s: Int, $q: Int) { spaces(first: $s) { edges { node { questions(first: $q) {"
        " edges { node { title answers(first: $q) { edges { node { id } } } } } } } } } }"
    )
    big = await local.post("/graphql", json={"query": query, "variables": {"s": 100, "q": 100}})
    assert big.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    asked = {"query": query, "variables": {"s": 5, "q": 5}, "extensions": {"cost": True}}
    small = await local.post("/graphql", json=asked)
    assert "errors" not in small.json()
    assert small.json()["data"]["spaces"]["edges"]
    assert small.json()["extensions"]["cost"] == {"requested": 367, "limit": 250000}


async def test_nothing_of_a_costly_operation_runs(tmp_path: Path) -> None:
    create = """mutation($i: CreateSpaceInput!) { createSpace(input: $i) { space { name
      questions(first: 100) { edges { node { answers(first: 100) { edges { node {
        id body author { displayName } } } } } } } } errors { code } } }"""
    space = {"store": "INTERNAL", "kind": "GROUP", "name": "Costly", "visibility": "OPEN"}
    names = "{ spaces(first: 100) { edges { node { name } } } }"
    settings = Settings.load(
        environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_MAX_COST": "1000"}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        erin = _erin(application)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            refused = await c.post(
                "/graphql", json={"query": create, "variables": {"i": space}}, headers=erin
            )
            seen = (await c.post("/graphql", json={"query": names}, headers=erin)).json()
            # The same write at a bearable cost runs: the refusal was the cost, not the write.
            cheap = create.replace("first: 100", "first: 2")
            made = await c.post(
                "/graphql", json={"query": cheap, "variables": {"i": space}}, headers=erin
            )
    assert refused.json()["data"] is None
    (error,) = refused.json()["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 50326, "limit": 1000}
    assert "Costly" not in {e["node"]["name"] for e in seen["data"]["spaces"]["edges"]}
    assert made.json()["data"]["createSpace"]["space"]["name"] == "Costly"


async def test_legit_queries_pass_and_report_their_cost(tmp_path: Path) -> None:
    # Without the response cache: whether a cached answer keeps apart requests that asked
    # for their cost and those that did not is the cache's to hold (it keys by extensions).
    settings = Settings.load(
        environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_CACHE_MAX_AGE": "0"}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            for query in (FRONT_PAGE, "{ viewer { id isGuest } }", fan_out(3)):
                for headers in ({}, _erin(application)):
                    plain = {"query": query}
                    body = (await c.post("/graphql", json=plain, headers=headers)).json()
                    assert "errors" not in body, body
                    assert "cost" not in body.get("extensions", {})  # only when asked for
                    asked = {"query": query, "extensions": {"cost": True}}
                    body = (await c.post("/graphql", json=asked, headers=headers)).json()
                    assert "errors" not in body, body
                    assert 0 < body["extensions"]["cost"]["requested"] <= 250000


async def test_the_cost_limit_is_a_setting(tmp_path: Path) -> None:
    assert Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)}).max_cost == 250_000
    settings = Settings.load(
        environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_MAX_COST": "100"}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            body = (await c.post("/graphql", json={"query": FRONT_PAGE})).json()
    assert body["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": 162,
        "limit": 100,
    }
    config = tmp_path / "gateway.toml"
    config.write_text("[graphql]\nmax_cost = 0\n")
    with pytest.raises(ConfigError, match=r"graphql\.max_cost in .*at least 1"):
        Settings.load(config, environ={})
