"""Opaque access tokens, checked by introspection (RFC 7662) at the local provider over real HTTP.

Here corp (endpoint discovered) and partner (endpoint configured, 30 s cache)
issue opaque tokens; community still issues JWTs only. The gateway runs
in-process; every introspection is a real POST to tests/identity/idp.py,
which counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.identity.introspection import IntrospectionEndpoint, IntrospectionVerifier
from gateway.identity.tokens import VerificationUnavailable
from tests.identity.conftest import CORP_CLIENT_SECRET, GATEWAY_TOML
from tests.identity.idp import AUDIENCE, CLIENT_ID
from tests.identity.test_bearer import (
    EMPLOYEE_ONLY,
    ask,
    assert_rejected,
    assert_unavailable,
    view,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.identity.conftest import FakeClock
    from tests.identity.idp import LocalIdP

PARTNER_CLIENT_SECRET = "partner-client-secret"
SECRETS = {
    "GATEWAY_CORP_CLIENT_SECRET": CORP_CLIENT_SECRET,
    "GATEWAY_PARTNER_CLIENT_SECRET": PARTNER_CLIENT_SECRET,
}
ERIN = {
    "sub": "00u-erin",
    "email": "Erin@corp.example",
    "email_verified": True,
    "name": "Erin Engel",
    "groups": ["everyone", "employees"],
}


def introspecting(toml: str) -> str:
    """The shared test configuration, with corp and partner accepting opaque tokens."""
    corp = 'client_secret_env = "GATEWAY_CORP_CLIENT_SECRET"\n'
    partner = 'algorithms = ["ES256"]\n'
    assert toml.count(corp) == 1 and toml.count(partner) == 1
    return toml.replace(corp, corp + "introspection = true\n").replace(
        partner,
        partner
        + "introspection = true\n"
        + 'introspection_endpoint = "{base}/partner/introspect"\n'
        + "introspection_cache_ttl = 30\n"
        + 'client_secret_env = "GATEWAY_PARTNER_CLIENT_SECRET"\n',
    )


def load(idp: LocalIdP, tmp_path: Path, **environ: str) -> Settings:
    config = tmp_path / "gateway.toml"
    config.write_text(
        introspecting(GATEWAY_TOML).format(
            base=idp.base_url, audience=AUDIENCE, client_id=CLIENT_ID, data_dir=tmp_path / "gw"
        )
    )
    return Settings.load(config, environ={**SECRETS, **environ})


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


@pytest.fixture
def settings(idp: LocalIdP, tmp_path: Path) -> Settings:
    # Introspection is for confidential clients: the partner's IdP now knows our secret too.
    idp.tenants["partner"].client_secret = PARTNER_CLIENT_SECRET
    return load(idp, tmp_path)


def asked(idp: LocalIdP, tenant: str) -> int:
    return len(idp.tenants[tenant].introspection_requests)


# --- who an opaque token makes you ----------------------------------------------------------


async def test_an_opaque_token_is_the_same_person_as_a_jwt(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    token = corp.opaque_token(**ERIN)
    viewer = await view(gateway, token)
    assert viewer["id"] == "user:erin@corp.example"
    assert viewer["roles"] == ["employee"]
    assert viewer["issuer"] == corp.issuer
    assert viewer["organisation"] == "Corp"
    assert EMPLOYEE_ONLY | {"Project Falcon", "Aurora prototype feedback"} <= viewer["spaces"]
    # The same rules as for a JWT with these claims: the very same view.
    assert viewer == await view(gateway, corp.token(**ERIN))
    # One POST with client_secret_basic; the endpoint came from discovery.
    assert corp.introspection_requests == [
        {"auth": "basic", "token": token, "token_type_hint": "access_token"}
    ]
    assert corp.discovery_requests == 2  # once for introspection, once for the JWT's keys
    assert asked(idp, "partner") == 0  # corp vouched for it: nobody else is asked


async def test_a_partner_asserting_employee_groups_stays_a_partner(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    token = idp.tenants["partner"].opaque_token(
        email="paula@partner.example",
        email_verified=True,
        groups=["employees"],
        roles=["employee", "security_admin"],
    )
    viewer = await view(gateway, token)
    assert viewer["roles"] == ["partner"]
    assert viewer["organisation"] == "Partner Ltd"
    assert "Aurora prototype feedback" in viewer["spaces"]
    assert not EMPLOYEE_ONLY & viewer["spaces"]
    # Providers are asked in configuration order until one says active.
    assert (asked(idp, "corp"), asked(idp, "partner")) == (1, 1)


@pytest.mark.parametrize(
    "claims",
    [{"aud": ["another-api", AUDIENCE]}, {"exp": None}, {"iss": None}, {"token_type": None}],
    ids=["aud list naming us", "no exp", "no iss", "no token_type"],
)
async def test_claims_introspection_may_leave_out(
    gateway: httpx.AsyncClient, idp: LocalIdP, claims: dict[str, Any]
) -> None:
    """RFC 7662 makes all but ``active`` optional: checked when present, not required, but
    for the audience (next section)."""
    token = idp.tenants["corp"].opaque_token(groups=["employees"], **claims)
    assert (await view(gateway, token))["roles"] == ["employee"]


async def test_jwts_are_still_checked_locally(gateway: httpx.AsyncClient, idp: LocalIdP) -> None:
    token = idp.tenants["corp"].token(groups=["employees"])
    assert (await view(gateway, token))["roles"] == ["employee"]
    assert_rejected(await ask(gateway, idp.tenants["corp"].token(aud="x")), "(aud)")
    assert asked(idp, "corp") == asked(idp, "partner") == 0


# --- what is refused -------------------------------------------------------------------------

NOW = int(time.time())
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "expired": ({"iat": NOW - 7200, "nbf": NOW - 7200, "exp": NOW - 3600}, "the token has expired"),
    "not yet valid": ({"nbf": NOW + 3600}, "the token is not valid yet (nbf)"),
    "issued in the future": ({"iat": NOW + 3600}, "issued in the future (iat)"),
    "wrong aud": ({"aud": "someone-else"}, "the token is not meant for this gateway (aud)"),
    "wrong aud list": ({"aud": ["a", "b"]}, "the token is not meant for this gateway (aud)"),
    "another issuer": ({"iss": "https://idp.evil.example"}, "from another issuer (iss)"),
    "a refresh token": ({"token_type": "refresh_token"}, "a refresh token is not an access token"),
    "keycloak's refresh": ({"typ": "Refresh"}, "a refresh token is not an access token (typ)"),
    "no aud": ({"aud": None}, "the token names no audience (aud)"),
    "no subject": ({"sub": None}, "the token lacks a required claim (sub)"),
    "an exp that is text": ({"exp": "tomorrow"}, "the exp claim is invalid"),
}


@pytest.mark.parametrize("name", list(REFUSED))
async def test_an_active_answer_is_still_checked(
    gateway: httpx.AsyncClient, idp: LocalIdP, name: str
) -> None:
    corp = idp.tenants["corp"]
    corp.introspection_checks_expiry = False  # its clock is behind: it calls anything active
    claims, reason = REFUSED[name]
    assert_rejected(await ask(gateway, corp.opaque_token(groups=["employees"], **claims)), reason)
    # The token was corp's: the search ends there.
    assert (asked(idp, "corp"), asked(idp, "partner")) == (1, 0)


async def test_expiry_within_the_leeway_is_accepted(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    corp.introspection_checks_expiry = False
    now = int(time.time())
    token = corp.opaque_token(groups=["employees"], iat=now - 600, nbf=now - 600, exp=now - 30)
    assert (await view(gateway, token))["roles"] == ["employee"]


async def test_unknown_and_revoked_tokens_are_not_active(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    assert_rejected(await ask(gateway, secrets.token_urlsafe(32)), "the token is not active")
    revoked = corp.opaque_token(groups=["employees"])
    corp.revoke(revoked)
    assert_rejected(await ask(gateway, revoked), "the token is not active")
    # Something shaped like a JWT but not one is opaque too, and unknown.
    assert_rejected(await ask(gateway, "a.b.c"), "the token is not active")
    assert (asked(idp, "corp"), asked(idp, "partner")) == (3, 3)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not a token", "characters a bearer token cannot have"),
        ('tok"en', "characters a bearer token cannot have"),
        ("x" * 5000, "too long to be an access token"),
    ],
    ids=["spaces", "a quote", "5000 characters"],
)
async def test_what_cannot_be_a_bearer_token_troubles_no_provider(
    gateway: httpx.AsyncClient, idp: LocalIdP, token: str, reason: str
) -> None:
    assert_rejected(await ask(gateway, token), reason)
    assert asked(idp, "corp") == asked(idp, "partner") == 0


# --- tokens that were never the gateway's -----------------------------------------------------


async def test_a_refresh_token_without_token_type_is_refused(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    """node oidc-provider answers for a refresh token with no token_type and no aud."""
    corp = idp.tenants["corp"]
    token = corp.refresh_token(**ERIN)
    response = await ask(gateway, token)
    assert_rejected(response, "the token names no audience (aud)")
    assert response.status_code == 401
    assert asked(idp, "partner") == 0  # active at corp: its verdict, nobody else is asked


async def test_another_applications_token_is_refused(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    """Issued to another client at the same provider, for no audience: not the gateway's,
    however employee its user is."""
    token = idp.tenants["corp"].opaque_token(**ERIN, aud=None, client_id="other-app")
    assert_rejected(
        await ask(gateway, token), "not meant for this gateway ('corp' lists no accepted_clients)"
    )


def accepting_clients(idp: LocalIdP, tmp_path: Path, clients: str) -> Settings:
    """The introspecting configuration with corp's accepted_clients set."""
    config = tmp_path / "gateway.toml"
    corp = 'client_secret_env = "GATEWAY_CORP_CLIENT_SECRET"\nintrospection = true\n'
    toml = introspecting(GATEWAY_TOML)
    assert toml.count(corp) == 1
    toml = toml.replace(corp, corp + f"accepted_clients = {clients}\n")
    config.write_text(
        toml.format(
            base=idp.base_url, audience=AUDIENCE, client_id=CLIENT_ID, data_dir=tmp_path / "gw"
        )
    )
    return Settings.load(config, environ=SECRETS)


async def test_a_token_of_an_accepted_client_without_aud(
    idp: LocalIdP, tmp_path: Path, clock: FakeClock
) -> None:
    idp.tenants["partner"].client_secret = PARTNER_CLIENT_SECRET
    corp = idp.tenants["corp"]
    settings = accepting_clients(idp, tmp_path, '["mobile-app", "desktop-app"]')
    async with running(settings, clock) as gateway:
        ours = corp.opaque_token(**ERIN, aud=None, client_id="desktop-app")
        viewer = await view(gateway, ours)
        assert (viewer["id"], viewer["roles"]) == ("user:erin@corp.example", ["employee"])
        other = corp.opaque_token(**ERIN, aud=None, client_id="other-app")
        assert_rejected(
            await ask(gateway, other),
            "issued to 'other-app', which is not one of this gateway's clients",
        )
        nobody = corp.opaque_token(**ERIN, aud=None, client_id=None)
        assert_rejected(await ask(gateway, nobody), "issued to no client (client_id)")
        # An accepted client's token addressed to another service is that service's.
        elsewhere = corp.opaque_token(**ERIN, aud="billing-api", client_id="mobile-app")
        assert_rejected(await ask(gateway, elsewhere), "not meant for this gateway (aud)")
        # The accepted client's refresh token: no aud and no token_type, so nothing says
        # it is an access token.
        refresh = corp.refresh_token(client_id="mobile-app", **ERIN)
        assert_rejected(await ask(gateway, refresh), "no audience (aud) and no token_type")
        typed = corp.opaque_token(**ERIN, aud=None, client_id="mobile-app", token_type="refresh")
        assert_rejected(await ask(gateway, typed), "a refresh token is not an access token")


# --- when introspection fails: never guest, never a verdict on the token ------------------


async def test_provider_down_is_503_not_guest(
    gateway: httpx.AsyncClient, idp: LocalIdP, caplog: pytest.LogCaptureFixture
) -> None:
    token = idp.tenants["corp"].opaque_token(**ERIN)
    idp.stop()
    with caplog.at_level(logging.WARNING, logger="gateway.identity"):
        response = await ask(gateway, token)
    assert_unavailable(response, "introspection at 'corp' is unavailable")
    assert "introspection at 'partner' is unavailable" in response.text
    assert "cannot" in caplog.text and "'corp'" in caplog.text
    assert token not in caplog.text  # nor is it anywhere else the gateway keeps


async def test_a_failing_provider_answers_503(gateway: httpx.AsyncClient, idp: LocalIdP) -> None:
    corp = idp.tenants["corp"]
    corp.introspection_status = 502
    token = corp.opaque_token(groups=["employees"])
    assert_unavailable(await ask(gateway, token), "introspection at 'corp' is unavailable")
    # Nothing was cached from the failure: once the provider recovers, the token works.
    corp.introspection_status = None
    assert (await view(gateway, token))["roles"] == ["employee"]


async def test_one_provider_down_does_not_block_another_s_tokens(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    idp.tenants["corp"].introspection_status = 500
    token = idp.tenants["partner"].opaque_token(email="paula@partner.example", email_verified=True)
    assert (await view(gateway, token))["roles"] == ["partner"]


async def test_wrong_client_credentials_are_named(
    idp: LocalIdP, tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Our misconfiguration, not the caller's token: a 503 that says so, and a loud log line."""
    idp.tenants["partner"].client_secret = PARTNER_CLIENT_SECRET
    settings = load(idp, tmp_path, GATEWAY_CORP_CLIENT_SECRET="not-the-secret")
    async with running(settings, clock) as gateway:
        with caplog.at_level(logging.ERROR, logger="gateway.identity"):
            response = await ask(gateway, idp.tenants["corp"].opaque_token(**ERIN))
    assert_unavailable(
        response, "introspection at 'corp' is unavailable (it refused the gateway's client"
    )
    assert "GATEWAY_CORP_CLIENT_SECRET" in caplog.text


async def test_a_provider_that_advertises_no_endpoint(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    corp.advertise_introspection = False
    response = await ask(gateway, corp.opaque_token(groups=["employees"]))
    assert_unavailable(response, "names no introspection_endpoint; configure one")


async def test_a_slow_provider_is_unavailable(idp: LocalIdP, settings: Settings) -> None:
    corp = idp.tenants["corp"]
    corp.introspection_delay = 1.0
    (provider,) = [p for p in settings.providers if p.name == "corp"]
    async with httpx.AsyncClient() as client:
        verifier = IntrospectionVerifier([IntrospectionEndpoint(provider, client, timeout=0.2)])
        with pytest.raises(VerificationUnavailable, match=r"'corp' is unavailable \(no answer in"):
            await verifier.verify(corp.opaque_token(groups=["employees"]))


# --- the cache ------------------------------------------------------------------------------


async def test_an_active_answer_is_reused_for_the_cache_ttl(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    partner = idp.tenants["partner"]
    token = partner.opaque_token(email="paula@partner.example", email_verified=True)
    for _ in range(3):
        assert (await view(gateway, token))["roles"] == ["partner"]
    assert asked(idp, "partner") == 1
    clock.advance(29)  # partner's introspection_cache_ttl is 30 s
    assert (await view(gateway, token))["roles"] == ["partner"]
    assert asked(idp, "partner") == 1
    clock.advance(2)
    assert (await view(gateway, token))["roles"] == ["partner"]
    assert asked(idp, "partner") == 2


async def test_an_answer_is_never_reused_past_exp(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    token = corp.opaque_token(groups=["employees"], exp=int(time.time()) + 20)
    assert (await view(gateway, token))["roles"] == ["employee"]
    clock.advance(15)
    assert (await view(gateway, token))["roles"] == ["employee"]
    assert asked(idp, "corp") == 1
    clock.advance(6)  # past exp, well within the 60 s TTL: asked again
    assert (await view(gateway, token))["roles"] == ["employee"]
    assert asked(idp, "corp") == 2


async def test_revocation_takes_effect_when_the_cached_answer_ages_out(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    token = corp.opaque_token(groups=["employees"])
    assert (await view(gateway, token))["roles"] == ["employee"]
    corp.revoke(token)
    clock.advance(59)
    assert (await view(gateway, token))["roles"] == ["employee"]  # the documented window
    clock.advance(2)
    assert_rejected(await ask(gateway, token), "the token is not active")


async def test_refusals_are_reused_for_seconds_only(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    stranger = secrets.token_urlsafe(32)
    for _ in range(3):
        assert_rejected(await ask(gateway, stranger), "the token is not active")
    assert asked(idp, "corp") == 1
    clock.advance(6)
    assert_rejected(await ask(gateway, stranger), "the token is not active")
    assert asked(idp, "corp") == 2


async def test_cached_answers_outlive_a_provider_outage_briefly(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    token = idp.tenants["corp"].opaque_token(groups=["employees"])
    assert (await view(gateway, token))["roles"] == ["employee"]
    idp.stop()
    assert (await view(gateway, token))["roles"] == ["employee"]
    clock.advance(61)
    assert_unavailable(await ask(gateway, token), "introspection at 'corp' is unavailable")


async def test_concurrent_requests_share_one_introspection(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    corp.introspection_delay = 0.2
    token = corp.opaque_token(groups=["employees"])
    viewers = await asyncio.gather(*(view(gateway, token) for _ in range(20)))
    assert {tuple(v["roles"]) for v in viewers} == {("employee",)}
    assert asked(idp, "corp") == 1


async def test_the_cache_is_bounded(idp: LocalIdP, settings: Settings, clock: FakeClock) -> None:
    corp = idp.tenants["corp"]
    (provider,) = [p for p in settings.providers if p.name == "corp"]
    tokens = [corp.opaque_token(groups=["employees"]) for _ in range(3)]
    async with httpx.AsyncClient() as client:
        verifier = IntrospectionVerifier(
            [IntrospectionEndpoint(provider, client)], clock=clock, cache_size=2
        )
        for token in [*tokens, tokens[2], tokens[1]]:
            await verifier.verify(token)
        assert asked(idp, "corp") == 3  # the two most recent were still cached
        await verifier.verify(tokens[0])  # the oldest was dropped to make room
        assert asked(idp, "corp") == 4
