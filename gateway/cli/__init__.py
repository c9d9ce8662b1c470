"""The ``gateway`` command: serve, dev-token, policy explain|validate|impact|export,
access-report [--who], access revoke|restore|sessions, documents add|list|remove,
schema export, content prune."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from gateway.cli import access, content, documents, policy, reports, schema, serve
from gateway.cli.common import UsageError, demo_principal
from gateway.config import ConfigError
from gateway.http.server import WS_IMPLEMENTATION
from gateway.policies.policy import PolicyError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["WS_IMPLEMENTATION", "demo_principal", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
    except PolicyError as exc:
        print(f"gateway: policy error in {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
    except UsageError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
    except SQLAlchemyError as exc:
        # A store or the records database cannot be reached or read: one line, no traceback.
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"gateway: database error: {detail}", file=sys.stderr)
    except OSError as exc:
        # e.g. a data directory that cannot be created or a key file that cannot be read
        where = f": {exc.filename}" if exc.filename else ""
        print(f"gateway: {exc.strerror or exc}{where}", file=sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    sub = parser.add_subparsers(metavar="COMMAND")
    # Each command group adds its own; in the order `gateway --help` has always listed them.
    serve.add_serve(sub)
    reports.add_access_report(sub)
    serve.add_dev_token(sub)
    policy.add_policy(sub)
    access.add_access(sub)
    documents.add_documents(sub)
    schema.add_schema(sub)
    content.add_content(sub)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
