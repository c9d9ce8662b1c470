"""OpenTelemetry tracing, an optional extra (``pip install .[otel]``), off by default.

With ``tracing.enabled`` every HTTP request gets a server span (the ASGI instrumentation,
:mod:`gateway.http.tracing`) and every GraphQL operation spans of its own below it
(strawberry's ``OpenTelemetryExtension``: parsing, validation, each resolver). Spans go to
the exporter ``tracing.exporter`` names:

* ``otlp``: OTLP over HTTP, configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables
  (``OTEL_EXPORTER_OTLP_ENDPOINT``, default ``http://localhost:4318``);
* ``console``: one JSON object per span on standard output (for trying it out);
* ``global``: whatever tracer provider the process has, e.g. one set up by
  ``opentelemetry-instrument`` or by an embedding application.

The service is named by ``OTEL_SERVICE_NAME`` (default ``gateway``). Span attributes are
the instrumentations' own (route, status, operation name and type); resolver arguments
are not recorded, as they may carry content.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["TracingUnavailable", "tracer_provider"]

_providers: dict[str, Any] = {}


class TracingUnavailable(RuntimeError):
    """Tracing is on but the extra is not installed; the message says what to install."""


def tracer_provider(settings: Settings) -> Any | None:
    """The tracer provider spans go to (one per exporter, per process); None for the
    process's global one. Raises :class:`TracingUnavailable` without the extra."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as exc:
        raise TracingUnavailable(
            f"tracing.enabled needs the otel extra: pip install '.[otel]' ({exc.name} is missing)"
        ) from None
    kind = settings.tracing_exporter
    if kind == "global":
        return None
    if kind not in _providers:
        if kind == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError as exc:
                raise TracingUnavailable(
                    "tracing.exporter = otlp needs the otel extra: pip install '.[otel]' "
                    f"({exc.name} is missing)"
                ) from None
            exporter: Any = OTLPSpanExporter()
        else:
            exporter = ConsoleSpanExporter()
        name = os.environ.get("OTEL_SERVICE_NAME") or "gateway"
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        _providers[kind] = provider
    return _providers[kind]
