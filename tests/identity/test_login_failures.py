"""What an operator sees when a browser login fails: a warning per refusal, and causes named.

Through the real login flow against the local provider, as in test_login.py.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gateway.http.app import create_app
from tests.identity.test_login import _client, assert_refused, authorize, authorize_error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette

    from gateway.config import Settings
    from tests.identity.idp import LocalIdP


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The gateway with Secure cookies, as outside the demo (as in test_login.py)."""
    application = create_app(dataclasses.replace(settings, secure_cookies=True))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def browser(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A browser (cookie jar, no automatic redirects) on the gateway at https://gateway.test."""
    async with _client(app) as client:
        yield client


def _secrets(url: str) -> list[str]:
    """The code and state a callback URL carries: never to be logged."""
    query = parse_qs(urlsplit(url).query)
    return [value for key in ("code", "state") for value in query.get(key, [])]


async def test_every_refused_callback_is_a_warning_without_code_or_state(
    browser: httpx.AsyncClient, idp: LocalIdP, caplog: pytest.LogCaptureFixture
) -> None:
    corp = idp.tenants["corp"]
    with caplog.at_level(logging.INFO, logger="gateway.identity"):
        # The ID token's nonce is another login's.
        corp.id_token_claims = {"nonce": "a-nonce-from-another-login"}
        bad_nonce = await authorize(browser, "corp")
        await assert_refused(browser, bad_nonce, 401, "nonce")
        corp.id_token_claims = {}
        # The code is redeemed twice: the provider refuses the second time.
        used = await authorize(browser, "corp")
        assert (await browser.get(used)).status_code == 303
        await browser.post("/auth/logout", data={"next": "/"})
        # The provider's error redirect.
        corp.authorize_error = "access_denied"
        denied = await authorize_error(browser)
        await assert_refused(browser, denied, 400, "access_denied")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    messages = [r.getMessage() for r in warnings]
    assert len(messages) == 2, messages
    assert messages[0].startswith("callback through 'corp' refused (HTTP 401): the ID token")
    assert "nonce" in messages[0]
    assert messages[1] == (
        "callback through 'corp' refused (HTTP 400): "
        "the identity provider refused the login (access_denied)"
    )
    for secret in [*_secrets(bad_nonce), *_secrets(used), *_secrets(denied)]:
        assert secret not in caplog.text
    # The callback URL sent to the provider, for a redirect-URI mismatch.
    assert (
        "login through 'corp': the provider is to send the browser back to "
        "https://gateway.test/auth/callback/corp"
    ) in caplog.text


async def test_a_refused_login_is_a_warning(
    browser: httpx.AsyncClient, idp: LocalIdP, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.identity"):
        await browser.get("/auth/login/nobody")
        idp.stop()
        await browser.get("/auth/login/corp")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == (
        "login through 'nobody' refused (HTTP 404): there is no identity provider named 'nobody'"
    )
    assert messages[1].startswith("login through 'corp' refused (HTTP 502): the identity provider")
    assert len(messages) == 2  # one line per refusal


async def test_a_secure_cookie_over_plain_http_is_named(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    """Secure cookies on, the gateway reached over http: the browser never returns the
    cookie, and the callback says so instead of blaming another browser."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as browser:
        start = await browser.get("/auth/login/corp")
        assert start.status_code == 302
        assert "secure" in start.headers["set-cookie"].lower()
        async with httpx.AsyncClient() as idp_side:
            approved = await idp_side.get(start.headers["location"])
        callback = approved.headers["location"]
        assert callback.startswith("http://gateway.test/auth/callback/corp?")
        with caplog.at_level(logging.WARNING, logger="gateway.identity"):
            await assert_refused(browser, callback, 400, "the browser sent no session cookie")
        response = await browser.get(callback, headers={"Accept": "application/json"})
    message = response.json()["error"]
    assert "Secure (identity.secure_cookies is on)" in message
    assert "over https only" in message
    assert "identity.secure_cookies is on" in caplog.text


async def test_a_callback_without_any_cookie_over_https(browser: httpx.AsyncClient) -> None:
    callback = await authorize(browser, "corp")
    browser.cookies.clear()
    await assert_refused(browser, callback, 400, "sent no session cookie back (cookies blocked")
    response = await browser.get(callback, headers={"Accept": "application/json"})
    assert "identity.public_url" in response.json()["error"]
    assert "Secure" not in response.json()["error"]


# --- the start-up warning ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "bound", "warned"),
    [
        ({}, "http://127.0.0.1:8000", "the bound address is plain http (http://127.0.0.1:8000)"),
        ({"public_url": "http://collab.example"}, "http://0.0.0.0:80", "identity.public_url is"),
        ({"public_url": "https://collab.example"}, "http://127.0.0.1:8000", None),
        ({"secure_cookies": False}, "http://127.0.0.1:8000", None),
        ({"providers": (), "dev_issuer": False}, "http://127.0.0.1:8000", None),
    ],
    ids=["bound http", "public http", "public https", "cookies not secure", "no browser login"],
)
def test_plain_http_with_secure_cookies_is_one_warning(
    settings: Settings, changes: dict[str, object], bound: str, warned: str | None
) -> None:
    configured = dataclasses.replace(settings, **{"secure_cookies": True, **changes})
    warning = configured.plain_http_cookie_warning(bound)
    if warned is None:
        assert warning is None
    else:
        assert warning is not None and warned in warning and "\n" not in warning


def test_gateway_serve_warns_at_start_up(tmp_path: Path, idp: LocalIdP) -> None:
    """The real command: one WARNING line on stderr before it serves."""
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "gw"}"\n'
        "[stores]\n"
        f'internal_url = "sqlite+aiosqlite:///{tmp_path / "internal.db"}"\n'
        f'community_url = "sqlite+aiosqlite:///{tmp_path / "community.db"}"\n'
        "[[identity.providers]]\n"
        'name = "corp"\n'
        f'issuer = "{idp.base_url}/corp"\n'
        'audiences = ["gw"]\npersonas = ["employee"]\nclient_id = "gateway-web"\n'
    )
    (tmp_path / "gw").mkdir()
    lines: list[str] = []
    with subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config), "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "GATEWAY_SESSION_SECRET": "s" * 32},
    ) as process:
        try:
            assert process.stderr is not None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = process.stderr.readline()
                if not line:
                    break
                lines.append(line)
                if "serving GraphQL" in line:
                    break
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
    warnings = [line for line in lines if "secure_cookies" in line]
    assert len(warnings) == 1, lines
    assert warnings[0].startswith("WARNING: identity.secure_cookies is on but the bound address")
