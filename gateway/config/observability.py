"""The operators' settings: ``/metrics`` (who may scrape it) and the log format.

Merged into the settings table (``SPEC`` in :mod:`gateway.config.settings`); the metrics
token comes from the environment only (``GATEWAY_METRICS_TOKEN``), never the file.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from gateway.config.values import _bool, _int

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LOG_FORMATS", "LOOPBACK", "METRICS_TOKEN_ENV", "OBSERVABILITY_SPEC", "Network"]

METRICS_TOKEN_ENV = "GATEWAY_METRICS_TOKEN"  # noqa: S105 (a variable name, not a secret)
LOG_FORMATS = ("text", "json")
TRACING_EXPORTERS = ("otlp", "console", "global")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


def _networks(value: Any) -> tuple[Network, ...]:
    """Addresses or networks (``10.0.0.0/8``): a TOML list, or comma-separated; empty: none."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"expected a list of addresses or networks, got {value!r}")
    found = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an address or network such as 10.0.0.0/8: {item!r}") from None
    return tuple(found)


def _exporter(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in TRACING_EXPORTERS:
        raise ValueError(f"must be one of {', '.join(TRACING_EXPORTERS)}, not {value!r}")
    return text


def _log_format(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in LOG_FORMATS:
        raise ValueError(f"must be text or json, not {value!r}")
    return text


# name: (TOML key, environment variable, parser, default), as in SPEC.
OBSERVABILITY_SPEC: dict[str, tuple[str, str, Callable[[Any], Any], Any]] = {
    # GET /metrics (Prometheus text format); off: no route at all.
    "metrics_enabled": ("metrics.enabled", "GATEWAY_METRICS", _bool, True),
    # Clients answered without a token. Behind a proxy on the same host, requests arrive
    # from loopback unless it sends X-Forwarded-For: set a token and block /metrics there.
    "metrics_allow_from": ("metrics.allow_from", "GATEWAY_METRICS_ALLOW_FROM", _networks, LOOPBACK),
    # Distinct GraphQL operation names with a series of their own (later ones: _other).
    "metrics_max_operation_names": (
        "metrics.max_operation_names",
        "GATEWAY_METRICS_MAX_OPERATION_NAMES",
        _int,
        100,
    ),
    # "text" (the demo's default) or "json": one JSON object per line, with request_id.
    "log_format": ("logging.format", "GATEWAY_LOG_FORMAT", _log_format, "text"),
    # OpenTelemetry tracing (gateway/runtime/tracing.py; the otel extra): off by default.
    "tracing_enabled": ("tracing.enabled", "GATEWAY_TRACING", _bool, False),
    "tracing_exporter": ("tracing.exporter", "GATEWAY_TRACING_EXPORTER", _exporter, "otlp"),
}
