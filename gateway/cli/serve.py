"""``gateway serve`` (run the gateway) and ``gateway dev-token`` (a bearer token for a demo
user)."""

from __future__ import annotations

import asyncio
import contextlib
import logging.config
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli.common import UsageError, demo_principal
from gateway.config import Settings

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from starlette.applications import Starlette

__all__ = ["add_dev_token", "add_serve", "prepare_for_workers", "worker_app"]

# With --workers, each worker builds its own app (uvicorn starts them afresh) from this
# import string, reading the configuration file's path from this variable.
WORKER_APP = "gateway.cli.serve:worker_app"
WORKER_CONFIG_ENV = "GATEWAY_SERVE_CONFIG_FILE"
# prometheus-client's multiprocess mode: each worker writes its counters to files there,
# and the worker that answers /metrics sums them all.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway serve``."""
    serve = sub.add_parser("serve", help="run the gateway (zero-config: SQLite demo)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--config", metavar="FILE", help="TOML configuration file")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes on the one port (default 1; e.g. one per core)",
    )
    serve.set_defaults(run=_serve)


def add_dev_token(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway dev-token``."""
    token = sub.add_parser("dev-token", help="print a bearer token for a demo user")
    token.add_argument("email")
    token.add_argument(
        "--role", action="append", default=[], help="persona(s) for a non-demo email"
    )
    token.add_argument("--config", metavar="FILE")
    token.set_defaults(run=_dev_token)


def _serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    settings = Settings.load(args.config)
    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    with _metrics_directory(args.workers):
        return _serve_with(args, settings)


def _serve_with(args: argparse.Namespace, settings: Settings) -> int:
    # Imported once the metrics directory is set: prometheus-client reads it at import.
    from gateway.http.app import create_app
    from gateway.http.logs import log_config
    from gateway.http.server import serve

    logging_config = log_config(settings.log_format)
    logging.config.dictConfig(logging_config)
    if settings.dev_issuer:
        print(
            "WARNING: the development issuer is enabled: anyone on this machine can mint a "
            "token for any persona with `gateway dev-token`. Disable it "
            "(GATEWAY_DEV_ISSUER=false) anywhere but a demo.",
            file=sys.stderr,
        )
    cookie_warning = settings.plain_http_cookie_warning(f"http://{args.host}:{args.port}")
    if cookie_warning:
        print(f"WARNING: {cookie_warning}", file=sys.stderr)
    app: Starlette | str = WORKER_APP
    if args.workers == 1:
        app = create_app(settings, freeze_heap=True)
    else:
        prepare_for_workers(settings)
        if args.config is None:
            os.environ.pop(WORKER_CONFIG_ENV, None)
        else:
            os.environ[WORKER_CONFIG_ENV] = str(args.config)
    workers = f" ({args.workers} workers)" if args.workers > 1 else ""
    print(
        f"gateway: serving GraphQL on http://{args.host}:{args.port}/graphql{workers}",
        file=sys.stderr,
    )
    serve(
        app,
        host=args.host,
        port=args.port,
        shutdown_timeout=settings.shutdown_timeout,
        max_message_bytes=settings.max_body_bytes,
        workers=args.workers,
        log_config=logging_config,
    )
    return 0


@contextlib.contextmanager
def _metrics_directory(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory for their metrics while the server runs:
    the operator's ``PROMETHEUS_MULTIPROC_DIR`` (emptied first: counts of an earlier run
    must not add up with this one's), else a temporary one, removed afterwards."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield
        return
    if workers == 1:
        yield  # one process: its metrics stay in memory
        return
    made = tempfile.mkdtemp(prefix="gateway-metrics-")
    os.environ[MULTIPROC_ENV] = made
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(made, ignore_errors=True)


def worker_app() -> Starlette:
    """The app of one worker of ``gateway serve --workers N``: the same settings, read
    again in the worker's own process."""
    from gateway.http.app import create_app
    from gateway.http.logs import log_config

    settings = Settings.load(os.environ.get(WORKER_CONFIG_ENV))
    logging.config.dictConfig(log_config(settings.log_format))
    return create_app(settings, freeze_heap=True)


def prepare_for_workers(settings: Settings) -> None:
    """Once, before the workers start, what each would otherwise race the others to create
    on a first start: the development issuer's key, the session secret, the stores' schemas
    (and the demo data), the records' schema. Each worker then finds them made."""
    from gateway.http.app import build_services, prepare_stores
    from gateway.identity.session import session_secret

    session_secret(settings)
    services = build_services(settings)  # the development issuer's key, when it is on

    async def prepare() -> None:
        try:
            await prepare_stores(services)
        finally:
            await services.close()

    asyncio.run(prepare())


def _dev_token(args: argparse.Namespace) -> int:
    from gateway.identity.dev_issuer import DevIssuer

    settings = Settings.load(args.config)
    if not settings.dev_issuer:
        raise UsageError(
            "the development issuer is disabled in this configuration (identity.dev_issuer)"
        )
    principal = demo_principal(args.email, args.role)
    issuer = DevIssuer.open(settings.data_dir)
    print(
        issuer.issue(
            email=principal.email or args.email,
            name=principal.display_name,
            roles=sorted(principal.roles),
            organisation=principal.organisation,
        )
    )
    return 0
