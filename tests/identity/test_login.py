"""The browser login, end to end: gateway -> local OpenID provider -> callback -> session.

The gateway runs in-process (httpx ASGITransport) at https://gateway.test, so the
Secure session cookie is sent back as a browser would. The provider is real HTTP
on loopback (tests/identity/idp.py): authlib fetches its discovery document,
keys and tokens over the network, and the provider checks PKCE and issues each
code once.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import itsdangerous
import pytest
from sqlalchemy import select, update

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.identity.login import safe_next
from gateway.identity.session import COOKIE_NAME, SECRET_FILE, session_secret
from gateway.identity.session_middleware import COOKIE_SALT
from gateway.identity.session_store import key_of
from gateway.records import sessions
from tests.identity.idp import make_key

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette

    from tests.identity.idp import LocalIdP

QUERY = """{
  viewer { id roles issuer organisation isGuest }
  spaces(first: 100) { edges { node { name } } }
}"""
EMPLOYEE_ONLY = {"Engineering", "Engineering Q&A"}
GATEWAY = "https://gateway.test"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The gateway with Secure cookies, as outside the demo (the fixture's settings are
    zero-config, where they are off)."""
    application = create_app(dataclasses.replace(settings, secure_cookies=True))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def browser(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A browser (cookie jar, no automatic redirects) on the gateway at https://gateway.test."""
    async with _client(app) as client:
        yield client


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=GATEWAY)


async def view(browser: httpx.AsyncClient, **headers: str) -> dict[str, Any]:
    response = await browser.post("/graphql", json={"query": QUERY}, headers=headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return {**data["viewer"], "spaces": {e["node"]["name"] for e in data["spaces"]["edges"]}}


async def authorize(browser: httpx.AsyncClient, provider: str, next_: str | None = None) -> str:
    """Start a login and pass the provider's authorization step: the callback URL it returns."""
    query = f"?{urlencode({'next': next_})}" if next_ is not None else ""
    start = await browser.get(f"/auth/login/{provider}{query}")
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    params = parse_qs(urlsplit(location).query)
    assert params["code_challenge_method"] == ["S256"]
    assert params["nonce"] and params["state"]
    # The provider is another site: the browser's gateway cookie does not go there.
    async with httpx.AsyncClient() as idp_side:
        approved = await idp_side.get(location)
    assert approved.status_code == 302, approved.text
    callback = approved.headers["location"]
    assert callback.startswith(f"{GATEWAY}/auth/callback/{provider}?")
    return callback


async def log_in(browser: httpx.AsyncClient, provider: str, next_: str | None = None) -> str:
    """The whole login; returns where the gateway sent the browser afterwards."""
    done = await browser.get(await authorize(browser, provider, next_))
    assert done.status_code == 303, done.text
    return done.headers["location"]


async def assert_refused(
    browser: httpx.AsyncClient, callback: str, status: int, message: str
) -> None:
    response = await browser.get(callback, headers={"Accept": "application/json"})
    assert response.status_code == status, response.text
    assert message in response.json()["error"], response.text
    viewer = await view(browser)
    assert viewer["isGuest"] is True  # nobody was logged in


# --- who logs in -------------------------------------------------------------------------


async def test_employee_logs_in_queries_and_logs_out(
    browser: httpx.AsyncClient, idp: LocalIdP
) -> None:
    assert (await view(browser))["isGuest"] is True
    assert await log_in(browser, "corp", "/graphql?from=login") == "/graphql?from=login"
    corp = idp.tenants["corp"]
    # A confidential client: it authenticated, and the provider checked the PKCE verifier.
    assert corp.token_requests[-1]["code_verifier"]
    viewer = await view(browser)
    assert viewer["id"] == "user:erin@corp.example"
    assert viewer["roles"] == ["employee"]
    assert viewer["issuer"] == corp.issuer
    assert viewer["organisation"] == "Corp"
    assert viewer["spaces"] >= EMPLOYEE_ONLY

    # An explicit bearer token wins over the session cookie.
    partner_token = idp.tenants["partner"].token(email="paula@partner.example", email_verified=True)
    as_partner = await view(browser, Authorization=f"Bearer {partner_token}")
    assert as_partner["roles"] == ["partner"]
    # A bad token is a 401, never the cookie's identity instead.
    bad = await browser.post(
        "/graphql", json={"query": QUERY}, headers={"Authorization": "Bearer nonsense"}
    )
    assert bad.status_code == 401

    confirm = await browser.get("/auth/logout")  # a page with a button: GET changes nothing
    assert confirm.status_code == 200
    assert 'method="post"' in confirm.text
    assert (await view(browser))["isGuest"] is False
    out = await browser.post("/auth/logout", data={"next": "//evil.example"})
    assert out.status_code == 303
    assert out.headers["location"] == "/"
    viewer = await view(browser)
    assert viewer["isGuest"] is True
    assert not EMPLOYEE_ONLY & viewer["spaces"]


async def test_partner_sees_exactly_the_partner_view(
    browser: httpx.AsyncClient, idp: LocalIdP
) -> None:
    # The partner IdP also asserts employee groups: the partner stays a partner.
    idp.tenants["partner"].user["groups"] = ["employees"]
    await log_in(browser, "partner")
    viewer = await view(browser)
    assert viewer["roles"] == ["partner"]
    assert viewer["organisation"] == "Partner Ltd"
    assert viewer["issuer"] == idp.tenants["partner"].issuer
    assert "Aurora prototype feedback" in viewer["spaces"]
    assert not EMPLOYEE_ONLY & viewer["spaces"]
    assert "Project Falcon" not in viewer["spaces"]
    # A public client: PKCE and no secret.
    request = idp.tenants["partner"].token_requests[-1]
    assert request["code_verifier"]
    assert "client_secret" not in request


async def test_the_session_cookie_is_signed_httponly_lax_and_secure(
    browser: httpx.AsyncClient,
) -> None:
    done = await browser.get(await authorize(browser, "corp"))
    cookie = _set_cookie(done)
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie
    assert f"max-age={8 * 3600}" in cookie


async def test_secure_cookies_off_drops_the_secure_flag(settings: Settings) -> None:
    assert settings.secure_cookies is False  # the zero-config demo's default
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client(app) as browser:
        done = await browser.get(await authorize(browser, "corp"))
        cookie = _set_cookie(done)
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie


def _set_cookie(response: httpx.Response) -> str:
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE_NAME)]
    assert len(cookies) == 1, cookies
    return cookies[0].lower()


# --- refused logins ----------------------------------------------------------------------


async def test_a_replayed_callback_is_refused(browser: httpx.AsyncClient, app: Starlette) -> None:
    callback = await authorize(browser, "corp")
    # An attacker who copied the browser's cookie and the callback URL before it was used.
    thief = _client(app)
    thief.cookies = httpx.Cookies(browser.cookies)
    assert (await browser.get(callback)).status_code == 303
    # The same browser again: its state was used up.
    again = await browser.get(callback, headers={"Accept": "application/json"})
    assert again.status_code == 400
    assert "state" in again.json()["error"]
    # The copied cookie names the pre-login session, which ended when the login completed
    # (a signed cookie would still hold the state; the provider would then refuse the code).
    async with thief:
        await assert_refused(thief, callback, 400, "state")


async def test_a_missing_state_is_refused(browser: httpx.AsyncClient) -> None:
    callback = await authorize(browser, "corp")
    parts = urlsplit(callback)
    params = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "state"}
    await assert_refused(browser, f"{parts.path}?{urlencode(params)}", 400, "state")


async def test_a_state_from_another_browser_is_refused(
    browser: httpx.AsyncClient, app: Starlette
) -> None:
    # Login CSRF: the victim's browser is sent the attacker's callback URL.
    attacker = _client(app)
    async with attacker:
        callback = await authorize(attacker, "corp")
    await assert_refused(browser, callback, 400, "state")


async def test_a_nonce_mismatch_is_refused(browser: httpx.AsyncClient, idp: LocalIdP) -> None:
    idp.tenants["corp"].id_token_claims = {"nonce": "a-nonce-from-another-login"}
    await assert_refused(browser, await authorize(browser, "corp"), 401, "nonce")


async def test_a_missing_nonce_is_refused(browser: httpx.AsyncClient, idp: LocalIdP) -> None:
    idp.tenants["corp"].id_token_claims = {"nonce": None}
    await assert_refused(browser, await authorize(browser, "corp"), 401, "lacks the nonce")


async def test_a_wrong_pkce_verifier_is_refused_by_the_provider(
    browser: httpx.AsyncClient, idp: LocalIdP, settings: Settings, app: Starlette
) -> None:
    callback = await authorize(browser, "corp")
    # Rewrite the verifier kept in the session's row, as only the database's holder could.
    session = await _read_session(app, browser, settings)
    (state_key,) = (k for k in session if k.startswith("_state_corp_"))
    session[state_key]["data"]["code_verifier"] += "-tampered"
    await _write_session(app, browser, settings, session)
    await assert_refused(browser, callback, 400, "PKCE")
    assert idp.tenants["corp"].token_requests[-1]["code_verifier"].endswith("-tampered")


async def test_an_error_from_the_provider_is_refused(
    browser: httpx.AsyncClient, idp: LocalIdP
) -> None:
    idp.tenants["corp"].authorize_error = "access_denied"
    await assert_refused(browser, await authorize_error(browser), 400, "access_denied")


async def authorize_error(browser: httpx.AsyncClient) -> str:
    start = await browser.get("/auth/login/corp")
    async with httpx.AsyncClient() as idp_side:
        approved = await idp_side.get(start.headers["location"])
    callback = approved.headers["location"]
    assert "error=access_denied" in callback
    return callback


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": "another-client"}, "aud"),
        ({"iss": "https://idp.evil.example"}, "iss"),
        ({"exp": 1_000_000}, "expired"),
    ],
)
async def test_a_bad_id_token_is_refused(
    browser: httpx.AsyncClient, idp: LocalIdP, claims: dict[str, Any], message: str
) -> None:
    idp.tenants["corp"].id_token_claims = claims
    await assert_refused(browser, await authorize(browser, "corp"), 401, message)


async def test_an_id_token_outside_the_algorithm_allow_list_is_refused(
    browser: httpx.AsyncClient, idp: LocalIdP
) -> None:
    # The partner provider is allowed ES256 only; it publishes and signs with an RSA key.
    idp.tenants["partner"].rotate(make_key("partner-rsa"))
    callback = await authorize(browser, "partner")
    await assert_refused(browser, callback, 401, "'RS256' is not allowed")


async def test_an_id_token_signed_with_an_unpublished_key_is_refused(
    browser: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    corp.signing_key = make_key("corp-unpublished")
    await assert_refused(browser, await authorize(browser, "corp"), 401, "No key for kid")


# --- where the browser is sent -----------------------------------------------------------


@pytest.mark.parametrize(
    "next_",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "evil.example",
        "",
    ],
)
async def test_next_outside_the_site_lands_on_the_root(
    browser: httpx.AsyncClient, next_: str
) -> None:
    assert await log_in(browser, "corp", next_) == "/"
    assert (await view(browser))["roles"] == ["employee"]  # the login itself still works


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/spaces/eng?tab=posts#top", "/spaces/eng?tab=posts#top"),
        ("/", "/"),
        (None, "/"),
        ("//evil.example/x", "/"),
        ("/\\/evil.example", "/"),
        ("https:/evil.example", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


# --- providers and sessions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/auth/login/community", "no client_id"),
        ("/auth/login/nobody", "no identity provider named 'nobody'"),
        ("/auth/callback/community?code=x&state=y", "no client_id"),
    ],
)
async def test_login_needs_a_provider_with_a_client_id(
    browser: httpx.AsyncClient, path: str, message: str
) -> None:
    response = await browser.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert message in response.json()["error"]
    page = await browser.get(path)  # a browser gets a page saying the same
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]


async def test_a_session_from_a_removed_provider_is_a_guest(
    browser: httpx.AsyncClient, settings: Settings
) -> None:
    await log_in(browser, "partner")
    assert (await view(browser))["roles"] == ["partner"]
    without_partner = dataclasses.replace(
        settings, providers=tuple(p for p in settings.providers if p.name != "partner")
    )
    app = create_app(without_partner)  # same data directory: the same session secret
    async with app.router.lifespan_context(app), _client(app) as later:
        later.cookies = httpx.Cookies(browser.cookies)
        assert (await view(later))["isGuest"] is True


async def test_a_forged_session_cookie_is_a_guest(browser: httpx.AsyncClient) -> None:
    forged = base64.b64encode(
        json.dumps({"principal": {"provider": "corp", "roles": ["security_admin"]}}).encode()
    )
    browser.cookies.set(COOKIE_NAME, f"{forged.decode()}.AAAAAA.bad-signature")
    assert (await view(browser))["isGuest"] is True


def test_the_session_secret_is_generated_once_owner_only(settings: Settings) -> None:
    secret = session_secret(settings)
    path = settings.data_dir / SECRET_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert session_secret(settings) == secret
    from_env = dataclasses.replace(settings, session_secret="from-the-environment")
    assert session_secret(from_env) == "from-the-environment"
    assert "from-the-environment" not in repr(from_env)


def test_session_settings_defaults(tmp_path: Path) -> None:
    demo = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)})
    assert demo.zero_config is True
    assert demo.secure_cookies is False  # the demo runs on plain http
    assert demo.session_max_age == 8 * 3600
    served = Settings.load(
        environ={
            "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'i.db'}",
            "GATEWAY_SESSION_MAX_AGE": "3600",
            "GATEWAY_SESSION_SECRET": "s3cret",
        }
    )
    assert served.secure_cookies is True
    assert served.session_max_age == 3600
    assert served.session_secret == "s3cret"


# --- helpers -----------------------------------------------------------------------------


def _session_key(browser: httpx.AsyncClient, settings: Settings) -> str:
    """The sessions table's key for the browser's cookie (which holds only the signed id)."""
    signer = itsdangerous.Signer(session_secret(settings), salt=COOKIE_SALT)
    return key_of(signer.unsign(browser.cookies[COOKIE_NAME]).decode())


async def _read_session(
    app: Starlette, browser: httpx.AsyncClient, settings: Settings
) -> dict[str, Any]:
    key = _session_key(browser, settings)
    async with app.state.services.records.engine.connect() as conn:
        data = await conn.scalar(select(sessions.c.data).where(sessions.c.id == key))
    session: dict[str, Any] = json.loads(data)
    return session


async def _write_session(
    app: Starlette, browser: httpx.AsyncClient, settings: Settings, session: dict[str, Any]
) -> None:
    key = _session_key(browser, settings)
    async with app.state.services.records.engine.begin() as conn:
        await conn.execute(
            update(sessions).where(sessions.c.id == key).values(data=json.dumps(session))
        )
