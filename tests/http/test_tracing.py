"""OpenTelemetry tracing (the otel extra), through the real app over HTTP, with the SDK's
in-memory exporter as the process's tracer provider (``tracing.exporter = global``)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.config import ConfigError, Settings
from gateway.http.app import create_app

trace = pytest.importorskip("opentelemetry.trace", reason="the otel extra is not installed")
sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette

EXPORTER = InMemorySpanExporter()
SEARCH = {
    "query": 'query Look { search(text: "confidential-needle", first: 2) { edges { cursor } } }',
    "operationName": "Look",
}


@pytest.fixture(scope="module", autouse=True)
def provider() -> None:
    """The process's tracer provider, set once (OpenTelemetry allows no second one)."""
    current = trace.get_tracer_provider()
    if not isinstance(current, sdk_trace.TracerProvider):
        installed = sdk_trace.TracerProvider()
        installed.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(installed)


@contextlib.asynccontextmanager
async def served(tmp_path: Path, **environ: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), **environ})
    application: Starlette = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield c


async def test_tracing_is_off_by_default(tmp_path: Path) -> None:
    assert Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)}).tracing_enabled is False
    EXPORTER.clear()
    async with served(tmp_path) as client:
        answer = await client.post("/graphql", json=SEARCH)
        assert answer.status_code == 200
    assert EXPORTER.get_finished_spans() == ()


async def test_a_request_and_its_operation_are_traced(tmp_path: Path) -> None:
    EXPORTER.clear()
    on = {"GATEWAY_TRACING": "true", "GATEWAY_TRACING_EXPORTER": "global"}
    async with served(tmp_path, **on) as client:
        answer = await client.post("/graphql", json=SEARCH)
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        spans = EXPORTER.get_finished_spans()
        EXPORTER.clear()
        assert (await client.get("/healthz")).status_code == 200
        assert EXPORTER.get_finished_spans() == ()  # probes are not traced
    server = [s for s in spans if s.instrumentation_scope.name.endswith(".asgi")]
    request = next(s for s in server if s.parent is None)
    assert request.attributes["http.target"] == "/graphql"
    assert request.attributes["http.status_code"] == 200
    # strawberry's operation span, below the request's, with the operation's name.
    operation = next(s for s in spans if s.name == "GraphQL Query: Look")
    assert operation.parent is not None
    assert operation.parent.span_id == request.context.span_id
    assert operation.context.trace_id == request.context.trace_id
    resolved = [s for s in spans if s.name == "GraphQL Resolving: search"]
    assert resolved and resolved[0].parent.span_id == operation.context.span_id
    # The query text and the arguments may carry content: no span records them.
    for span in spans:
        assert "confidential-needle" not in repr(dict(span.attributes or {})), span.name


def test_tracing_settings(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[tracing]\nenabled = true\nexporter = "console"\n')
    settings = Settings.load(config, environ={"GATEWAY_DATA_DIR": str(tmp_path)})
    assert (settings.tracing_enabled, settings.tracing_exporter) == (True, "console")
    with pytest.raises(ConfigError, match="GATEWAY_TRACING_EXPORTER: must be one of"):
        Settings.load(environ={"GATEWAY_TRACING_EXPORTER": "zipkin"})
