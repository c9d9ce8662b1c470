"""Offboarding as a security admin does it: one revoke (admin API, CLI) ends a person's
sessions, older bearer tokens, pending invitations and internal memberships, audited;
restore lifts the token refusal; an unknown person changes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.cli import main
from gateway.domain.model import SpaceRole, StoreName
from gateway.http.app import create_app
from gateway.identity.session import COOKIE_NAME
from tests.identity.conftest import FakeClock
from tests.schema.test_admin_api import _admin

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette

    from gateway.runtime.services import Services

PAULA = "paula@partner.example"
VIEWER = "{ viewer { id isGuest } spaces(first: 50) { edges { node { name } } } }"
REVOKE = """mutation($p: String!, $why: String) {
  revokePrincipalAccess(input: {principal: $p, reason: $why}) {
    revoked { principal notBefore sessionsEnded invitationsRevoked membershipsEnded failures }
    errors { code message field }
  }
}"""
RESTORE = """mutation($p: String!) {
  restorePrincipalAccess(input: {principal: $p}) {
    principal liftedNotBefore errors { code message field }
  }
}"""
SESSIONS = "query($p: String) { sessions(principal: $p) { principal provider lastSeen } }"
AUDIT = """query($action: String!) {
  auditLog(filter: {action: $action}) { entries { actor outcome target detail } }
}"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(services: Services, clock: FakeClock) -> AsyncIterator[Starlette]:
    application = create_app(services.settings, services, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


def _paula_token(app: Starlette, *, at: float) -> dict[str, str]:
    token = app.state.services.dev_issuer.issue(
        email=PAULA, name="Paula", roles=["partner"], organisation="Partner Ltd", now=at
    )
    return {"Authorization": f"Bearer {token}"}


async def _spaces(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": VIEWER}, headers=headers)


def _names(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {e["node"]["name"] for e in response.json()["data"]["spaces"]["edges"]}


async def _invite_paula_elsewhere(services: Services) -> str:
    """A pending invitation of paula to an internal space erin belongs to (not Aurora)."""
    store = services.stores[StoreName.INTERNAL]
    held = {m.space_id for m in await store.memberships_for(PAULA)}
    space = next(
        m for m in await store.memberships_for("erin@corp.example") if m.space_id not in held
    )
    erin = (await store.people_by_emails(["erin@corp.example"]))["erin@corp.example"]
    now = datetime.now(UTC)
    await store.invite(
        space.space_id,
        PAULA,
        SpaceRole.GUEST,
        erin.id,
        expires_at=now + timedelta(days=7),
        now=now,
    )
    return space.space_key


async def test_revoke_ends_sessions_tokens_invitations_and_memberships_and_restore_lifts_it(
    app: Starlette, client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    old = _paula_token(app, at=time.time() - 60)
    assert "Aurora prototype feedback" in _names(await _spaces(client, **old))
    transport = httpx.ASGITransport(app=app)
    # https: outside the zero-config demo the session cookie is Secure.
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as browser:
        # Paula is also logged in in a browser (the demo's persona picker).
        assert (await browser.post("/auth/dev", data={"email": PAULA})).status_code == 303
        saved = httpx.Cookies(browser.cookies)
        assert not (await _spaces(browser)).json()["data"]["viewer"]["isGuest"]
        listed = await _admin(client, app, SESSIONS, p=PAULA)
        assert [(s["principal"], s["provider"]) for s in listed["sessions"]] == [
            (f"user:{PAULA}", "dev")
        ]

        # Invited after her last request: still pending (a request of hers would bind it).
        invited_to = await _invite_paula_elsewhere(services)
        data = await _admin(client, app, REVOKE, p="Paula@Partner.example", why="contract ended")
        payload = data["revokePrincipalAccess"]
        assert payload["errors"] == []
        revoked = payload["revoked"]
        assert revoked["principal"] == f"user:{PAULA}"
        assert revoked["sessionsEnded"] == 1
        assert len(revoked["invitationsRevoked"]) == 1
        assert revoked["membershipsEnded"] == ["internal/shared/aurora-feedback"]
        assert revoked["failures"] == []

        # The browser session ended at once, the saved cookie too.
        browser.cookies = saved
        assert (await _spaces(browser)).json()["data"]["viewer"]["isGuest"] is True
        assert (await _admin(client, app, SESSIONS, p=PAULA))["sessions"] == []
    clock.advance(2)  # past the second a replica may answer from the revocations it read
    refused = await _spaces(client, **old)
    assert refused.status_code == 401
    assert "access was revoked" in refused.json()["errors"][0]["message"]
    assert "invalid_token" in refused.headers["www-authenticate"]
    # A token issued after the revoke is accepted, but the memberships are gone.
    fresh = _paula_token(app, at=time.time() + 1)
    now_sees = _names(await _spaces(client, **fresh))
    assert "Aurora prototype feedback" not in now_sees
    store = services.stores[StoreName.INTERNAL]
    assert [m for m in await store.memberships_for(PAULA) if m.space_key == invited_to] == []

    audit = await _admin(client, app, AUDIT, action="access_revoke")
    (entry,) = audit["auditLog"]["entries"]
    assert entry["actor"] == "user:sam@corp.example"
    assert entry["outcome"] == "ok"
    assert entry["target"] == f"user:{PAULA}"
    assert entry["detail"]["reason"] == "contract ended"
    assert entry["detail"]["sessions_ended"] == 1
    assert entry["detail"]["invitations_revoked"] == revoked["invitationsRevoked"]

    restored = await _admin(client, app, RESTORE, p=PAULA)
    assert restored["restorePrincipalAccess"]["errors"] == []
    assert restored["restorePrincipalAccess"]["principal"] == f"user:{PAULA}"
    clock.advance(2)
    assert (await _spaces(client, **old)).status_code == 200
    again = await _admin(client, app, RESTORE, p=PAULA)
    assert again["restorePrincipalAccess"]["errors"][0]["code"] == "NOT_FOUND"
    outcomes = [
        e["outcome"]
        for e in (await _admin(client, app, AUDIT, action="access_restore"))["auditLog"]["entries"]
    ]
    assert outcomes == ["denied", "ok"]


async def test_revoking_an_unknown_person_says_so_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    data = await _admin(client, app, REVOKE, p="nobody@nowhere.example")
    payload = data["revokePrincipalAccess"]
    assert payload["revoked"] is None
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert "knows nobody as user:nobody@nowhere.example" in payload["errors"][0]["message"]
    bad = await _admin(client, app, REVOKE, p="not an address")
    assert bad["revokePrincipalAccess"]["errors"][0]["code"] == "INVALID"
    entries = (await _admin(client, app, AUDIT, action="access_revoke"))["auditLog"]["entries"]
    assert [e["outcome"] for e in entries] == ["denied", "denied"]
    assert app.state.services.records is not None
    from gateway.identity.session_store import SessionStore

    assert await SessionStore(app.state.services.records, idle_timeout=60).revocations() == {}


def test_cli_access_revoke_sessions_and_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from tests.cli.test_cli import _seed

    monkeypatch.chdir(tmp_path)
    demo_dir = tmp_path / ".gateway"
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(demo_dir))
    monkeypatch.delenv("GATEWAY_INTERNAL_URL", raising=False)
    monkeypatch.delenv("GATEWAY_COMMUNITY_URL", raising=False)
    asyncio.run(_seed(demo_dir))
    asyncio.run(_log_in_demo(PAULA))
    assert main(["access", "sessions"]) == 0
    out = capsys.readouterr().out
    assert f"user:{PAULA}" in out and "dev" in out
    # Without --yes and no terminal: refused, nothing changed.
    assert main(["access", "revoke", "--user", PAULA]) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert main(["access", "revoke", "--user", PAULA, "--reason", "contract ended", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"revoked: user:{PAULA}, audited as cli:" in out
    assert "sessions ended: 1" in out
    assert "internal memberships ended: internal/" in out
    assert main(["access", "sessions", "--user", PAULA]) == 0
    assert capsys.readouterr().out == f"no live sessions of user:{PAULA}\n"
    assert main(["access", "revoke", "--user", "zed@nowhere.example", "--yes"]) == 1
    assert "knows nobody" in capsys.readouterr().err
    assert main(["access", "restore", "--user", PAULA]) == 0
    assert "accepted again" in capsys.readouterr().out
    assert main(["access", "restore", "--user", PAULA]) == 1
    assert "no revoked access" in capsys.readouterr().err


async def _log_in_demo(email: str) -> None:
    """A browser session of ``email`` through the demo's persona picker."""
    from gateway.config import Settings

    app = create_app(Settings.load())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as browser:
            done = await browser.post("/auth/dev", data={"email": email})
            assert done.status_code == 303
            assert COOKIE_NAME in browser.cookies


async def test_the_admin_page_lists_sessions_and_revokes_with_its_csrf_token(
    app: Starlette, services: Services
) -> None:
    from tests.http.test_admin_page import _admin_page, _browser, _log_in, _text

    async with _browser(app) as admin, _browser(app) as paula:
        await _log_in(admin, "sam@corp.example")
        await _log_in(paula, PAULA)
        page, token = await _admin_page(admin, "/admin/access")
        assert f"user:{PAULA}" in _text(page)
        assert "/admin/access" in (await admin.get("/admin")).text  # linked from the page
        # Without this session's token: refused, nothing changed.
        forged = await admin.post("/admin/access/revoke", data={"principal": PAULA})
        assert forged.status_code == 403
        assert (await _spaces(paula)).json()["data"]["viewer"]["isGuest"] is False
        unknown = await admin.post(
            "/admin/access/revoke", data={"principal": "zed@nowhere.example", "csrf_token": token}
        )
        assert unknown.status_code == 404
        assert "knows nobody" in _text(unknown.text)
        done = await admin.post(
            "/admin/access/revoke",
            data={"principal": PAULA, "reason": "contract ended", "csrf_token": token},
        )
        assert done.status_code == 200, done.text
        text = _text(done.text)
        assert f"Access of user:{PAULA} revoked" in text
        assert "1 session(s) ended" in text
        assert "internal/shared/aurora-feedback" in text
        assert (await _spaces(paula)).json()["data"]["viewer"]["isGuest"] is True
        # The admin's own session is untouched, and the list shows only theirs now.
        page, token = await _admin_page(admin, "/admin/access")
        assert f"user:{PAULA}" not in _text(page).split("live session(s)")[1]
        restored = await admin.post(
            "/admin/access/restore", data={"principal": PAULA, "csrf_token": token}
        )
        assert restored.status_code == 200
        assert "accepted again" in _text(restored.text)
    entries = await services.records.entries(actor="user:sam@corp.example")
    assert [(e.action, e.outcome.value) for e in entries if e.action.startswith("access")] == [
        ("access_restore", "ok"),
        ("access_revoke", "ok"),
        ("access_revoke", "denied"),
    ]
