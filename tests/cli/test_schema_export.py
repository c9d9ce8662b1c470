"""``gateway schema export`` and ``gateway.schema:schema``: the SDL a code generator reads is
the schema the gateway serves, as introspection shows it over HTTP."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from graphql import (
    GraphQLScalarType,
    GraphQLSchema,
    build_client_schema,
    build_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)

from gateway.cli import main
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.schema import DATE_TIME

if TYPE_CHECKING:
    import pytest

INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)


def _export(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["schema", "export", *args]) == 0
    return capsys.readouterr().out


def _canonical(schema: GraphQLSchema) -> str:
    return print_schema(lexicographic_sort_schema(schema))


async def _introspect(tmp_path: Path, path: str, headers: dict[str, str] | None = None) -> Any:
    app = create_app(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")}))
    async with app.router.lifespan_context(app):
        if headers is None:
            issuer = app.state.services.dev_issuer
            sam = issuer.issue(
                email="sam@corp.example", name="Sam", roles=["employee", "security_admin"]
            )
            headers = {"Authorization": f"Bearer {sam}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            answer = await c.post(path, json={"query": INTROSPECTION}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def test_the_exported_sdl_is_the_served_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdl = _export(capsys)
    exported = build_schema(sdl)  # graphql-core parses it: a code generator can
    served = build_client_schema(await _introspect(tmp_path, "/graphql", headers={}))
    assert _canonical(exported) == _canonical(served)
    assert {"Query", "Mutation", "Subscription", "Space", "DateTime"} <= set(exported.type_map)
    assert "AdminQuery" not in exported.type_map
    # A client's code generator (and its developer) can read what a DateTime holds.
    date_time = served.type_map["DateTime"]
    assert isinstance(date_time, GraphQLScalarType)
    assert date_time.specified_by_url == "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
    assert date_time.description is not None and "UTC offset" in date_time.description


def test_a_date_time_always_carries_its_offset() -> None:
    moment = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert DATE_TIME.serialize is not None
    assert DATE_TIME.serialize(moment) == "2026-05-01T09:30:00+00:00"
    assert DATE_TIME.serialize(moment.replace(tzinfo=None)) == "2026-05-01T09:30:00+00:00"
    later = moment.astimezone(timezone(timedelta(hours=2)))
    assert DATE_TIME.serialize(later) == "2026-05-01T11:30:00+02:00"


async def test_the_admin_export_is_the_admin_apis_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = build_schema(_export(capsys, "--admin"))
    served = build_client_schema(await _introspect(tmp_path, "/admin/graphql"))
    assert _canonical(exported) == _canonical(served)
    assert exported.query_type is not None and exported.query_type.name == "AdminQuery"
    assert "Space" not in exported.type_map


def test_output_writes_the_same_text_to_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = _export(capsys)
    target = tmp_path / "schema.graphql"
    assert main(["schema", "export", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == printed
    assert printed.endswith("}\n") and not printed.endswith("\n\n")
    assert capsys.readouterr().err == f"wrote the public schema to {target}\n"


def test_output_into_a_directory_or_nowhere_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "export", "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"gateway: --output {tmp_path}: is a directory; name a file\n"
    )
    missing = tmp_path / "no" / "such" / "schema.graphql"
    assert main(["schema", "export", "-o", str(missing)]) == 2
    assert capsys.readouterr().err.startswith("gateway: No such file or directory")


def test_a_bad_config_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[graphql]\nmax_depth = 0\n")
    assert main(["schema", "export", "--config", str(config)]) == 2
    assert "configuration error: graphql.max_depth" in capsys.readouterr().err


def test_the_module_level_schema_is_built_lazily_and_opens_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What ``strawberry export-schema gateway.schema:schema`` does (its symbol lookup and
    printer), in a fresh interpreter in an empty directory: importing builds nothing,
    asking builds the exported schema, and no file (no .gateway, no database) appears."""
    script = (
        "import gateway.schema as m\n"
        "assert m._default is None, 'built on import'\n"
        "from strawberry.utils.importer import import_module_symbol\n"
        "from strawberry.printer import print_schema\n"
        "schema = import_module_symbol('gateway.schema:schema')\n"
        "assert schema is import_module_symbol('gateway.schema', 'schema')\n"
        "print(print_schema(schema))\n"
        "try:\n"
        "    m.nothing\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    work = tmp_path / "empty"
    work.mkdir()
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "GATEWAY_DATA_DIR": str(work / "data")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == _export(capsys) + "module 'gateway.schema' has no attribute 'nothing'\n"
    assert list(work.iterdir()) == []


COMMITTED = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_the_committed_schema_file_is_the_export(capsys: pytest.CaptureFixture[str]) -> None:
    """schema.graphql at the repository root is what the gateway serves, so a schema change
    shows in review as a change to that file."""
    exported = _export(capsys)
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert committed == exported, (
        "schema.graphql is not the schema the gateway serves; regenerate it with "
        "`gateway schema export --output schema.graphql` and commit the change"
    )


async def _get_sdl(tmp_path: Path, environ: dict[str, str]) -> httpx.Response:
    app = create_app(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), **environ}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            return await c.get("/graphql/schema.graphql")


async def test_the_schema_file_is_served_while_introspection_is_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = await _get_sdl(tmp_path, {})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == _export(capsys)
    build_schema(answer.text)  # what a code generator fetching it by URL parses


async def test_the_schema_file_is_not_found_while_introspection_is_off(tmp_path: Path) -> None:
    answer = await _get_sdl(tmp_path, {"GATEWAY_INTROSPECTION": "false"})
    assert answer.status_code == 404
    body = answer.json()
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "type Query" not in answer.text
