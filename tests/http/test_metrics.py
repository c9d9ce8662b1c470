"""/metrics through the real app: scraped over HTTP and parsed with prometheus-client's own
parser; the counters move with the requests made, labels stay bounded, and only allowed
clients may read it."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.config import ConfigError, Settings
from gateway.http.app import create_app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping
    from pathlib import Path

    from starlette.applications import Starlette

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@contextlib.asynccontextmanager
async def _app(tmp_path: Path, **environ: str) -> AsyncIterator[Starlette]:
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), **environ})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    async with _app(tmp_path) as application:
        yield application


def _client(app: Starlette, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


async def _scrape(client: httpx.AsyncClient) -> Samples:
    answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and want <= got)


def _labels(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(got)[label] for (n, got), _ in samples.items() if n == name and label in dict(got)}


SPACES = {"query": "query SpaceNames { spaces { edges { node { name } } } }"}


async def test_counters_move_with_requests(app: Starlette) -> None:
    async with _client(app) as client:
        before = await _scrape(client)
        erin = app.state.services.dev_issuer.issue(
            email="erin@corp.example", name="Erin", roles=["employee"]
        )
        answer = await client.post(
            "/graphql", json=SPACES, headers={"Authorization": f"Bearer {erin}"}
        )
        assert answer.status_code == 200 and "errors" not in answer.json()
        after = await _scrape(client)

    http = {"route": "/graphql", "method": "POST", "status": "200"}
    assert _value(after, "gateway_http_requests_total", **http) == (
        _value(before, "gateway_http_requests_total", **http) + 1
    )
    count = "gateway_http_request_duration_seconds_count"
    assert _value(after, count, **http) == _value(before, count, **http) + 1
    # The scrape itself is a request too.
    scrape = {"route": "/metrics", "method": "GET", "status": "200"}
    assert _value(after, "gateway_http_requests_total", **scrape) >= 1

    op = {"api": "public", "operation_type": "query", "outcome": "ok"}
    named = {**op, "operation_name": "SpaceNames", "persona": "employee"}
    assert _value(after, "gateway_graphql_operations_total", **named) == (
        _value(before, "gateway_graphql_operations_total", **named) + 1
    )
    timed = "gateway_graphql_operation_duration_seconds_count"
    labels = {"api": "public", "operation_type": "query", "operation_name": "SpaceNames"}
    assert _value(after, timed, **labels) == _value(before, timed, **labels) + 1

    # Both stores were asked for the employee's spaces, through the guard.
    calls = "gateway_store_call_duration_seconds_count"
    for store in ("internal", "community"):
        assert _total(after, calls, store=store) > _total(before, calls, store=store)
        assert _value(after, "gateway_store_circuit_state", store=store, state="closed") == 1
        assert _value(after, "gateway_store_circuit_state", store=store, state="open") == 0
        assert _value(after, "gateway_store_consecutive_failures", store=store) == 0
    # The request compiled the employee's scope (or found it compiled).
    lookups = "gateway_compiled_scope_cache_lookups_total"
    assert _total(after, lookups) == _total(before, lookups) + 1
    assert _value(after, "gateway_policy_version") >= 1
    assert len(_labels(after, "gateway_policy_info", "sha256").pop()) == 12


async def test_the_admin_api_is_counted_apart(app: Starlette) -> None:
    sam = app.state.services.dev_issuer.issue(
        email="sam@corp.example", name="Sam", roles=["employee", "security_admin"]
    )
    query = {"query": "query PolicyNow { __typename }"}
    ops = "gateway_graphql_operations_total"
    labels = {
        "api": "admin",
        "operation_type": "query",
        "outcome": "ok",
        "operation_name": "PolicyNow",
        "persona": "security_admin",
    }
    async with _client(app) as client:
        before = await _scrape(client)
        answer = await client.post(
            "/admin/graphql", json=query, headers={"Authorization": f"Bearer {sam}"}
        )
        assert answer.json() == {"data": {"__typename": "AdminQuery"}}
        # Turned away before GraphQL runs: an HTTP request, not an operation.
        assert (await client.post("/admin/graphql", json=query)).status_code == 401
        after = await _scrape(client)
    assert _value(after, ops, **labels) == _value(before, ops, **labels) + 1
    assert _total(after, ops, api="admin") == _total(before, ops, api="admin") + 1
    refused = {"route": "/admin/graphql", "method": "POST", "status": "401"}
    assert _value(after, "gateway_http_requests_total", **refused) == (
        _value(before, "gateway_http_requests_total", **refused) + 1
    )


async def test_labels_are_templates_not_what_clients_send(app: Starlette) -> None:
    async with _client(app) as client:
        assert (await client.get("/no/such/page-erin@corp.example")).status_code == 404
        assert (await client.get("/admin/static/nothing-here.css")).status_code == 404
        assert (await client.request("BREW", "/graphql")).status_code == 405
        samples = await _scrape(client)
    routes = _labels(samples, "gateway_http_requests_total", "route")
    assert "unmatched" in routes
    assert "/admin/static/{name}" in routes
    assert not any("erin" in r or "nothing-here" in r for r in routes)
    assert "other" in _labels(samples, "gateway_http_requests_total", "method")
    assert "BREW" not in _labels(samples, "gateway_http_requests_total", "method")


async def test_operation_names_are_bounded(tmp_path: Path) -> None:
    ops = "gateway_graphql_operations_total"
    async with (
        _app(tmp_path, GATEWAY_METRICS_MAX_OPERATION_NAMES="2") as app,
        _client(app) as client,
    ):
        before = await _scrape(client)
        for name in ("First", "Second", "Third", "Fourth", "First"):
            query = {"query": f"query {name} {{ viewer {{ isGuest }} }}"}
            assert "errors" not in (await client.post("/graphql", json=query)).json()
        anonymous = {"query": "{ viewer { isGuest } }"}
        assert "errors" not in (await client.post("/graphql", json=anonymous)).json()
        for broken in ("query Broken {", "query Unknown { noSuchField }"):
            assert "errors" in (await client.post("/graphql", json={"query": broken})).json()
        after = await _scrape(client)

    def moved(**labels: str) -> float:
        return _total(after, ops, **labels) - _total(before, ops, **labels)

    # The first two names this app saw have their own series; the later ones share one.
    assert moved(operation_name="First", outcome="ok") == 2
    assert moved(operation_name="Second", outcome="ok") == 1
    assert moved(operation_name="_other", outcome="ok") == 2
    assert moved(operation_name="_anonymous", outcome="ok") == 1
    assert moved(operation_name="_invalid", outcome="refused") == 2
    assert moved(persona="guest") == 8
    names = _labels(after, ops, "operation_name")
    assert not names & {"Third", "Fourth", "Broken", "Unknown"}


async def test_only_loopback_reads_metrics_by_default(app: Starlette) -> None:
    async with _client(app, "203.0.113.9") as remote:
        refused = await remote.get("/metrics")
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # A token means nothing when none is configured.
        assert (
            await remote.get("/metrics", headers={"Authorization": "Bearer x"})
        ).status_code == 403
        # The rest of the gateway is there for it.
        assert (await remote.get("/healthz")).status_code == 200
    async with _client(app, "::ffff:127.0.0.1") as mapped:
        assert (await mapped.get("/metrics")).status_code == 200


async def test_a_token_admits_a_scraper_from_anywhere(tmp_path: Path) -> None:
    environ = {"GATEWAY_METRICS_TOKEN": "s3cret-scrape", "GATEWAY_METRICS_ALLOW_FROM": ""}
    async with (
        _app(tmp_path, **environ) as app,
        _client(app, "127.0.0.1") as local,
        _client(app, "198.51.100.7") as remote,
    ):
        # With allow_from emptied, even loopback needs the token.
        missing = await local.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401
        right = await remote.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
        assert right.status_code == 200
        assert "gateway_http_requests_total" in right.text
        assert "s3cret" not in right.text


async def test_metrics_can_be_switched_off(tmp_path: Path) -> None:
    async with _app(tmp_path, GATEWAY_METRICS="false") as app, _client(app) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_store_failures_and_the_open_circuit_are_counted(tmp_path: Path) -> None:
    # A store whose file cannot be opened: every call fails as unreachable.
    environ: Mapping[str, str] = {
        "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'internal.db'}",
        "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{tmp_path / 'community.db'}",
        "GATEWAY_STORE_BREAKER_FAILURES": "2",
        "GATEWAY_STORE_BREAKER_BACKOFF": "3600",
        "GATEWAY_DEV_ISSUER": "true",
        # Only the requests' calls: no background invariants check calling the store too.
        "GATEWAY_POLICY_INVARIANTS_CHECK_SECONDS": "0",
    }
    async with _app(tmp_path, **environ) as app, _client(app) as client:
        before = await _scrape(client)
        erin = app.state.services.dev_issuer.issue(
            email="erin@corp.example", name="Erin", roles=["employee"]
        )
        for _ in range(3):
            answer = (
                await client.post(
                    "/graphql", json=SPACES, headers={"Authorization": f"Bearer {erin}"}
                )
            ).json()
            codes = {e["extensions"]["code"] for e in answer["errors"]}
            assert codes == {"STORE_UNAVAILABLE"}
        after = await _scrape(client)
    failures = "gateway_store_call_failures_total"
    for reason in ("unreachable", "circuit_open"):
        assert _total(after, failures, store="internal", reason=reason) > _total(
            before, failures, store="internal", reason=reason
        )
    assert _total(after, failures, store="community") == _total(before, failures, store="community")
    assert _value(after, "gateway_store_circuit_state", store="internal", state="open") == 1
    assert _value(after, "gateway_store_circuit_state", store="community", state="closed") == 1


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GATEWAY_METRICS_ALLOW_FROM": "10.0.0.0/8,localhost"}, "GATEWAY_METRICS_ALLOW_FROM"),
        ({"GATEWAY_METRICS_MAX_OPERATION_NAMES": "0"}, "GATEWAY_METRICS_MAX_OPERATION_NAMES"),
        ({"GATEWAY_METRICS": "maybe"}, "GATEWAY_METRICS: expected true or false"),
        ({"GATEWAY_LOG_FORMAT": "xml"}, "GATEWAY_LOG_FORMAT: must be text or json"),
    ],
)
def test_bad_settings_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(environ=environ)


def test_settings_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[metrics]\nenabled = true\nallow_from = ["10.1.0.0/16", "::1"]\n'
        'max_operation_names = 7\n[logging]\nformat = "json"\n'
    )
    settings = Settings.load(config, environ={"GATEWAY_METRICS_TOKEN": "t"})
    assert [str(n) for n in settings.metrics_allow_from] == ["10.1.0.0/16", "::1/128"]
    assert settings.metrics_max_operation_names == 7
    assert settings.log_format == "json"
    assert settings.metrics_token == "t"
    assert "metrics_token='t'" not in repr(settings)


async def test_the_response_cache_is_counted(app: Starlette) -> None:
    query = {"query": "query Front { questions(first: 5) { edges { node { title } } } }"}
    async with _client(app) as client:
        before = await _scrape(client)
        for _ in range(3):
            answer = await client.post("/graphql", json=query)
            assert answer.status_code == 200 and "errors" not in answer.json()
        after = await _scrape(client)
    lookups = "gateway_response_cache_lookups_total"
    assert _value(after, lookups, result="miss") == _value(before, lookups, result="miss") + 1
    assert _value(after, lookups, result="hit") == _value(before, lookups, result="hit") + 2
    assert _value(after, "gateway_response_cache_entries") >= 1
    assert _value(after, "gateway_response_cache_bytes") > 0
    ops = "gateway_graphql_operations_total"
    labels = {"api": "public", "operation_type": "query", "operation_name": "Front"}
    for outcome, more in (("ok", 1), ("cached", 2)):
        counted = {**labels, "outcome": outcome, "persona": "guest"}
        assert _value(after, ops, **counted) == _value(before, ops, **counted) + more, outcome


async def test_an_operation_name_that_is_not_a_string_is_counted_as_invalid(
    app: Starlette,
) -> None:
    """``operationName`` is whatever JSON a client sends: never a server fault."""
    async with _client(app) as client:
        for name in (5, True, 1.5):
            answer = await client.post(
                "/graphql",
                json={"query": "{ viewer { id } }", "operationName": name},
                headers={"Accept": "application/graphql-response+json"},
            )
            assert answer.status_code == 400, answer.text
            assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
