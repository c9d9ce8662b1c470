"""The full stack in-process: HTTP, authentication, GraphQL, stores on SQLite."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.identity.dev_issuer import AUDIENCE, ISSUER, DevIssuer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")})
    assert settings.zero_config and settings.dev_issuer and settings.demo_data
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


def _issuer(app: Starlette) -> DevIssuer:
    return app.state.services.dev_issuer


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


VIEWER = {"query": "{ viewer { id roles issuer isGuest } }"}


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["internal_store"] == body["checks"]["community_store"] == "ok"


async def test_graphiql_in_a_browser(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_the_root_is_a_landing_page(client: httpx.AsyncClient, app: Starlette) -> None:
    # Logging in or out lands on "/" unless the login named a page.
    page = await client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # nothing runs
    assert "<script" not in page.text
    for link in ('href="/graphql"', 'href="/admin"', 'href="/auth/dev?next=/"'):
        assert link in page.text, link
    assert "not signed in" in page.text and "/auth/logout" not in page.text
    token = _issuer(app).issue(email="erin@corp.example", name="Erin <E>", roles=["employee"])
    signed_in = await client.get("/", headers={"Accept": "text/html", **_bearer(token)})
    assert "Signed in as Erin &lt;E&gt; (employee)" in signed_in.text  # escaped
    assert 'href="/auth/logout"' in signed_in.text
    # A client that does not ask for HTML gets one line naming the API.
    plain = await client.get("/")
    assert plain.status_code == 200 and "/graphql" in plain.text and "<" not in plain.text
    assert (await client.post("/")).status_code == 405


async def test_the_root_names_the_api_when_graphiql_is_off(tmp_path: Path) -> None:
    settings = Settings.load(
        environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_GRAPHIQL": "false"}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            home = await c.get("/")
            page = await c.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 200
    assert "/graphql" in home.text
    assert 'href="/graphql"' not in page.text, "no GraphiQL link while it is off"


async def test_a_persona_chosen_at_auth_dev_lands_on_a_page(client: httpx.AsyncClient) -> None:
    chosen = await client.post(
        "/auth/dev",
        content="email=erin%40corp.example",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/"
    landed = await client.get(
        chosen.headers["location"], headers={"Accept": "text/html"}, follow_redirects=True
    )
    assert landed.status_code == 200
    assert "Signed in as Erin" in landed.text
    # The picker returns to the page it was opened from.
    back = await client.post(
        "/auth/dev",
        content="email=erin%40corp.example&next=%2Fadmin",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert back.headers["location"] == "/admin"


async def test_no_credentials_is_a_guest(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json=VIEWER)).json()
    assert body["data"]["viewer"] == {
        "id": "anonymous",
        "roles": ["guest"],
        "issuer": None,
        "isGuest": True,
    }


async def test_dev_token_is_the_persona(app: Starlette, client: httpx.AsyncClient) -> None:
    token = _issuer(app).issue(email="paula@partner.example", name="Paula", roles=["partner"])
    body = (await client.post("/graphql", json=VIEWER, headers=_bearer(token))).json()
    assert body["data"]["viewer"]["id"] == "user:paula@partner.example"
    assert body["data"]["viewer"]["roles"] == ["partner"]
    assert body["data"]["viewer"]["issuer"] == ISSUER


def _unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    """A JWT with an empty signature, built by hand (no library will sign alg=none)."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part(header)}.{part(claims)}."


def _hs256_with(secret: bytes, claims: dict[str, object]) -> str:
    """The key-confusion attack: HMAC-sign with the issuer's public key as the secret."""
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT"}, claims)[:-1]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def _forged_tokens(app: Starlette) -> dict[str, str]:
    issuer = _issuer(app)
    now = time.time()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "x",
        "email": "x@corp.example",
        "email_verified": True,
        "roles": ["employee"],
        "exp": int(now + 600),
    }
    other_key = RSAKey.generate_key(2048)
    public_pem = issuer.key.as_pem(private=False)
    good = issuer.issue(email="erin@corp.example", name="Erin", roles=["employee"])
    head, _payload, signature = good.split(".")
    tampered_payload = _unsigned({}, {**claims, "roles": ["security_admin"]}).split(".")[1]
    return {
        "alg none": _unsigned({"alg": "none", "typ": "JWT"}, claims),
        "HS256 with the public key": _hs256_with(public_pem, claims),
        "expired": issuer.issue(
            email="erin@corp.example", name="E", roles=["employee"], now=now - 13 * 3600
        ),
        "not yet valid": issuer.issue(
            email="erin@corp.example", name="E", roles=["employee"], now=now + 3600
        ),
        "another key": jwt.encode({"alg": "RS256", "kid": issuer.key.kid}, claims, other_key),
        "wrong audience": jwt.encode(
            {"alg": "RS256"}, {**claims, "aud": "someone-else"}, issuer.key
        ),
        "tampered payload": f"{head}.{tampered_payload}.{signature}",
        "unknown issuer": jwt.encode(
            {"alg": "RS256"}, {**claims, "iss": "https://evil.example"}, other_key
        ),
        "garbage": "not-a-jwt",
    }


async def test_bad_tokens_get_401_and_never_a_guest(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    for name, token in _forged_tokens(app).items():
        response = await client.post("/graphql", json=VIEWER, headers=_bearer(token))
        assert response.status_code == 401, name
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="invalid_token", error_description="'), name
        assert "data" not in response.json(), name


async def test_non_bearer_authorization_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json=VIEWER, headers={"Authorization": "Basic Zm9vOmJhcg=="}
    )
    assert response.status_code == 401


async def test_malformed_queries(client: httpx.AsyncClient) -> None:
    unparsable = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert unparsable.status_code == 400
    syntax = await client.post("/graphql", json={"query": "{ spaces { "})
    # A query that does not parse is a GraphQL error, with no data (GraphQL over HTTP).
    assert "data" not in syntax.json() or syntax.json()["data"] is None
    assert "Syntax Error" in syntax.json()["errors"][0]["message"]
    empty = await client.post("/graphql", json={"query": "{ viewer { } }"})
    assert empty.json()["errors"][0]["message"] == (
        "Syntax Error: a selection set must select at least one field."
    )
    unknown = await client.post("/graphql", json={"query": "{ secrets }"})
    assert "Cannot query field 'secrets'" in unknown.json()["errors"][0]["message"]


async def test_invalid_ids_and_cursors_say_so(client: httpx.AsyncClient) -> None:
    for query in (
        '{ node(id: "zzz") { id } }',
        '{ space(id: "U3BhY2U6bWFycw==") { id } }',  # Space:mars (no such store)
        '{ question(id: "U3BhY2U6aW50ZXJuYWw6MQ==") { id } }',  # a Space id, not a Question
    ):
        body = (await client.post("/graphql", json={"query": query})).json()
        message = body["errors"][0]["message"]
        assert message.startswith("invalid id"), (query, message)
        assert "Traceback" not in message
    body = (
        await client.post(
            "/graphql", json={"query": '{ questions(after: "bm9wZQ") { edges { cursor } } }'}
        )
    ).json()
    assert body["errors"][0]["message"].startswith("invalid cursor")
    body = (
        await client.post(
            "/graphql", json={"query": "{ spaces(first: 100000) { edges { cursor } } }"}
        )
    ).json()
    assert "first must be between 1 and 100" in body["errors"][0]["message"]


async def test_hardening_limits(client: httpx.AsyncClient) -> None:
    nested = "questions { edges { node { space { %s } } } }"
    deep = "{ " + nested % (nested % (nested % (nested % "id"))) + " }"
    body = (await client.post("/graphql", json={"query": deep})).json()
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(30)) + " }"
    body = (await client.post("/graphql", json={"query": aliases})).json()
    assert "aliases found" in body["errors"][0]["message"]


async def test_a_restart_keeps_existing_data(tmp_path: Path) -> None:
    """The demo loads into empty stores only; a second start changes nothing."""
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")})
    counts = []
    for _ in range(2):
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                token = _issuer(application).issue(
                    email="hana@corp.example", name="Hana", roles=["employee"]
                )
                body = (
                    await client.post(
                        "/graphql",
                        json={"query": "{ questions(first: 100) { edges { cursor } } }"},
                        headers=_bearer(token),
                    )
                ).json()
                counts.append(len(body["data"]["questions"]["edges"]))
    assert counts[0] == counts[1] > 0


async def test_every_answer_names_the_policy_it_was_decided_under(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    services = app.state.services
    body = (await client.post("/graphql", json=VIEWER)).json()
    assert body["extensions"]["policy"] == services.policy.describe()
    assert body["extensions"]["policy"].startswith(f"v1 (sha256 {services.policy.version[:12]})")
