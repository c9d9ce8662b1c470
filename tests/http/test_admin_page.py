"""The admin web page over real HTTP in-process: security admins only, every POST behind the
session's CSRF token, changes previewed, applied against a version, audited and rolled back,
and everything shown escaped. (A real browser drives it in tests/http/test_admin_browser.py.)"""

from __future__ import annotations

import dataclasses
import html
import re
import tomllib
from fnmatch import fnmatch
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.cli import demo_principal
from gateway.config import OidcProvider
from gateway.http.admin_page import rendering
from gateway.http.app import create_app
from gateway.records import AuditEntry, Outcome
from tests.personas import PERSONAS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

    from gateway.runtime.services import Services

GATEWAY = "https://gateway.test"  # https: the session cookie is Secure outside the demo
SAM = "sam@corp.example"
GRANT = "p, partner, internal/open/*, space, read, allow"
ADMIN_LINE = "p, security_admin, *, policy, administer, allow"
SPACES = "{ spaces(first: 50) { edges { node { name } } } }"
MINUS = "\N{MINUS SIGN}"  # how the page marks a removed line
SQLITE = pytest.mark.parametrize("databases", ["sqlite"], indirect=True)


def _is_admin(email: str) -> bool:
    return "security_admin" in demo_principal(email, ()).roles


NOT_ADMINS = [p for p in PERSONAS if p != "guest" and not _is_admin(p)]


@pytest.fixture
async def app(services: Services) -> AsyncIterator[Starlette]:
    application = create_app(services.settings, services)
    async with application.router.lifespan_context(application):
        yield application


def _browser(app: Starlette) -> httpx.AsyncClient:
    """A browser of its own: a cookie jar, redirects not followed."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=GATEWAY)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with _browser(app) as c:
        yield c


async def _log_in(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/auth/dev", data={"email": email, "next": "/admin"})
    assert response.status_code == 303 and response.headers["location"] == "/admin"


async def _admin_page(client: httpx.AsyncClient, url: str = "/admin") -> tuple[str, str]:
    """The page's HTML, and the CSRF token its forms carry."""
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.text, _token(response.text)


def _token(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


def _text(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def _bearer(client: httpx.AsyncClient, app: Starlette, email: str) -> set[str]:
    """The spaces ``email`` sees through GraphQL (and the gateway has seen them since)."""
    person = demo_principal(email, ())
    token = app.state.services.dev_issuer.issue(
        email=email, name=person.display_name, roles=sorted(person.roles)
    )
    response = await client.post(
        "/graphql", json={"query": SPACES}, headers={"Authorization": f"Bearer {token}"}
    )
    return {e["node"]["name"] for e in response.json()["data"]["spaces"]["edges"]}


async def _state(services: Services) -> tuple[int, str, list[tuple[str, str]]]:
    """What a refused request must not change: the latest version, the policy file, and the
    policy entries of the audit log."""
    latest = await services.policy_store.latest_number()
    entries = await services.records.entries(limit=500)
    policy = [(e.action, e.outcome.value) for e in entries if e.action.startswith("policy_")]
    return latest, services.settings.policy_file.read_text(), policy


# --- the door ----------------------------------------------------------------------
@SQLITE
async def test_a_guest_is_sent_to_log_in_and_can_post_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    page = await client.get("/admin")
    assert page.status_code == 303
    assert page.headers["location"] == "/auth/dev?next=%2Fadmin"
    who = await client.get("/admin/who?space=internal%2Fopen%2Fengineering&action=read")
    assert who.headers["location"] == (
        "/auth/dev?next=%2Fadmin%2Fwho%3Fspace%3Dinternal%252Fopen%252Fengineering%26action%3Dread"
    )
    before = await _state(services)
    for path in ("/admin/preview", "/admin/apply", "/admin/validate"):
        response = await client.post(path, data={"add": GRANT, "expected_version": "1"})
        assert response.status_code == 401, path
        assert "partner" not in response.text
    assert await _state(services) == before
    # Following the redirect logs in and lands on the page.
    await _log_in(client, SAM)
    assert (await client.get("/admin")).status_code == 200


@SQLITE
async def test_with_an_identity_provider_the_guest_goes_to_its_login(
    services: Services,
) -> None:
    corp = OidcProvider(
        "corp", "https://idp.example/corp", ("gateway",), frozenset({"employee"}), client_id="gw"
    )
    services.settings = dataclasses.replace(services.settings, dev_issuer=False, providers=(corp,))
    application = create_app(services.settings, services)
    async with application.router.lifespan_context(application), _browser(application) as c:
        response = await c.get("/admin")
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/login/corp?next=%2Fadmin"
    # Two ways to log in: the guest chooses.
    services.settings = dataclasses.replace(services.settings, dev_issuer=True)
    application = create_app(services.settings, services)
    async with application.router.lifespan_context(application), _browser(application) as c:
        response = await c.get("/admin")
        assert response.status_code == 401
        assert 'href="/auth/dev?next=%2Fadmin"' in response.text
        assert 'href="/auth/login/corp?next=%2Fadmin"' in response.text


@SQLITE
@pytest.mark.parametrize("who", NOT_ADMINS)
async def test_everyone_but_security_admins_is_refused_and_shown_nothing(
    app: Starlette, client: httpx.AsyncClient, services: Services, who: str
) -> None:
    # The right token of their own session changes nothing either: the right is checked
    # on every request, not only when the page is shown.
    await _log_in(client, who)
    before = await _state(services)
    for url in ("/admin", "/admin/who?space=internal%2Fopen%2Fengineering"):
        response = await client.get(url)
        assert response.status_code == 403
        text = _text(response.text)
        assert "security admins" in text
        for secret in ("p, ", "g, ", "sha256", "version", "security_admin", "internal/", "v1"):
            assert secret not in text, secret
    async with _browser(app) as sam:
        await _log_in(sam, SAM)
        _page, sams_token = await _admin_page(sam)
    for path in ("/admin/preview", "/admin/apply", "/admin/validate"):
        response = await client.post(
            path,
            data={"add": GRANT, "expected_version": "1", "csrf_token": sams_token},
            headers={"x-csrf-token": sams_token},
        )
        assert response.status_code == 403, path
        assert "partner, internal" not in response.text
    assert await _state(services) == before


# --- CSRF --------------------------------------------------------------------------
@SQLITE
async def test_a_post_without_this_sessions_token_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    await _log_in(client, SAM)
    _page, token = await _admin_page(client)
    async with _browser(app) as other:
        await _log_in(other, SAM)
        _other_page, others = await _admin_page(other)
    assert others != token  # each session has its own
    apply = {"add": GRANT, "remove": "", "expected_version": "1", "reason": "forged"}
    before = await _state(services)
    attempts = {
        "missing": {},
        "empty": {"csrf_token": ""},
        "wrong": {"csrf_token": token[:-2] + ("AA" if not token.endswith("AA") else "BB")},
        "another session's": {"csrf_token": others},
        "not ASCII": {"csrf_token": "é" * len(token)},
    }
    for name, extra in attempts.items():
        for path in ("/admin/apply", "/admin/preview"):
            response = await client.post(path, data={**apply, **extra})
            assert response.status_code == 403, (name, path)
            assert "security token" in _text(response.text)
    for header in ({}, {"x-csrf-token": ""}, {"x-csrf-token": others}):
        refused = await client.post("/admin/validate", data={"add": GRANT}, headers=header)
        assert refused.status_code == 403 and "token" in refused.json()["error"]
    assert await _state(services) == before

    # Logging in again starts a new session, and the old token dies with the old one.
    await _log_in(client, SAM)
    stale = await client.post("/admin/apply", data={**apply, "csrf_token": token})
    assert stale.status_code == 403
    assert await _state(services) == before

    # The same request with this session's token goes through: the refusals were the token's.
    _page, fresh = await _admin_page(client)
    response = await client.post("/admin/apply", data={**apply, "csrf_token": fresh})
    assert response.status_code == 303 and response.headers["location"] == "/admin?applied=2"
    # The header does for scripts what the field does for forms.
    checked = await client.post(
        "/admin/validate", data={"add": GRANT}, headers={"x-csrf-token": fresh}
    )
    assert checked.status_code == 200


# --- a change, start to end ----------------------------------------------------------
@pytest.mark.backend
async def test_a_security_admin_previews_applies_and_sees_it_in_the_audit_log(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    assert "Engineering" not in await _bearer(client, app, "paula@partner.example")
    await _log_in(client, SAM)
    page, token = await _admin_page(client)
    text = _text(page)
    assert "Version 1 in force" in text and services.policy.version in page
    lines = _section(page, "policy-lines")
    assert ADMIN_LINE in lines and "p, partner" not in lines

    before = await _state(services)
    preview = await client.post(
        "/admin/preview",
        data={"add": f"{GRANT}\n\n", "remove": "", "reason": "pilot", "csrf_token": token},
    )
    assert preview.status_code == 200, preview.text
    text = _text(preview.text)
    assert "Measured against version 1" in text and f"+ {GRANT}" in text
    assert "2 partners gain read on 2 internal spaces" in text
    assert "user:paula@partner.example" in text and "Apply as version 2" in text
    assert 'name="expected_version" value="1"' in preview.text
    assert await _state(services) == before  # a preview changes nothing
    assert "Engineering" not in await _bearer(client, app, "paula@partner.example")

    # The browser submits the preview's own apply form.
    form = _form(preview.text, "apply-form")
    applied = await client.post("/admin/apply", data=form)
    assert applied.status_code == 303 and applied.headers["location"] == "/admin?applied=2"
    assert "Engineering" in await _bearer(client, app, "paula@partner.example")
    version = await services.policy_store.version(2)
    assert version is not None
    assert (version.actor, version.kind.value, version.reason) == (
        "user:sam@corp.example",
        "apply",
        "pilot",
    )
    assert GRANT in services.settings.policy_file.read_text()

    page, _token = await _admin_page(client, "/admin?applied=2&log_action=policy_apply")
    text = _text(page)
    assert "Policy version 2 applied (apply by user:sam@corp.example )" in text
    assert "Version 2 in force" in text
    [entry] = await services.records.entries(action="policy_apply")
    assert (entry.actor, entry.outcome, entry.detail["added"]) == (
        "user:sam@corp.example",
        Outcome.OK,
        [GRANT],
    )
    audit = _section(page, "audit-log")
    assert f"+ {GRANT}" in audit and "user:sam@corp.example" in audit and "policy_apply" in audit


def _form(page: str, form_id: str) -> dict[str, str]:
    """The fields a browser would submit from the form ``form_id`` of ``page``."""
    start = page.index(f'id="{form_id}"')
    body = page[start : page.index("</form>", start)]
    fields = {
        m.group(1): html.unescape(m.group(2))
        for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', body)
    }
    for m in re.finditer(r'<textarea name="([^"]+)"[^>]*>\n?(.*?)</textarea>', body, re.S):
        fields[m.group(1)] = html.unescape(m.group(2))
    return fields


def _section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return _text(page[start : page.index("</table>", start)])


@SQLITE
async def test_a_stale_apply_is_refused_and_previewed_again(
    client: httpx.AsyncClient, services: Services
) -> None:
    await _log_in(client, SAM)
    _page, token = await _admin_page(client)
    first = await client.post("/admin/preview", data={"add": GRANT, "csrf_token": token})
    other = "p, contractor, internal/shared/*, space, read, allow"
    second = await client.post("/admin/preview", data={"add": other, "csrf_token": token})
    assert (
        await client.post("/admin/apply", data=_form(first.text, "apply-form"))
    ).status_code == 303

    before = await _state(services)
    stale = await client.post("/admin/apply", data=_form(second.text, "apply-form"))
    assert stale.status_code == 409
    text = _text(stale.text)
    assert "the policy changed since version 1: version 2 is in force now" in text
    assert f"+ {other}" in text and f"+ {GRANT}" not in text
    # Reviewed again, against version 2, it may go through.
    assert 'name="expected_version" value="2"' in stale.text
    assert await _state(services) == before
    again = await client.post("/admin/apply", data=_form(stale.text, "apply-form"))
    assert again.headers["location"] == "/admin?applied=3"


@SQLITE
async def test_a_change_that_would_lock_everyone_out_is_refused(
    client: httpx.AsyncClient, services: Services
) -> None:
    await _log_in(client, SAM)
    _page, token = await _admin_page(client)
    edit = {"remove": ADMIN_LINE, "csrf_token": token}
    preview = await client.post("/admin/preview", data=edit)
    assert preview.status_code == 200
    assert "This change would be refused" in _text(preview.text)
    assert "administer" in _section_text(preview.text, "refusals")
    assert 'id="apply-form"' not in preview.text
    before = await _state(services)
    forced = await client.post("/admin/apply", data={**edit, "expected_version": "1"})
    assert forced.status_code == 422
    assert "Refused; nothing was changed" in _text(forced.text)
    latest, policy_file, entries = await _state(services)
    assert (latest, policy_file) == before[:2]
    assert entries == [("policy_apply", "denied"), *before[2]]  # the refusal is audited
    # Sam has only ever used this page, yet he counts among the admins the gateway knows:
    # handing administer to erin alone would take it from him, and is refused.
    erin = "p, user:erin@corp.example, *, policy, administer, allow"
    handover = await client.post(
        "/admin/preview", data={"add": erin, "remove": ADMIN_LINE, "csrf_token": token}
    )
    assert "every security admin the gateway knows (user:sam@corp.example) would lose" in (
        _section_text(handover.text, "refusals")
    )


def _section_text(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return _text(page[start : page.index("</div>", start)])


@SQLITE
async def test_an_edit_with_errors_is_not_previewed(
    client: httpx.AsyncClient, services: Services
) -> None:
    await _log_in(client, SAM)
    _page, token = await _admin_page(client)
    edit = {"add": f"{GRANT}\np, partner, *, space, raed", "remove": "p, x", "csrf_token": token}
    response = await client.post("/admin/preview", data=edit)
    assert response.status_code == 422
    text = _text(response.text)
    assert "The edit has errors" in text
    assert "line 2: error: unknown action 'raed'" in text
    assert "line 1: error: a rule has 5 fields" in text
    # The form comes back as typed, to be fixed.
    assert _form(response.text, "edit-form")["add"] == edit["add"]
    empty = await client.post("/admin/preview", data={"add": "\n# a note\n", "csrf_token": token})
    assert empty.status_code == 422 and "Nothing to preview" in _text(empty.text)


# --- inline validation -----------------------------------------------------------------
@SQLITE
async def test_inline_validation_names_the_line_of_each_box(client: httpx.AsyncClient) -> None:
    await _log_in(client, SAM)
    _page, token = await _admin_page(client)
    response = await client.post(
        "/admin/validate",
        data={
            "add": f"p, partner, *, space, raed\n\n{GRANT}\n{GRANT}\n# why",
            "remove": f"{ADMIN_LINE}\np, partner, internal/*, space, read, allow",
        },
        headers={"x-csrf-token": token},
    )
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    found = response.json()
    assert found["ok"] is False
    assert [(f["line"], f["severity"]) for f in found["add"]] == [
        (1, "error"),
        (4, "warning"),
        (5, "warning"),
    ]
    assert "unknown action 'raed'" in found["add"][0]["reason"]
    assert found["add"][1]["reason"] == "repeats line 3 of the lines to add"
    assert found["remove"] == [
        {"line": 2, "severity": "error", "reason": "not a line of the policy"}
    ]
    clean = await client.post(
        "/admin/validate", data={"add": GRANT, "remove": ""}, headers={"x-csrf-token": token}
    )
    assert clean.json() == {"ok": True, "add": [], "remove": []}


# --- escaping ----------------------------------------------------------------------------
HOSTILE = "<script>alert(1)</script>"


@SQLITE
async def test_hostile_text_renders_inert(client: httpx.AsyncClient, services: Services) -> None:
    """A policy line, a reason, an audit entry, a filter and a space name an attacker chose
    are shown as text, never as markup."""
    line = f"p, user:{HOSTILE}@x.example, internal/open/*, space, read, allow"
    await services.records.record(
        AuditEntry(
            at=(await services.policy_admin.latest()).at,
            actor=f"user:{HOSTILE}",
            issuer=None,
            action="answer",
            outcome=Outcome.DENIED,
            store="internal",
            space_key=f"internal/open/{HOSTILE}",
            target=HOSTILE,
            detail={"body": f"<img src=x onerror=alert(1)>{HOSTILE}"},
        )
    )
    await _log_in(client, SAM)
    _page, token = await _admin_page(client)
    preview = await client.post(
        "/admin/preview", data={"add": line, "reason": HOSTILE, "csrf_token": token}
    )
    applied = await client.post("/admin/apply", data=_form(preview.text, "apply-form"))
    assert applied.status_code == 303
    pages = [
        preview.text,
        (await client.get(f"/admin?subject={HOSTILE}&log_actor=&text=")).text,
        (await client.get("/admin")).text,
        (await client.get(f"/admin/who?space={HOSTILE}")).text,
        (await client.get(f"/admin/who?space=internal%2Fopen%2Fengineering&action={HOSTILE}")).text,
        (
            await client.post(
                "/admin/preview", data={"add": f"p, {HOSTILE}, *, space, read", "csrf_token": token}
            )
        ).text,
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[2]  # the line, the reason, the log
    assert _text(pages[2]).count(HOSTILE) >= 4
    validated = await client.post(
        "/admin/validate",
        data={"add": f"p, {HOSTILE}, *, space, read"},
        headers={"x-csrf-token": token},
    )
    # JSON for the script, which shows it with textContent; the content type keeps a
    # browser from reading it as a page.
    assert validated.headers["content-type"] == "application/json"


# --- versions and rollback -----------------------------------------------------------------
@SQLITE
async def test_roll_back_to_an_earlier_version_previewed_then_applied(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    assert "Engineering" not in await _bearer(client, app, "paula@partner.example")
    await _log_in(client, SAM)
    _page, token = await _admin_page(client)
    preview = await client.post("/admin/preview", data={"add": GRANT, "csrf_token": token})
    await client.post("/admin/apply", data=_form(preview.text, "apply-form"))
    page, token = await _admin_page(client)
    assert 'name="rollback_to" value="1"' in page and 'name="rollback_to" value="2"' not in page

    before = await _state(services)
    back = await client.post("/admin/preview", data={"rollback_to": "1", "csrf_token": token})
    assert back.status_code == 200
    text = _text(back.text)
    assert "Roll back to version 1?" in text and f"{MINUS} {GRANT}" in text
    assert "2 partners lose read on 2 internal spaces" in text
    assert await _state(services) == before
    form = _form(back.text, "apply-form")
    assert form["rollback_to"] == "1" and form["expected_version"] == "2"
    applied = await client.post("/admin/apply", data={**form, "reason": "pilot over"})
    assert applied.headers["location"] == "/admin?applied=3"
    version = await services.policy_store.version(3)
    assert version is not None and (version.kind.value, version.reason) == (
        "rollback",
        "pilot over",
    )
    assert "Engineering" not in await _bearer(client, app, "paula@partner.example")
    [entry, *_] = await services.records.entries(action="policy_rollback")
    assert entry.actor == "user:sam@corp.example" and entry.detail["removed"] == [GRANT]

    missing = await client.post("/admin/preview", data={"rollback_to": "99", "csrf_token": token})
    assert missing.status_code == 404 and "there is no policy version 99" in _text(missing.text)
    same = await client.post("/admin/preview", data={"rollback_to": "3", "csrf_token": token})
    assert "The policy would not change" in _text(same.text) and "apply-form" not in same.text


# --- reading -----------------------------------------------------------------------------------
@SQLITE
async def test_lines_and_the_audit_log_filter_on_the_server(
    client: httpx.AsyncClient, services: Services
) -> None:
    await _log_in(client, SAM)
    page, _token = await _admin_page(client, "/admin?subject=contractor&effect=allow")
    rows = _section(page, "policy-lines")
    assert "p, contractor, internal/open/*, space, read, allow" in rows
    assert "employee" not in rows and "deny" not in rows and "guest" not in rows
    policy = services.policy.policy
    every = len(policy.rules) + len(policy.links)
    shown = [r for r in policy.rules if r.sub == "contractor" and r.eft.value == "allow"]
    assert f"{len(shown)} of {every} lines" in _text(page)
    page, _token = await _admin_page(client, "/admin?log_action=nothing-like-this")
    assert "No entries." in _section(page, "audit-log")


@SQLITE
async def test_who_can_see_a_space_and_why(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    await _bearer(client, app, "paula@partner.example")  # seen, so she is in the population
    await _bearer(client, app, "carl@contractor.example")
    await _log_in(client, SAM)
    page, _token = await _admin_page(client, "/admin/who?space=internal%2Fshared%2Faurora-feedback")
    may = _section(page, "who-may")
    assert "user:paula@partner.example" in may
    assert "via space_guest in internal/shared/aurora-feedback" in may
    assert "persona:employee" in may and "persona:partner" not in may
    may_not = _section(page, "who-may-not")
    assert "user:carl@contractor.example" in may_not and "default deny" in may_not

    # Project Falcon's owner never logged in: listed, and the reason says how they were judged.
    falcon = await client.get("/admin/who?space=internal%2Frestricted%2Fproject-falcon")
    may = _section(falcon.text, "who-may")
    assert "user:omar@corp.example" in may
    assert "via space_owner in internal/restricted/project-falcon" in may
    assert "never logged in; judged as employee by the demo data" in may

    restricted = await client.get("/admin/who?space=internal%2Frestricted%2Fhr-private")
    assert "p, contractor, internal/restricted/*, space, read, deny" in _section(
        restricted.text, "who-may-not"
    )
    bad_space = await client.get("/admin/who?space=internal%2Fopen%2Fnope")
    assert bad_space.status_code == 404 and "no space 'internal/open/nope'" in _text(bad_space.text)
    bad_action = await client.get("/admin/who?space=internal%2Fopen%2Fengineering&action=fly")
    assert bad_action.status_code == 400


@SQLITE
async def test_the_page_is_framed_by_nobody_cached_by_nobody_and_runs_only_its_own_script(
    client: httpx.AsyncClient,
) -> None:
    await _log_in(client, SAM)
    response = await client.get("/admin")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    assert "<script>" not in response.text and "style=" not in response.text
    script = await client.get("/admin/static/admin.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert "X-CSRF-Token" in script.text
    assert (await client.get("/admin/static/admin.css")).status_code == 200
    assert (await client.get("/admin/static/..%2Fadmin_page.py")).status_code == 404
    assert (await client.get("/admin/static/base.html")).status_code == 404


def test_templates_and_static_files_ship_with_the_package() -> None:
    """Every file the page reads is matched by the package data in pyproject.toml."""
    here = rendering.HERE  # the folder the page reads its templates and static files from
    root = here.parent  # the gateway package, which the package data is relative to
    config = tomllib.loads((root.parent / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["gateway"]
    files = [
        p.relative_to(root).as_posix()
        for folder in ("templates/admin", "static/admin")
        for p in (here / folder).iterdir()
    ]
    assert files
    for name in files:
        assert any(fnmatch(name, pattern) for pattern in patterns), name
