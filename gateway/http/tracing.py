"""The ASGI layer of OpenTelemetry tracing (see :mod:`gateway.runtime.tracing`): a server
span per HTTP request, health and metrics endpoints left out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.middleware import Middleware

from gateway.runtime.tracing import tracer_provider

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["tracing_middleware"]

# Probes and scrapes would drown the traces that matter.
EXCLUDED_URLS = "/healthz,/readyz,/metrics"


def tracing_middleware(settings: Settings) -> list[Middleware]:
    """The instrumentation's middleware, or none when tracing is off."""
    if not settings.tracing_enabled:
        return []
    provider = tracer_provider(settings)
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return [
        Middleware(
            OpenTelemetryMiddleware,
            excluded_urls=EXCLUDED_URLS,
            tracer_provider=provider,
        )
    ]
