"""Bearer tokens without identity claims, completed at the local provider's userinfo endpoint.

One corp tenant serves employees and partners (an ``all`` rule for employees); with
``userinfo = true`` its access tokens, JWT or opaque, carry only ``sub`` and the
gateway reads email and groups from ``/corp/userinfo`` over real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.http.app import create_app
from gateway.identity.jwks import JwksCache
from gateway.identity.oidc import OidcVerifier
from gateway.identity.userinfo import Userinfo
from tests.identity.conftest import CORP_CLIENT_SECRET
from tests.identity.test_bearer import (
    EMPLOYEE_ONLY,
    ask,
    assert_rejected,
    assert_unavailable,
    one_tenant,
    view,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from gateway.config import Settings
    from tests.identity.conftest import FakeClock
    from tests.identity.idp import LocalIdP

ERIN = {
    "email": "erin@corp.example",
    "email_verified": True,
    "name": "Erin Engel",
    "groups": ["everyone", "employees"],
}
USERINFO = (
    'client_id = "gateway-web"\n'
    'client_secret_env = "GATEWAY_CORP_CLIENT_SECRET"\n'
    "introspection = true\n"
    "userinfo = true\n"
)


@pytest.fixture
def settings(idp: LocalIdP, tmp_path: Path) -> Settings:
    corp = idp.tenants["corp"]
    corp.profiles["00u-erin"] = dict(ERIN)
    return one_tenant(idp, tmp_path, USERINFO, GATEWAY_CORP_CLIENT_SECRET=CORP_CLIENT_SECRET)


def asked(idp: LocalIdP) -> int:
    return len(idp.tenants["corp"].userinfo_requests)


async def test_a_jwt_without_claims_is_completed_from_userinfo(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    token = corp.token(sub="00u-erin")
    viewer = await view(gateway, token)
    assert (viewer["id"], viewer["roles"]) == ("user:erin@corp.example", ["employee"])
    assert viewer["organisation"] == "Corp"
    assert EMPLOYEE_ONLY | {"Project Falcon"} <= viewer["spaces"]
    # Asked with the token itself, once: the answer is cached.
    assert corp.userinfo_requests == [f"Bearer {token}"]
    await view(gateway, token)
    assert asked(idp) == 1


async def test_an_opaque_token_is_completed_too(gateway: httpx.AsyncClient, idp: LocalIdP) -> None:
    token = idp.tenants["corp"].opaque_token(sub="00u-erin")
    viewer = await view(gateway, token)
    assert (viewer["id"], viewer["roles"]) == ("user:erin@corp.example", ["employee"])


async def test_without_userinfo_the_same_token_is_a_guest(
    idp: LocalIdP, tmp_path: Path, clock: FakeClock
) -> None:
    """What the setting is for: the same person, a guest by bearer token."""
    idp.tenants["corp"].profiles["00u-erin"] = dict(ERIN)
    async with running(one_tenant(idp, tmp_path), clock) as gateway:
        viewer = await view(gateway, idp.tenants["corp"].token(sub="00u-erin"))
    assert viewer["roles"] == ["guest"]
    assert asked(idp) == 0


async def test_the_token_s_claims_win_and_the_rules_still_hold(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    # A guest user of the tenant whose profile says employees: still a partner at most.
    corp.profiles["p-evil"] = {
        "email": "evil@partner.example",
        "email_verified": True,
        "groups": ["employees"],
        "iss": "https://idp.evil.example",
        "aud": "someone-else",
    }
    viewer = await view(gateway, corp.token(sub="p-evil"))
    assert (viewer["roles"], viewer["organisation"]) == (["partner"], "Partner Ltd")
    assert viewer["issuer"] == corp.issuer  # claims about the token never come from userinfo
    # The token's own email wins over the profile's: userinfo only adds what it lacks.
    token = corp.token(sub="00u-erin", email="erin@partner.example", email_verified=True)
    assert (await view(gateway, token))["roles"] == ["partner"]


async def test_userinfo_for_another_subject_is_refused(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    corp.userinfo_sub = "00u-someone-else"
    assert_rejected(
        await ask(gateway, corp.token(sub="00u-erin")),
        "the userinfo endpoint of 'corp' answered for another subject (sub)",
    )


async def test_a_token_userinfo_refuses_is_401(gateway: httpx.AsyncClient, idp: LocalIdP) -> None:
    corp = idp.tenants["corp"]
    corp.userinfo_status = 401
    assert_rejected(
        await ask(gateway, corp.token(sub="00u-erin")),
        "the userinfo endpoint of 'corp' refused the token (HTTP 401)",
    )


@pytest.mark.parametrize("status", [500, 502])
async def test_a_failing_userinfo_endpoint_is_503(
    gateway: httpx.AsyncClient, idp: LocalIdP, status: int
) -> None:
    corp = idp.tenants["corp"]
    corp.userinfo_status = status
    token = corp.token(sub="00u-erin")
    assert_unavailable(
        await ask(gateway, token),
        f"the userinfo endpoint of 'corp' is unavailable (it answered HTTP {status})",
    )
    # Nothing was cached from the failure: once the provider recovers, the token works.
    corp.userinfo_status = None
    assert (await view(gateway, token))["roles"] == ["employee"]


async def test_an_opaque_token_whose_userinfo_is_down_is_503(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    corp.userinfo_status = 503
    token = corp.opaque_token(sub="00u-erin")
    assert_unavailable(await ask(gateway, token), "the userinfo endpoint of 'corp' is unavailable")


async def test_a_provider_that_advertises_no_userinfo_endpoint(
    gateway: httpx.AsyncClient, idp: LocalIdP, caplog: pytest.LogCaptureFixture
) -> None:
    corp = idp.tenants["corp"]
    corp.advertise_userinfo = False
    token = corp.token(sub="00u-erin")
    with caplog.at_level(logging.WARNING, logger="gateway.identity"):
        response = await ask(gateway, token)
    assert_unavailable(response, "names no userinfo_endpoint; configure one")
    assert token not in caplog.text


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ("http://gate\u0000way/userinfo", "cannot connect"),
        ("not a url", "cannot connect"),
        (["a list"], "names no userinfo_endpoint"),
    ],
    ids=["a NUL in the host", "no scheme", "not a string"],
)
async def test_a_discovered_endpoint_that_is_no_url_is_503(
    gateway: httpx.AsyncClient, idp: LocalIdP, endpoint: object, reason: str
) -> None:
    corp = idp.tenants["corp"]
    corp.discovery_extra = {"userinfo_endpoint": endpoint}
    assert_unavailable(await ask(gateway, corp.token(sub="00u-erin")), reason)


async def test_concurrent_requests_share_one_userinfo_call(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    corp.userinfo_delay = 0.2
    token = corp.token(sub="00u-erin")
    viewers = await asyncio.gather(*(view(gateway, token) for _ in range(20)))
    assert {tuple(v["roles"]) for v in viewers} == {("employee",)}
    assert asked(idp) == 1


async def test_an_answer_is_never_reused_past_exp(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    token = idp.tenants["corp"].token(sub="00u-erin", exp=int(time.time()) + 20)
    assert (await view(gateway, token))["roles"] == ["employee"]
    clock.advance(15)
    assert (await view(gateway, token))["roles"] == ["employee"]
    assert asked(idp) == 1
    clock.advance(6)  # past the token's exp by the cache's clock: asked again
    assert (await view(gateway, token))["roles"] == ["employee"]
    assert asked(idp) == 2


async def test_the_userinfo_cache_is_bounded(
    idp: LocalIdP, settings: Settings, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    (provider,) = settings.providers
    tokens = [corp.token(sub="00u-erin", jti=str(i)) for i in range(3)]
    async with httpx.AsyncClient() as client:
        userinfo = Userinfo(provider, client, clock=clock, cache_size=2)
        verifier = OidcVerifier(
            provider, JwksCache(provider, client, clock=clock), userinfo=userinfo
        )
        for token in [*tokens, tokens[2], tokens[1]]:
            assert (await verifier.verify(token)).roles == {"employee"}
        assert asked(idp) == 3  # the two most recent were still cached
        await verifier.verify(tokens[0])  # the oldest was dropped to make room
        assert asked(idp) == 4


async def test_a_configured_endpoint_skips_discovery(
    idp: LocalIdP, tmp_path: Path, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    corp.profiles["00u-erin"] = dict(ERIN)
    corp.advertise_userinfo = False
    extra = USERINFO + f'userinfo_endpoint = "{corp.issuer}/userinfo"\n'
    settings = one_tenant(idp, tmp_path, extra, GATEWAY_CORP_CLIENT_SECRET=CORP_CLIENT_SECRET)
    async with running(settings, clock) as gateway:
        assert (await view(gateway, corp.token(sub="00u-erin")))["roles"] == ["employee"]


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client
