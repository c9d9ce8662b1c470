"""Request ids and the log format: ``X-Request-ID`` on every request and response, and log
lines as text (the demo's default) or JSON (``logging.format = "json"``, for production).

* :func:`request_ids` wraps the app in asgi-correlation-id's middleware: an incoming
  ``X-Request-ID`` that :func:`valid_request_id` accepts is kept; one that is missing,
  too long or has other characters is replaced by a fresh id (the bad one is never
  echoed or logged). The response carries the id in ``X-Request-ID``.
* :func:`log_config` is the ``logging.config.dictConfig`` for ``gateway serve``, applied to
  the root logger (the gateway's ``gateway.*`` loggers propagate to it) and uvicorn's own
  (``uvicorn.error``, ``uvicorn.access``). In JSON every line is one object with
  ``time``, ``level``, ``logger``, ``message``, ``request_id`` (null outside a request)
  and ``exc_info`` when there is a traceback. The text format is the one it always was.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from asgi_correlation_id import CorrelationIdFilter, CorrelationIdMiddleware
from pythonjsonlogger.json import JsonFormatter
from starlette.middleware import Middleware
from uvicorn.config import LOGGING_CONFIG

if TYPE_CHECKING:
    import logging

__all__ = [
    "REQUEST_ID_HEADER",
    "json_formatter",
    "log_config",
    "request_id_filter",
    "request_ids",
    "valid_request_id",
]

REQUEST_ID_HEADER = "X-Request-ID"
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# Printable, no spaces or quotes: what proxies and tracers send (uuids, hex, base64).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:+/=-]{1,128}")


def valid_request_id(value: str) -> bool:
    """Whether an incoming ``X-Request-ID`` is kept: 1 to 128 of ``A-Z a-z 0-9 . _ ~ : + / = -``."""
    return _REQUEST_ID.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_ids() -> Middleware:
    """The middleware that gives each request (and websocket) its id."""
    return Middleware(
        CorrelationIdMiddleware,
        header_name=REQUEST_ID_HEADER,
        update_request_header=True,
        generator=new_request_id,
        validator=valid_request_id,
    )


def request_id_filter() -> logging.Filter:
    """Puts the current request's id on each record (``record.correlation_id``)."""
    return CorrelationIdFilter()


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id."""
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s %(correlation_id)s",
        rename_fields={"levelname": "level", "name": "logger", "correlation_id": "request_id"},
        timestamp="time",
    )


def log_config(log_format: str) -> dict[str, Any]:
    """The logging configuration of ``gateway serve`` (and uvicorn's, which it replaces):
    INFO and above on stderr, in ``log_format`` (``text`` or ``json``)."""
    if log_format != "json":
        # uvicorn's own format for its loggers, ours for the rest: as it always was.
        config: dict[str, Any] = {
            **LOGGING_CONFIG,
            "formatters": {**LOGGING_CONFIG["formatters"], "gateway": {"format": TEXT_FORMAT}},
            "handlers": {
                **LOGGING_CONFIG["handlers"],
                "gateway": {
                    "class": "logging.StreamHandler",
                    "formatter": "gateway",
                    "stream": "ext://sys.stderr",
                },
            },
        }
        config["root"] = {"level": "INFO", "handlers": ["gateway"]}
        return config
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": request_id_filter}},
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["json"]},
        # uvicorn's loggers, through the root's handler (theirs would print text).
        "loggers": {
            name: {"level": "INFO", "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
