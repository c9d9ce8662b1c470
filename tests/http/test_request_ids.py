"""Request ids through the real app: X-Request-ID kept when well-formed, replaced when not,
returned on every response, and on the JSON log lines written while the request ran."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.http.logs import json_formatter, request_id_filter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from starlette.applications import Starlette

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")})
    app: Starlette = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield c


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The gateway's log records as ``logging.format = "json"`` writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(request_id_filter())
    logger = logging.getLogger("gateway")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_request_id_sent_is_echoed_and_logged(
    client: httpx.AsyncClient, json_lines: io.StringIO
) -> None:
    sent = "edge-7f3a.42:retry=1"
    # A syntax error is logged (as a client error) while the request runs.
    answer = await client.post(
        "/graphql", json={"query": "{ viewer {"}, headers={"X-Request-ID": sent}
    )
    assert answer.headers["x-request-id"] == sent
    records = [r for r in _records(json_lines) if r["logger"] == "gateway.graphql"]
    assert records, json_lines.getvalue()
    line = records[-1]
    assert line["request_id"] == sent
    assert line["level"] == "INFO"
    assert "GRAPHQL_PARSE_FAILED" in str(line["message"])
    assert isinstance(line["time"], str) and line["time"].startswith("20")


async def test_each_request_without_one_gets_its_own(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/healthz")).headers["x-request-id"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second)
    assert first != second
    # Refusals too: one before routing (an unknown path) and one before GraphQL.
    assert HEX_ID.fullmatch((await client.get("/nothing")).headers["x-request-id"])
    refused = await client.post("/graphql", content=b"\xff", headers={"content-type": "x/y"})
    assert refused.status_code >= 400
    assert HEX_ID.fullmatch(refused.headers["x-request-id"])


@pytest.mark.parametrize(
    "bad",
    [
        "x" * 129,  # too long
        "two words",
        'quote"d',
        "new\tline",
        "caf\u00e9",
    ],
)
async def test_a_malformed_request_id_is_replaced_never_echoed(
    client: httpx.AsyncClient, json_lines: io.StringIO, bad: str
) -> None:
    answer = await client.post(
        "/graphql",
        json={"query": "{ viewer {"},
        headers=[("X-Request-ID", bad.encode("utf-8"))],
    )
    returned = answer.headers["x-request-id"]
    assert HEX_ID.fullmatch(returned)
    assert bad not in answer.text
    assert bad not in json_lines.getvalue()
    logged = [r for r in _records(json_lines) if r["logger"] == "gateway.graphql"]
    assert logged and logged[-1]["request_id"] == returned


def test_serve_logs_json_lines_with_the_request_id(tmp_path: Path) -> None:
    """The configuration ``gateway serve`` applies, in a process of its own: the gateway's
    and uvicorn's loggers both write one JSON object per line."""
    script = (
        "import logging, logging.config, sys\n"
        "from asgi_correlation_id import correlation_id\n"
        "from gateway.http.logs import log_config\n"
        "logging.config.dictConfig(log_config(sys.argv[1]))\n"
        "logging.getLogger('gateway.stores').warning('outside a request')\n"
        "correlation_id.set('req-1')\n"
        "logging.getLogger('gateway.graphql').info('inside %s', 'one')\n"
        "logging.getLogger('uvicorn.access').info('%s %d', 'GET /healthz', 200)\n"
        "logging.getLogger('gateway').debug('below INFO')\n"
    )
    ran = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script, "json"], capture_output=True, text=True, check=True
    )
    lines = [json.loads(line) for line in ran.stderr.splitlines()]
    assert [(r["logger"], r["message"], r["request_id"]) for r in lines] == [
        ("gateway.stores", "outside a request", None),
        ("gateway.graphql", "inside one", "req-1"),
        ("uvicorn.access", "GET /healthz 200", "req-1"),
    ]
    text = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script, "text"], capture_output=True, text=True, check=True
    )
    assert text.stderr.splitlines()[:2] == [
        "WARNING gateway.stores: outside a request",
        "INFO gateway.graphql: inside one",
    ]


async def test_a_write_is_audited_with_its_request_id(tmp_path: Path) -> None:
    """One request followed from its response header to the audit log: the entry of the
    write it made names its id; a write made without a request (a command) names none."""
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")})
    app: Starlette = create_app(settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        token = services.dev_issuer.issue(
            email="erin@corp.example", name="Erin", roles=["employee"]
        )
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "trace-write-77"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            spaces = await c.post(
                "/graphql",
                json={"query": "{ spaces(first: 1) { edges { node { id } } } }"},
                headers=headers,
            )
            space = spaces.json()["data"]["spaces"]["edges"][0]["node"]["id"]
            asked = await c.post(
                "/graphql",
                json={
                    "query": "mutation($i: AskQuestionInput!) { askQuestion(input: $i) "
                    "{ question { id } errors { code } } }",
                    "variables": {"i": {"spaceId": space, "title": "Traced", "body": "?"}},
                },
                headers=headers,
            )
            assert asked.json()["data"]["askQuestion"]["errors"] == []
            assert asked.headers["x-request-id"] == "trace-write-77"
        entries = await services.records.entries(action="ask")
        assert [e.detail.get("request_id") for e in entries] == ["trace-write-77"]
        assert [e.outcome.value for e in entries] == ["ok"]
