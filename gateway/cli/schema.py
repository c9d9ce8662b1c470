"""``gateway schema export``: the GraphQL schema as SDL, the file client code generators
(graphql-codegen, Apollo's and Relay's compilers) read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli.common import UsageError
from gateway.config import Settings

if TYPE_CHECKING:
    import argparse

__all__ = ["add_schema", "export_sdl"]


def add_schema(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway schema export``."""
    schema = sub.add_parser("schema", help="the GraphQL schema: export it as SDL")
    commands = schema.add_subparsers(metavar="COMMAND")
    export = commands.add_parser(
        "export",
        help="print the public schema's SDL (or the admin API's, with --admin)",
        description="The SDL of the schema served at /graphql, exactly what introspection "
        "shows: the same text `strawberry export-schema gateway.schema:schema` prints. "
        "Nothing is opened: no store, no records database.",
    )
    export.add_argument(
        "--admin", action="store_true", help="the admin API's schema (/admin/graphql) instead"
    )
    export.add_argument(
        "--output", "-o", metavar="FILE", help="write it to FILE instead of standard output"
    )
    export.add_argument("--config", metavar="FILE")
    export.set_defaults(run=_export)


def export_sdl(settings: Settings, *, admin: bool = False) -> str:
    """The schema's SDL, ending in a newline."""
    from strawberry.printer import print_schema

    from gateway.schema import build_admin_schema, build_schema

    schema = build_admin_schema(settings) if admin else build_schema(settings)
    return print_schema(schema) + "\n"


def _export(args: argparse.Namespace) -> int:
    sdl = export_sdl(Settings.load(args.config), admin=args.admin)
    if args.output is None:
        sys.stdout.write(sdl)
        return 0
    output = Path(args.output)
    if output.is_dir():
        raise UsageError(f"--output {output}: is a directory; name a file")
    output.write_text(sdl, encoding="utf-8")
    print(f"wrote the {'admin' if args.admin else 'public'} schema to {output}", file=sys.stderr)
    return 0
