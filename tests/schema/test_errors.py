"""Errors over HTTP as a client meets them: one failing field never fails the request,
and every error names its code."""

from __future__ import annotations

import base64
import json
import logging
from typing import TYPE_CHECKING

import httpx
import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.schema.extensions import MaskInternalErrors, NameErrorCodes
from gateway.schema.handling import Schema

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from starlette.applications import Starlette

    from gateway.identity.dev_issuer import DevIssuer

COMMUNITY_QUESTION = "UXVlc3Rpb246Y29tbXVuaXR5OjE="  # Question:community:1


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


async def test_a_failing_field_beside_one_sharing_its_lookup_is_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    """``a.answers`` fails (first: 0) inside a non-null field while ``b.space`` waits on the
    same space lookup as ``a.space``: graphql-core cancels ``a.space``, and that used to
    cancel the lookup ``b`` waited on too (HTTP 500)."""
    query = f"""{{
      a: question(id: "{COMMUNITY_QUESTION}") {{
        space {{ id }} answers(first: 0) {{ edges {{ node {{ id }} }} }} }}
      b: question(id: "{COMMUNITY_QUESTION}") {{ space {{ id }} }} }}"""
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["a"] is None
    assert body["data"]["b"]["space"]["id"]
    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        (["a", "answers"], "first must be between 1 and 100, got 0")
    ]


MANY_ALIASES = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(60)) + " }"
TOO_DEEP = "{ viewer { id } " + "spaces { edges { node { questions { edges { node { space { " * 3
TOO_DEEP += "id" + " } } } } } } }" * 3 + " }"
FIRST = "query($f: Int!) { questions(first: $f) { edges { node { id } } } }"

# (what is wrong, request body) -> the code of every error in the answer
CODES = [
    ("not GraphQL", {"query": "{ viewer { id "}, "GRAPHQL_PARSE_FAILED"),
    ("an empty selection", {"query": "{ viewer { } }"}, "GRAPHQL_PARSE_FAILED"),
    ("no such field", {"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
    ("a bad id", {"query": '{ node(id: "zz") { id } }'}, "BAD_USER_INPUT"),
    (
        "a bad cursor",
        {"query": '{ questions(after: "zz") { edges { cursor } } }'},
        "BAD_USER_INPUT",
    ),
    ("out of range", {"query": "{ questions(first: 0) { edges { cursor } } }"}, "BAD_USER_INPUT"),
    ("a missing variable", {"query": FIRST, "variables": {}}, "BAD_USER_INPUT"),
    ("a variable of the wrong type", {"query": FIRST, "variables": {"f": "x"}}, "BAD_USER_INPUT"),
    ("too many aliases", {"query": MANY_ALIASES}, "QUERY_TOO_COMPLEX"),
    ("too many tokens", {"query": "{ viewer { " + "id " * 3000 + "} }"}, "QUERY_TOO_COMPLEX"),
]


@pytest.mark.parametrize(("case", "body", "code"), CODES, ids=[c[0] for c in CODES])
async def test_every_error_names_its_code(
    client: httpx.AsyncClient, case: str, body: dict[str, object], code: str
) -> None:
    response = await client.post("/graphql", json=body)
    assert response.status_code < 500
    errors = response.json()["errors"]
    assert errors, case
    assert {e["extensions"]["code"] for e in errors} == {code}
    assert all(e["message"] != "Unexpected error." for e in errors), "a client error is masked"


async def test_a_missing_variable_says_which(client: httpx.AsyncClient) -> None:
    errors = (await client.post("/graphql", json={"query": FIRST, "variables": {}})).json()[
        "errors"
    ]
    assert errors[0]["message"] == (
        "Variable '$f' has invalid value: Expected a value of non-null type 'Int!' to be provided."
    )


async def test_the_depth_limit_says_too_complex(client: httpx.AsyncClient) -> None:
    errors = (await client.post("/graphql", json={"query": TOO_DEEP})).json()["errors"]
    codes = {e["message"]: e["extensions"]["code"] for e in errors}
    depth = [m for m in codes if "exceeds maximum operation depth" in m]
    assert depth and {codes[m] for m in depth} == {"QUERY_TOO_COMPLEX"}
    assert set(codes.values()) <= {"QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED"}


async def test_refusals_before_graphql_name_their_code(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """The 401s and 403s answered before GraphQL runs are shaped and coded like its errors."""
    issuer: DevIssuer = app.state.services.dev_issuer
    employee = issuer.issue(email="erin@corp.example", name="Erin", roles=["employee"])
    query = {"query": "{ policy { number } }"}
    answers = {
        "forged token": await client.post(
            "/graphql", json=query, headers={"Authorization": "Bearer not.a.token"}
        ),
        "admin API, no credentials": await client.post("/admin/graphql", json=query),
        "admin API, not an admin": await client.post(
            "/admin/graphql", json=query, headers={"Authorization": f"Bearer {employee}"}
        ),
    }
    assert {
        case: (r.status_code, r.json()["errors"][0]["extensions"]) for case, r in answers.items()
    } == {
        "forged token": (401, {"code": "UNAUTHENTICATED"}),
        "admin API, no credentials": (401, {"code": "UNAUTHENTICATED"}),
        "admin API, not an admin": (403, {"code": "FORBIDDEN"}),
    }


async def test_admin_api_errors_name_their_code(app: Starlette, client: httpx.AsyncClient) -> None:
    issuer: DevIssuer = app.state.services.dev_issuer
    admin = issuer.issue(email="sam@corp.example", name="Sam", roles=["employee", "security_admin"])
    headers = {"Authorization": f"Bearer {admin}"}
    for body, code in [
        ({"query": "{ policy { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "{ policyVersions(first: 0) { number } }"}, "BAD_USER_INPUT"),
        ({"query": "{ policy "}, "GRAPHQL_PARSE_FAILED"),
    ]:
        response = await client.post("/admin/graphql", json=body, headers=headers)
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code], body


# --- faults of the server: masked, coded, logged with their traceback ----------------------
@strawberry.type
class _Query:
    @strawberry.field
    def fine(self) -> int:
        return 1

    @strawberry.field
    def broken(self) -> int | None:
        raise RuntimeError("secret detail of a server fault")


class _BrokenRule(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        raise RuntimeError("secret detail of a broken extension")
        yield  # pragma: no cover


def _schema(*extra: type[SchemaExtension]) -> Schema:
    return Schema(query=_Query, extensions=[NameErrorCodes, MaskInternalErrors, *extra])


async def test_a_server_fault_is_masked_coded_and_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        result = await _schema().execute("{ fine broken }")
    assert result.data == {"fine": 1, "broken": None}
    assert [(e.message, e.extensions) for e in result.errors or []] == [
        ("Unexpected error.", {"code": "INTERNAL_SERVER_ERROR"})
    ]
    faults = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(faults) == 1 and faults[0].exc_info is not None


async def test_an_extension_that_fails_is_masked_too() -> None:
    """An exception escaping an extension skips the extensions' post-processing; the
    schema's last pass still masks and codes it."""
    result = await _schema(_BrokenRule).execute("{ fine }")
    assert [(e.message, e.extensions) for e in result.errors or []] == [
        ("Unexpected error.", {"code": "INTERNAL_SERVER_ERROR"})
    ]


async def test_client_errors_are_one_info_line_without_a_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for _case, body, _code in CODES:
            await client.post("/graphql", json=body)
    graphql = [r for r in caplog.records if r.name in {"gateway.graphql", "strawberry.execution"}]
    assert graphql, "client errors are still logged"
    assert {(r.levelno, r.exc_info) for r in graphql} == {(logging.INFO, None)}
    assert len(graphql) <= len(CODES) + 2  # one line per error (the depth case has two)


def _opaque(number: str) -> str:
    """A cursor of the gateway's opaque shape around ``number``."""
    raw = json.dumps({"n": number}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["¹", "9" * 40, "-1", "12", _opaque("¹"), _opaque("9" * 40), _opaque("-1"), _opaque("")],
)
async def test_a_notification_cursor_that_is_no_number_is_bad_input(
    app: Starlette, client: httpx.AsyncClient, cursor: str
) -> None:
    """'¹' passed str.isdigit() and then failed int(): found by the fuzz run."""
    issuer: DevIssuer = app.state.services.dev_issuer
    token = issuer.issue(email="paula@partner.example", name="Paula", roles=["partner"])
    query = "query($a: String) { notifications(after: $a) { edges { cursor } } }"
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": {"a": cursor}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]
