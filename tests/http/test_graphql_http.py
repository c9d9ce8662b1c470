"""GraphQL over HTTP: media types, status codes, bodies that are not JSON, operation names."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.http.graphql_http import GRAPHQL_RESPONSE, JSON, preferred_media_type
from tests.databases import REQUIRED
from tests.replicas import replica

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

WANTS_GRAPHQL = {"accept": GRAPHQL_RESPONSE}
TWO_OPERATIONS = "query A { viewer { id } } query B { viewer { isGuest } }"
DEEP = 1_000


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")}))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", JSON),
        (f"{GRAPHQL_RESPONSE}, application/json", GRAPHQL_RESPONSE),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        (f"{GRAPHQL_RESPONSE}, */*;q=0.8", GRAPHQL_RESPONSE),
        ("text/html", JSON),
    ],
)
def test_the_client_chooses_the_media_type(accept: str | None, expected: str) -> None:
    assert preferred_media_type(accept) == expected


async def test_graphql_response_clients_get_400_without_data_for_request_errors(
    client: httpx.AsyncClient,
) -> None:
    for payload in (
        {"query": "{ spaces { "},  # parse
        {"query": "{ secrets }"},  # validation
        {"query": "query($f: Int!) { questions(first: $f) { edges { cursor } } }"},  # variables
        {"query": TWO_OPERATIONS},  # which operation?
    ):
        response = await client.post("/graphql", json=payload, headers=WANTS_GRAPHQL)
        assert response.status_code == 400, payload
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        body = response.json()
        assert "data" not in body and body["errors"], payload


async def test_graphql_response_clients_get_200_with_data(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ viewer { isGuest } }"}, headers=WANTS_GRAPHQL
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json()["data"] == {"viewer": {"isGuest": True}}
    # A field error after execution began is a 200 with data, in either media type.
    bad_id = await client.post(
        "/graphql", json={"query": '{ node(id: "zzz") { id } }'}, headers=WANTS_GRAPHQL
    )
    assert bad_id.status_code == 200
    assert bad_id.json()["data"] == {"node": None}


async def test_json_clients_keep_200_and_a_data_entry(client: httpx.AsyncClient) -> None:
    for accept in (None, "application/json", "*/*"):
        headers = {"accept": accept} if accept else {}
        response = await client.post("/graphql", json={"query": "{ secrets }"}, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["data"] is None


async def test_two_operations_need_an_operation_name(client: httpx.AsyncClient) -> None:
    refused = (await client.post("/graphql", json={"query": TWO_OPERATIONS})).json()
    assert refused["data"] is None
    assert refused["errors"][0]["message"] == (
        "Must provide operation name if query contains multiple operations."
    )
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    for name, expected in (
        ("A", {"viewer": {"id": "anonymous"}}),
        ("B", {"viewer": {"isGuest": True}}),
    ):
        chosen = await client.post(
            "/graphql", json={"query": TWO_OPERATIONS, "operationName": name}
        )
        assert chosen.json()["data"] == expected
    unknown = await client.post(
        "/graphql", json={"query": TWO_OPERATIONS, "operationName": "C"}, headers=WANTS_GRAPHQL
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'{"query": "{ viewer { id } }", "variables": ' + b"[" * DEEP + b"]" * DEEP + b"}",
            "nested too deeply",
        ),
        (b"[" * DEEP + b"]" * DEEP, "nested too deeply"),
        (b'{"query": "{ viewer { id } }\xff"}', "not UTF-8"),
        (b"{not json", "Expecting property name"),
    ],
)
async def test_bodies_that_are_not_json_are_400_with_a_code(
    client: httpx.AsyncClient, body: bytes, reason: str
) -> None:
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json", "accept": accept}
        )
        assert response.status_code == 400
        assert response.headers["content-type"].startswith(accept)
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert error["message"].startswith("The request is not JSON")
        assert reason in error["message"]


async def test_get_variables_that_are_not_json_are_400(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "{ viewer { id } }", "variables": "[" * DEEP + "]" * DEEP},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The request is not JSON: nested too deeply."


async def test_the_admin_api_speaks_the_same(client: httpx.AsyncClient, app: Starlette) -> None:
    token = app.state.services.dev_issuer.issue(
        email="sam@corp.example", name="Sam", roles=["security_admin"]
    )
    response = await client.post(
        "/admin/graphql",
        content=b"\xff",
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


AUDIT = Path(__file__).parents[1] / "graphql_http_audit.cjs"


def test_the_graphql_over_http_audit_passes(tmp_path: Path) -> None:
    """The graphql-http audit (npm) against a real ``gateway serve``: every MUST and every
    SHOULD. Runs where node and the package are installed (GRAPHQL_HTTP_AUDIT_DIR names a
    directory holding node_modules/graphql-http); skipped elsewhere, failed where
    GATEWAY_TEST_REQUIRE names graphql-http (CI installs it)."""
    node = shutil.which("node")
    modules = os.environ.get("GRAPHQL_HTTP_AUDIT_DIR")
    if node is None or not modules or not (Path(modules) / "node_modules/graphql-http").is_dir():
        reason = "needs node and graphql-http (set GRAPHQL_HTTP_AUDIT_DIR)"
        if "graphql-http" in REQUIRED:
            pytest.fail(f"required audit missing: {reason}")
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA_DIR"] = str(tmp_path / "data")
    with replica("audit", env, tmp_path) as served:
        result = subprocess.run(  # noqa: S603 - node and our own script
            [node, str(AUDIT), f"{served.url}/graphql"],
            cwd=modules,
            env={**os.environ, "NODE_PATH": str(Path(modules) / "node_modules")},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"warn"' not in result.stdout and '"error"' not in result.stdout, result.stdout
