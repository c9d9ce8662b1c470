"""One decision explained for access that ended: a revoked invitation is named with when and
by whom (as who-can names it), and someone who never logged in is judged as who-can judges
them; in ``explain()``, the admin API's ``explainAccess`` and ``gateway policy explain``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.cli import main
from gateway.http.app import create_app
from gateway.policies.admin import population
from gateway.policies.admin.judged import Judge
from gateway.policies.explain import explain
from tests.personas import run
from tests.schema.test_admin_api import _token
from tests.schema.test_invitations import INVITE, REVOKE, newcomer, sees
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

KEY = "internal/shared/aurora-feedback"
FALCON = "internal/restricted/project-falcon"
NINA = "nina@partner.example"


async def _invite(services: Services) -> str:
    spaces = await space_ids(services)
    expires = (datetime.now(UTC) + timedelta(days=9)).isoformat()
    invited = await run(
        services,
        "erin@corp.example",
        INVITE,
        {"i": {"spaceId": spaces[AURORA], "email": NINA, "role": "GUEST", "expiresAt": expires}},
    )
    assert invited.errors is None and not invited.data["inviteToSpace"]["errors"]
    return str(invited.data["inviteToSpace"]["invitation"]["id"])


async def _invite_and_revoke(services: Services) -> None:
    invitation = await _invite(services)
    revoked = await run(services, "erin@corp.example", REVOKE, {"i": {"invitationId": invitation}})
    assert revoked.errors is None and not revoked.data["revokeInvitation"]["errors"]


def _revoked_today() -> str:
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    return f"invitation as space_guest in {KEY} revoked on {today} by user:erin@corp.example"


@pytest.mark.backend
async def test_a_revoked_invitation_is_explained_as_who_can_explains_it(
    services: Services,
) -> None:
    await _invite_and_revoke(services)
    now = datetime.now(UTC)
    judge = Judge.for_settings(services.settings)
    nina, how = await population.judged(services.stores, "Nina@Partner.example", judge)
    assert nina.id == f"user:{NINA}"
    assert how == "never logged in; judged as no persona (memberships only) by the stores " + (
        "(nothing says more)"
    )
    nina = await population.with_memberships(services.stores, nina)
    aurora = await population.find_space(services.stores, KEY)
    revoked = await population.revoked_in(services.stores, services.records, nina, aurora)
    policy = services.policy.policy
    result = explain(policy, nina, KEY, "space", "read", now, revoked=revoked)
    assert not result.allowed
    assert result.ended == _revoked_today()
    assert str(result) == f"DENY: {_revoked_today()}; no other line of {policy.source} grants it"
    # Nothing ended elsewhere: a plain default deny.
    falcon = await population.find_space(services.stores, FALCON)
    there = await population.revoked_in(services.stores, services.records, nina, falcon)
    assert there == []
    assert "(default deny)" in str(explain(policy, nina, FALCON, "space", "read", now))


@pytest.mark.backend
async def test_access_held_again_is_not_explained_as_revoked(services: Services) -> None:
    await _invite_and_revoke(services)
    await _invite(services)
    now = datetime.now(UTC)
    await sees(services, newcomer(), now)  # she arrives: the new invitation binds
    nina = await population.with_memberships(services.stores, newcomer())
    aurora = await population.find_space(services.stores, KEY)
    revoked = await population.revoked_in(services.stores, services.records, nina, aurora)
    assert [str(r) for r in revoked] == [_revoked_today()]  # still in the record
    policy = services.policy.policy
    read = explain(policy, nina, KEY, "space", "read", now, revoked=revoked)
    assert read.allowed and read.ended is None
    manage = explain(policy, nina, KEY, "space", "manage_members", now, revoked=revoked)
    assert not manage.allowed and "revoked" not in str(manage)


EXPLAIN = """query($p: String!, $s: String!) {
  explainAccess(principal: $p, space: $s) { allowed principal roles judged text } }"""


@pytest.mark.backend
async def test_explain_access_names_the_revocation_for_someone_never_seen(
    services: Services,
) -> None:
    await _invite_and_revoke(services)
    app = create_app(services.settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            response = await client.post(
                "/admin/graphql",
                json={"query": EXPLAIN, "variables": {"p": NINA, "s": KEY}},
                headers=_token(app, "sam@corp.example"),
            )
            body = response.json()
            assert "errors" not in body, body
            found = body["data"]["explainAccess"]
            assert found["allowed"] is False
            assert found["principal"] == f"user:{NINA}"
            assert found["roles"] == []
            assert found["judged"].startswith("never logged in; judged as no persona")
            assert found["text"].startswith(f"DENY: {_revoked_today()}; no other line")
            bad = await client.post(
                "/admin/graphql",
                json={"query": EXPLAIN, "variables": {"p": "not-an-email", "s": KEY}},
                headers=_token(app, "sam@corp.example"),
            )
            assert "user:EMAIL or an email" in bad.json()["errors"][0]["message"]


@pytest.mark.backend
async def test_policy_explain_judges_someone_never_seen_and_names_the_revocation(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await _invite_and_revoke(services)
    settings = services.settings
    for name, value in {
        "GATEWAY_POLICY_FILE": str(settings.policy_file),
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_INTERNAL_URL": settings.internal_url,
        "GATEWAY_COMMUNITY_URL": settings.community_url,
        "GATEWAY_RECORDS_URL": settings.records_url,
        "GATEWAY_DEMO_DATA": "true",
        "GATEWAY_ORGANISATION_DOMAINS": "corp.example",
        "GATEWAY_DEV_ISSUER": "true",
    }.items():
        monkeypatch.setenv(name, str(value))
    argv = ["policy", "explain", "--user", NINA, "--space", KEY]
    assert await asyncio.to_thread(main, argv) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"user:{NINA} read space in {KEY} (policy v")
    assert out[1].startswith(f"user:{NINA}: never logged in; judged as no persona")
    assert out[2].startswith(f"DENY: {_revoked_today()}; no other line")
    # Someone the stores hold nothing of, on the organisation's domain: judged an employee.
    eng = "internal/open/engineering"
    argv = ["policy", "explain", "--user", "zoe@corp.example", "--space", eng]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "user:zoe@corp.example: never logged in; judged as employee by their email's domain "
        "(corp.example)"
    )
    assert out[2].startswith("ALLOW: allowed by ")
    argv = ["policy", "explain", "--user", "zoe", "--space", KEY]
    assert await asyncio.to_thread(main, argv) == 2
    assert "--user takes an email" in capsys.readouterr().err
