"""``gateway serve`` (run the gateway) and ``gateway dev-token`` (a bearer token for a demo
user)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from gateway.cli.common import UsageError, demo_principal
from gateway.config import Settings

if TYPE_CHECKING:
    import argparse

__all__ = ["add_dev_token", "add_serve"]


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway serve``."""
    serve = sub.add_parser("serve", help="run the gateway (zero-config: SQLite demo)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--config", metavar="FILE", help="TOML configuration file")
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
    from gateway.http.app import create_app
    from gateway.http.server import serve

    settings = Settings.load(args.config)
    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
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
    app = create_app(settings, freeze_heap=True)
    print(f"gateway: serving GraphQL on http://{args.host}:{args.port}/graphql", file=sys.stderr)
    serve(
        app,
        host=args.host,
        port=args.port,
        shutdown_timeout=settings.shutdown_timeout,
        max_message_bytes=settings.max_body_bytes,
    )
    return 0


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
