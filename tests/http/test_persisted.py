"""Persisted and trusted documents as clients meet them: Apollo's automatic persisted
queries over HTTP, shared by two gateways over one records database, and trusted documents
registered with ``gateway documents`` limiting external callers."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx

from gateway.cli import main as gateway
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.records.documents import sha256_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import pytest
    from starlette.applications import Starlette

QUERY = "query Front { questions(first: 3) { edges { node { title } } } }"


def _settings(tmp_path: Path, **environ: str) -> Settings:
    return Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), **environ})


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield app, c


def _persisted(query: str | None, sha256: str, **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256}}}
    if query is not None:
        body["query"] = query
    return {**body, **more}


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_apollo_automatic_persisted_queries(tmp_path: Path) -> None:
    sha256 = sha256_of(QUERY)
    async with _client(_settings(tmp_path)) as (_app, client):
        # The link sends the hash alone first: unknown, so it sends the query with it.
        first = await client.post("/graphql", json=_persisted(None, sha256))
        assert first.status_code == 200
        assert _codes(first.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert first.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        assert "data" not in first.json() or first.json()["data"] is None
        full = await client.post("/graphql", json=_persisted(QUERY, sha256))
        assert full.status_code == 200 and "errors" not in full.json()
        # From now on the hash alone is enough, over POST and GET.
        again = await client.post("/graphql", json=_persisted(None, sha256))
        assert again.json()["data"] == full.json()["data"]
        extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256}})
        got = await client.get(
            "/graphql", params={"extensions": extensions}, headers={"Accept": "application/json"}
        )
        assert got.status_code == 200, got.text
        assert got.json()["data"] == full.json()["data"]
        # A spec client that prefers graphql-response+json gets 400 for the miss.
        strict = await client.post(
            "/graphql",
            json=_persisted(None, sha256_of("{ viewer { id } }")),
            headers={"Accept": "application/graphql-response+json"},
        )
        assert strict.status_code == 400
        assert _codes(strict.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_hash_that_is_not_the_querys_is_refused(tmp_path: Path) -> None:
    async with _client(_settings(tmp_path)) as (app, client):
        wrong = await client.post(
            "/graphql", json=_persisted(QUERY, sha256_of("{ viewer { id } }"))
        )
        assert _codes(wrong.json()) == ["BAD_REQUEST"]
        assert "not the SHA-256" in wrong.json()["errors"][0]["message"]
        # Nothing was registered under either hash.
        records = app.state.services.records
        assert await records.document(sha256_of(QUERY)) is None
        for bad in ({"version": 2, "sha256Hash": sha256_of(QUERY)}, {"version": 1}, "x"):
            body = {"query": QUERY, "extensions": {"persistedQuery": bad}}
            refused = await client.post("/graphql", json=body)
            assert refused.status_code == 200 and _codes(refused.json()) == ["BAD_REQUEST"], bad


async def test_a_registered_hash_is_known_to_another_replica(tmp_path: Path) -> None:
    shared = {
        "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
    }
    sha256 = sha256_of(QUERY)
    one = _settings(tmp_path / "one", **shared)
    other = _settings(tmp_path / "other", **shared)
    async with _client(one) as (_a, first), _client(other) as (_b, second):
        registered = await first.post("/graphql", json=_persisted(QUERY, sha256))
        assert "errors" not in registered.json()
        found = await second.post("/graphql", json=_persisted(None, sha256))
        assert "errors" not in found.json(), found.json()
        assert found.json()["data"] == registered.json()["data"]


async def test_persisted_queries_can_be_turned_off(tmp_path: Path) -> None:
    settings = _settings(tmp_path, GATEWAY_PERSISTED_QUERIES="false")
    async with _client(settings) as (_app, client):
        body = await client.post("/graphql", json=_persisted(None, sha256_of(QUERY)))
        assert _codes(body.json()) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
        plain = await client.post("/graphql", json={"query": QUERY})
        assert "errors" not in plain.json()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = gateway(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_trusted_documents_only_for_external_callers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "gw"
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(data))
    shipped = tmp_path / "Front.graphql"
    shipped.write_text(QUERY)
    status, out, _err = _run(capsys, "documents", "add", str(shipped))
    assert status == 0 and sha256_of(QUERY) in out and "1 trusted document(s)" in out
    status, out, _err = _run(capsys, "documents", "list")
    assert status == 0 and f"{sha256_of(QUERY)}  Front" in out
    settings = _settings(tmp_path, GATEWAY_TRUSTED_DOCUMENTS_ONLY="external")
    other = "{ spaces(first: 3) { edges { node { name } } } }"

    async def limited() -> None:
        async with _client(settings) as (app, client):
            # A guest: the registered document runs, by hash or in full; nothing else does.
            by_hash = await client.post("/graphql", json=_persisted(None, sha256_of(QUERY)))
            assert "errors" not in by_hash.json(), by_hash.json()
            in_full = await client.post("/graphql", json={"query": QUERY})
            assert in_full.json()["data"] == by_hash.json()["data"]
            for body in ({"query": other}, _persisted(other, sha256_of(other))):
                refused = await client.post("/graphql", json=body)
                assert _codes(refused.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]
                assert "spaces" not in refused.text  # names nothing of the schema
            # A restricted caller cannot register documents on the way.
            assert await app.state.services.records.document(sha256_of(other)) is None
            # An employee keeps ad-hoc queries.
            token = app.state.services.dev_issuer.issue(
                email="erin@corp.example", name="Erin", roles=["employee"]
            )
            erin = await client.post(
                "/graphql", json={"query": other}, headers={"Authorization": f"Bearer {token}"}
            )
            assert "errors" not in erin.json()

    asyncio.run(limited())
    status, out, _err = _run(capsys, "documents", "remove", sha256_of(QUERY))
    assert status == 0 and "1 document(s) removed" in out
    status, _out, err = _run(capsys, "documents", "remove", sha256_of(QUERY))
    assert status == 1 and "no document" in err

    async def removed() -> None:
        async with _client(settings) as (_app, client):
            gone = await client.post("/graphql", json={"query": QUERY})
            assert _codes(gone.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]

    asyncio.run(removed())


def test_documents_add_reads_manifests_and_refuses_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "gw"))
    second = "query Spaces { spaces(first: 3) { edges { node { name } } } }"
    apollo = tmp_path / "apollo.json"
    apollo.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": sha256_of(QUERY), "name": "Front", "type": "query", "body": QUERY}
                ],
            }
        )
    )
    codegen = tmp_path / "persisted-documents.json"
    codegen.write_text(json.dumps({sha256_of(second): second}))
    status, out, _err = _run(capsys, "documents", "add", str(apollo), str(codegen))
    assert status == 0 and "2 trusted document(s) registered" in out
    status, out, _err = _run(capsys, "documents", "list")
    assert "Front" in out and "Spaces" in out and "2 trusted document(s)" in out
    bad = {
        "lying.json": json.dumps({sha256_of("{ a }"): QUERY}),
        "broken.graphql": "query {",
        "nothing.json": json.dumps([1, 2]),
        "fragment.graphql": "fragment F on Space { name }",
    }
    for name, text in bad.items():
        path = tmp_path / name
        path.write_text(text)
        status, _out, err = _run(capsys, "documents", "add", str(path))
        assert status == 2 and err.startswith(f"gateway: {path}"), (name, err)
    status, out, _err = _run(capsys, "documents", "list")
    assert "2 trusted document(s)" in out, "a refused file registered nothing"


def test_trusted_documents_only_over_the_websocket_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A limited caller cannot run over graphql-transport-ws what HTTP refuses them."""
    import websockets

    from tests.served import Served

    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "gw"))
    shipped = tmp_path / "Front.graphql"
    shipped.write_text(QUERY)
    assert _run(capsys, "documents", "add", str(shipped))[0] == 0
    settings = _settings(tmp_path, GATEWAY_TRUSTED_DOCUMENTS_ONLY="external")

    async def over_the_websocket(url: str) -> dict[str, Any]:
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            answers: dict[str, Any] = {}
            for op_id, query in (("trusted", QUERY), ("other", "{ viewer { id } }")):
                await ws.send(
                    json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}})
                )
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if message["type"] in ("next", "error"):
                        answers[op_id] = message
                    if message["type"] in ("complete", "error"):
                        break
            return answers

    with Served(settings) as served:
        answers = asyncio.run(over_the_websocket(served.ws))
    assert answers["trusted"]["type"] == "next"
    assert answers["trusted"]["payload"]["data"]["questions"]["edges"]
    refused = answers["other"]
    assert refused["type"] == "error"
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["PERSISTED_QUERY_NOT_ALLOWED"]
    assert "viewer" not in json.dumps(refused)
