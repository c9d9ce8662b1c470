"""The admin GraphQL API over real HTTP in-process: security admins only, nothing shown to
anyone else; changes previewed, applied against a version, audited and rolled back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gateway.cli import demo_principal
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.schema import build_admin_schema
from tests.personas import PERSONAS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

    from gateway.runtime.services import Services

GRANT = "p, partner, internal/open/*, space, read, allow"
ADMIN = "p, security_admin, *, policy, administer, allow"
SPACES = "{ spaces(first: 50) { edges { node { name } } } }"
ADMIN_SCHEMA = build_admin_schema(Settings.load(environ={}))
ROOT_FIELDS = sorted(
    [f"query:{name}" for name in ADMIN_SCHEMA._schema.query_type.fields]
    + [f"mutation:{name}" for name in ADMIN_SCHEMA._schema.mutation_type.fields]
)


@pytest.fixture
async def app(services: Services) -> AsyncIterator[Starlette]:
    application = create_app(services.settings, services)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


def _token(app: Starlette, email: str) -> dict[str, str]:
    person = demo_principal(email, ())
    token = app.state.services.dev_issuer.issue(
        email=email, name=person.display_name, roles=sorted(person.roles)
    )
    return {"Authorization": f"Bearer {token}"}


async def _admin(
    client: httpx.AsyncClient, app: Starlette, query: str, who: str = "sam@corp.example", **v: Any
) -> dict[str, Any]:
    response = await client.post(
        "/admin/graphql", json={"query": query, "variables": v}, headers=_token(app, who)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


APPLY = """mutation($add: [String!]!, $remove: [String!]!, $v: Int!, $why: String) {
  applyPolicyChange(input: {add: $add, remove: $remove, expectedVersion: $v, reason: $why}) {
    version { number actor kind reason sha256 }
    preview { acceptable refusals added removed summary { text } }
    errors { code message field }
  }
}"""


@pytest.mark.backend
async def test_a_security_admin_previews_applies_and_sees_the_change_audited(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    paula = _token(app, "paula@partner.example")

    async def paula_sees() -> set[str]:
        response = await client.post("/graphql", json={"query": SPACES}, headers=paula)
        return {e["node"]["name"] for e in response.json()["data"]["spaces"]["edges"]}

    assert "Engineering" not in await paula_sees()  # paula is known now (she asked)
    data = await _admin(
        client,
        app,
        '{ policy { number kind } policyLines(filter: {subject: "partner"}) { line kind text } }',
    )
    assert data["policy"] == {"number": 1, "kind": "initial"}
    assert {x["text"] for x in data["policyLines"]} >= {"g, partner, guest, *"}
    assert all("partner" in x["text"] for x in data["policyLines"])

    preview = (
        await _admin(
            client,
            app,
            "query($add: [String!]) { simulatePolicyChange(add: $add) { baseVersion acceptable "
            "added summary { text change } changes { principal target change } changesTotal } }",
            add=[GRANT],
        )
    )["simulatePolicyChange"]
    assert preview["acceptable"] and preview["baseVersion"] == 1 and preview["added"] == [GRANT]
    assert "2 partners gain read on 2 internal spaces" in {s["text"] for s in preview["summary"]}
    assert {c["principal"] for c in preview["changes"]} == {
        "user:paula@partner.example",
        "persona:partner",
    }
    assert "Engineering" not in await paula_sees()  # a preview changes nothing

    applied = (await _admin(client, app, APPLY, add=[GRANT], remove=[], v=1, why="pilot"))[
        "applyPolicyChange"
    ]
    assert applied["errors"] == []
    assert applied["version"] | {"sha256": None} == {
        "number": 2,
        "actor": "user:sam@corp.example",
        "kind": "apply",
        "reason": "pilot",
        "sha256": None,
    }
    assert "Engineering" in await paula_sees()

    log = (
        await _admin(
            client,
            app,
            '{ auditLog(filter: {action: "policy_apply"}, first: 5) { entries { actor outcome '
            "target detail } hasNextPage } }",
        )
    )["auditLog"]
    [entry] = log["entries"]
    assert (entry["actor"], entry["outcome"], entry["target"]) == (
        "user:sam@corp.example",
        "ok",
        "policy v2",
    )
    assert entry["detail"]["added"] == [GRANT] and entry["detail"]["before"]["version"] == 1
    assert entry["detail"]["version"] == 2

    # Mia reviewed against version 1 too: her change is refused, not applied over sam's.
    stale = (
        await _admin(
            client,
            app,
            APPLY,
            who="mia@corp.example" if _is_admin("mia@corp.example") else "sam@corp.example",
            add=["p, contractor, internal/shared/*, space, read, allow"],
            remove=[],
            v=1,
        )
    )["applyPolicyChange"]
    assert stale["version"] is None
    assert [e["code"] for e in stale["errors"]] == ["CONFLICT"]
    assert stale["errors"][0]["field"] == "expectedVersion"

    bad = (
        await _admin(client, app, APPLY, add=["p, partner, *, space, raed"], remove=[ADMIN], v=2)
    )["applyPolicyChange"]
    assert bad["version"] is None and {e["code"] for e in bad["errors"]} == {"INVALID"}
    assert "unknown action 'raed'" in " ".join(e["message"] for e in bad["errors"])
    lockout = (await _admin(client, app, APPLY, add=[], remove=[ADMIN], v=2))["applyPolicyChange"]
    assert lockout["version"] is None and not lockout["preview"]["acceptable"]
    assert "administer" in lockout["errors"][0]["message"]

    rollback = (
        await _admin(
            client,
            app,
            'mutation { rollbackPolicy(input: {toVersion: 1, expectedVersion: 2, reason: "undo"})'
            " { version { number kind } errors { code } } }",
        )
    )["rollbackPolicy"]
    assert rollback == {"version": {"number": 3, "kind": "rollback"}, "errors": []}
    assert "Engineering" not in await paula_sees()
    versions = await _admin(client, app, "{ policyVersions { number kind actor } }")
    assert [v["number"] for v in versions["policyVersions"]] == [3, 2, 1]

    refused = (
        await _admin(
            client, app, '{ auditLog(filter: {outcome: "denied"}) { entries { action } } }'
        )
    )["auditLog"]["entries"]
    assert [e["action"] for e in refused] == ["policy_apply", "policy_apply"]


def _is_admin(email: str) -> bool:
    return "security_admin" in demo_principal(email, ()).roles


@pytest.mark.backend
async def test_explain_access_names_the_line_and_the_membership(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    query = """query($p: String!, $s: String!, $a: String!) {
      explainAccess(principal: $p, space: $s, action: $a) {
        allowed principal line { line text } via { role space } policyVersion text } }"""
    # Someone the gateway has not seen: judged as who-can judges them (the stores hold
    # nothing of them, no persona: default deny).
    eng = "internal/open/engineering"
    nobody = (await _admin(client, app, query, p="nobody@x.example", s=eng, a="read"))[
        "explainAccess"
    ]
    assert nobody["allowed"] is False
    assert nobody["principal"] == "user:nobody@x.example"
    assert nobody["text"].endswith("(default deny)")

    await client.post(
        "/graphql", json={"query": SPACES}, headers=_token(app, "carl@contractor.example")
    )
    spaces = await _admin(client, app, "{ policy { number } }")
    assert spaces["policy"]["number"] == 1
    carl = (
        await _admin(
            client,
            app,
            query,
            p="carl@contractor.example",
            s="internal/restricted/hr-private",
            a="read",
        )
    )["explainAccess"]
    assert carl["allowed"] is False
    assert carl["line"]["text"] == "p, contractor, internal/restricted/*, space, read, deny"
    assert carl["policyVersion"].startswith("v1 ")

    bad = await client.post(
        "/admin/graphql",
        json={
            "query": query,
            "variables": {"p": "carl@contractor.example", "s": "nope", "a": "read"},
        },
        headers=_token(app, "sam@corp.example"),
    )
    assert "invalid id" in bad.json()["errors"][0]["message"]


@pytest.mark.parametrize("who", [p for p in PERSONAS if not _is_admin(p)])
async def test_everyone_but_security_admins_gets_nothing(
    app: Starlette, client: httpx.AsyncClient, who: str
) -> None:
    """Not a field name, not a type: refused before GraphQL runs, for every root field."""
    headers = {} if who == "guest" else _token(app, who)
    introspection = "{ __schema { queryType { fields { name } } } }"
    for query in [introspection, *(_root_query(f) for f in ROOT_FIELDS)]:
        response = await client.post("/admin/graphql", json={"query": query}, headers=headers)
        assert response.status_code == (401 if who == "guest" else 403)
        body = response.text
        for name in ("policyLines", "auditLog", "applyPolicyChange", "simulatePolicyChange"):
            assert name not in body
    # Nor does the public schema have any of the admin API's fields, for anyone.
    public = await client.post(
        "/graphql",
        json={"query": "{ __schema { types { name fields { name } } } }"},
        headers=headers,
    )
    names = {
        f["name"] for t in public.json()["data"]["__schema"]["types"] for f in t["fields"] or []
    }
    admin_names = {f.split(":")[1] for f in ROOT_FIELDS}
    assert not names & admin_names


def _root_query(field: str) -> str:
    kind, name = field.split(":")
    return f"{'mutation' if kind == 'mutation' else 'query'} {{ {name} {{ __typename }} }}"


async def test_administration_comes_from_the_policy_not_the_persona(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    """Erin (an employee) is refused until a line lets her administer; then she is in."""
    erin = _token(app, "erin@corp.example")
    ask = {"query": "{ policy { number } }"}
    assert (await client.post("/admin/graphql", json=ask, headers=erin)).status_code == 403
    line = "p, user:erin@corp.example, *, policy, administer, allow"
    applied = await _admin(client, app, APPLY, add=[line], remove=[], v=1)
    assert applied["applyPolicyChange"]["errors"] == []
    response = await client.post("/admin/graphql", json=ask, headers=erin)
    assert response.status_code == 200 and response.json()["data"]["policy"]["number"] == 2


@pytest.mark.backend
async def test_who_can_access_names_each_reader_and_why(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await client.post(
        "/graphql", json={"query": SPACES}, headers=_token(app, "paula@partner.example")
    )
    await client.post(
        "/graphql", json={"query": SPACES}, headers=_token(app, "carl@contractor.example")
    )
    query = """query($s: String!, $a: String!) { whoCanAccess(space: $s, action: $a) {
        principal roles judged line { line text } via { role space } } }"""
    aurora = "internal/shared/aurora-feedback"
    readers = {
        a["principal"]: a
        for a in (await _admin(client, app, query, s=aurora, a="read"))["whoCanAccess"]
    }
    paula = readers["user:paula@partner.example"]
    assert paula["via"] == {"role": "space_guest", "space": aurora}
    assert paula["line"]["text"] == "p, space_guest, internal/shared/*, space, read, allow"
    assert readers["persona:employee"]["line"]["text"] == (
        "p, employee, internal/shared/*, space, read, allow"
    )
    assert readers["persona:employee"]["via"] is None
    # Neither a partner without the invitation, nor the contractor, nor a guest.
    assert not {"persona:partner", "persona:contractor", "persona:guest"} & set(readers)
    assert "user:carl@contractor.example" not in readers
    assert readers["user:paula@partner.example"]["judged"] is None  # seen: her token's roles

    # Project Falcon's owner never logged in: the stores hold their membership, so they are there.
    plain = """query($s: String!) { whoCanAccess(space: $s) {
        principal roles judged via { role space } } }"""
    falcon = "internal/restricted/project-falcon"
    readers = {
        a["principal"]: a for a in (await _admin(client, app, plain, s=falcon))["whoCanAccess"]
    }
    omar = readers["user:omar@corp.example"]
    assert omar["via"] == {"role": "space_owner", "space": falcon}
    assert omar["roles"] == ["employee"]
    assert omar["judged"] == (
        "never logged in; judged as employee by the demo data (the development issuer)"
    )
    assert {"user:omar@corp.example", "user:erin@corp.example"} <= set(readers)

    bad = await client.post(
        "/admin/graphql",
        json={"query": query, "variables": {"s": aurora, "a": "invite"}},
        headers=_token(app, "sam@corp.example"),
    )
    assert "action must be one asked of a space" in bad.json()["errors"][0]["message"]
