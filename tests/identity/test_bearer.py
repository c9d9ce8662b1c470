"""Bearer tokens from configured OpenID providers, through the whole app over real HTTP keys.

The gateway runs in-process (httpx ASGITransport); it fetches discovery and key
sets from a real local provider on loopback (tests/identity/idp.py).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gateway.config import Settings
from gateway.http.app import create_app
from tests.identity.idp import AUDIENCE, b64, hs256_with, make_key, unsigned, with_payload

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.identity.conftest import FakeClock
    from tests.identity.idp import LocalIdP

QUERY = """{
  viewer { id roles issuer organisation email isGuest }
  spaces(first: 100) { edges { node { name } } }
}"""

EMPLOYEE_ONLY = {"Engineering", "Engineering Q&A"}


async def ask(gateway: httpx.AsyncClient, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await gateway.post("/graphql", json={"query": QUERY}, headers=headers)


async def view(gateway: httpx.AsyncClient, token: str | None = None) -> dict[str, Any]:
    """The viewer and the names of the spaces it sees; fails on anything but a 200."""
    response = await ask(gateway, token)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return {**data["viewer"], "spaces": {e["node"]["name"] for e in data["spaces"]["edges"]}}


def assert_unavailable(response: httpx.Response, reason: str) -> None:
    """Could not be checked: 503 to retry later, neither a guest nor a verdict on the token."""
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert "www-authenticate" not in response.headers
    body = response.json()
    assert "data" not in body
    assert reason in body["errors"][0]["message"], body


def assert_rejected(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="'), challenge
    assert reason in challenge, challenge
    assert "data" not in response.json()  # never downgraded to a guest


# --- who a valid token makes you ---------------------------------------------------------


async def test_corporate_employee_gets_the_employee_view(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    corp = idp.tenants["corp"]
    token = corp.token(
        sub="00u-erin",
        email="Erin@corp.example",
        email_verified=True,
        name="Erin Engel",
        groups=["everyone", "employees"],
    )
    viewer = await view(gateway, token)
    assert viewer["id"] == "user:erin@corp.example"
    assert viewer["roles"] == ["employee"]
    assert viewer["issuer"] == corp.issuer
    assert viewer["organisation"] == "Corp"
    assert viewer["isGuest"] is False
    # Employee-only spaces, the restricted one Erin is a member of, and the community.
    assert EMPLOYEE_ONLY | {"Project Falcon", "Aurora prototype feedback"} <= viewer["spaces"]
    assert "Members lounge" in viewer["spaces"]
    assert "HR private" not in viewer["spaces"]
    # The key set was fetched once, after discovery; later tokens use the cache.
    assert (corp.discovery_requests, corp.jwks_requests) == (1, 1)
    await view(gateway, token)
    assert corp.jwks_requests == 1


async def test_contractor_by_group(gateway: httpx.AsyncClient, idp: LocalIdP) -> None:
    token = idp.tenants["corp"].token(
        email="carl@contractor.example", email_verified=True, groups=["contractors"]
    )
    viewer = await view(gateway, token)
    assert viewer["roles"] == ["contractor"]
    assert viewer["organisation"] == "Contractor Co"
    assert viewer["spaces"] >= EMPLOYEE_ONLY
    assert not {"Project Falcon", "HR private"} & viewer["spaces"]


async def test_partner_by_email_domain(gateway: httpx.AsyncClient, idp: LocalIdP) -> None:
    token = idp.tenants["partner"].token(email="paula@partner.example", email_verified=True)
    viewer = await view(gateway, token)
    assert viewer["roles"] == ["partner"]
    assert viewer["organisation"] == "Partner Ltd"
    assert viewer["email"] == "paula@partner.example"
    # The invitation bound to her verified email, and nothing else that is internal.
    assert "Aurora prototype feedback" in viewer["spaces"]
    assert not EMPLOYEE_ONLY & viewer["spaces"]


async def test_partner_asserting_employee_groups_stays_a_partner(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    token = idp.tenants["partner"].token(
        email="paula@partner.example",
        email_verified=True,
        groups=["employees"],
        roles=["employee", "security_admin"],
    )
    viewer = await view(gateway, token)
    assert viewer["roles"] == ["partner"]
    assert not EMPLOYEE_ONLY & viewer["spaces"]
    assert "Project Falcon" not in viewer["spaces"]


@pytest.mark.parametrize("verified", [False, "true", None])
async def test_an_unverified_email_is_no_domain_and_binds_nothing(
    gateway: httpx.AsyncClient, idp: LocalIdP, verified: object
) -> None:
    anonymous = await view(gateway)
    token = idp.tenants["partner"].token(email="paula@partner.example", email_verified=verified)
    viewer = await view(gateway, token)
    assert viewer["roles"] == ["guest"]
    assert viewer["email"] is None
    assert viewer["isGuest"] is False
    assert viewer["id"] == f"user:{idp.tenants['partner'].issuer}#subject-1"
    # No persona and no invitation: exactly what an anonymous caller sees.
    assert viewer["spaces"] == anonymous["spaces"]


async def test_no_matching_rule_authenticates_with_the_guest_persona_only(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    anonymous = await view(gateway)
    corp = idp.tenants["corp"]
    token = corp.token(email="visitor@corp.example", email_verified=True, groups=["visitors"])
    viewer = await view(gateway, token)
    assert viewer["roles"] == ["guest"]
    assert viewer["issuer"] == corp.issuer and viewer["isGuest"] is False
    assert viewer["organisation"] is None
    assert viewer["spaces"] == anonymous["spaces"]


async def test_community_provider_makes_members(gateway: httpx.AsyncClient, idp: LocalIdP) -> None:
    community = idp.tenants["community"]
    token = community.token(aud=["community-app"], email="mo@customer.example", email_verified=True)
    viewer = await view(gateway, token)
    assert viewer["roles"] == ["member"]
    assert "Members lounge" in viewer["spaces"]
    assert not EMPLOYEE_ONLY & viewer["spaces"]
    # Its jwks_uri is configured: no discovery.
    assert (community.discovery_requests, community.jwks_requests) == (0, 1)


async def test_one_person_across_providers(gateway: httpx.AsyncClient, idp: LocalIdP) -> None:
    """A verified email that a provider vouches for is the same person whatever the login:
    Tara, invited to Aurora under her email (the demo's invitation), finds it when she
    arrives through the community provider, with its own subject for her."""
    token = idp.tenants["community"].token(
        aud=["community-app"], sub="forum-4711", email="Tara@Customer.example", email_verified=True
    )
    viewer = await view(gateway, token)
    assert viewer["id"] == "user:tara@customer.example"
    assert "Aurora prototype feedback" in viewer["spaces"]
    # Unverified, the same address links nothing: a separate identity, no invitation.
    unverified = idp.tenants["community"].token(
        aud=["community-app"], sub="forum-4711", email="tara@customer.example", email_verified=False
    )
    stranger = await view(gateway, unverified)
    assert stranger["id"] != "user:tara@customer.example"
    assert "Aurora prototype feedback" not in stranger["spaces"]


async def test_clock_skew_within_the_leeway_is_accepted(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    now = int(time.time())
    corp = idp.tenants["corp"]
    just_expired = corp.token(groups=["employees"], iat=now - 600, nbf=now - 600, exp=now - 30)
    almost_valid = corp.token(groups=["employees"], nbf=now + 30)
    assert (await view(gateway, just_expired))["roles"] == ["employee"]
    assert (await view(gateway, almost_valid))["roles"] == ["employee"]


async def test_the_dev_issuer_still_comes_first(settings: Any, idp: LocalIdP) -> None:
    """Providers come after the development issuer in the chain; both work side by side."""
    import httpx

    from gateway.http.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        dev = app.state.services.dev_issuer.issue(
            email="sam@corp.example", name="Sam", roles=["security_admin"]
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as gateway:
            assert (await view(gateway, dev))["roles"] == ["security_admin"]
            oidc = idp.tenants["corp"].token(groups=["employees"])
            assert (await view(gateway, oidc))["roles"] == ["employee"]


# --- what is refused ----------------------------------------------------------------------

ATTACKER = "attacker"


def _forgeries() -> dict[str, Callable[[LocalIdP], tuple[str, str]]]:
    """Each forged or misdirected token, and the words its 401 must contain."""

    def corp_claims(idp: LocalIdP, **extra: Any) -> dict[str, Any]:
        return idp.tenants["corp"].claims(groups=["employees"], **extra)

    def tampered(idp: LocalIdP) -> tuple[str, str]:
        corp = idp.tenants["corp"]
        token = corp.token(groups=["contractors"])
        claims = corp.claims(groups=["employees"])
        return with_payload(token, claims), "the signature does not verify"

    now = int(time.time())
    return {
        "alg none": lambda idp: (
            unsigned({"alg": "none", "typ": "JWT"}, corp_claims(idp)),
            "algorithm 'none' is not accepted from 'corp'",
        ),
        "HS256 signed with the RSA public key": lambda idp: (
            hs256_with(
                idp.tenants["corp"].signing_key.as_pem(private=False),
                {"typ": "JWT", "kid": idp.tenants["corp"].signing_key.kid},
                corp_claims(idp),
            ),
            "algorithm 'HS256' is not accepted from 'corp'",
        ),
        "expired": lambda idp: (
            idp.tenants["corp"].token(
                groups=["employees"], iat=now - 7200, nbf=now - 7200, exp=now - 3600
            ),
            "the token has expired",
        ),
        "not yet valid": lambda idp: (
            idp.tenants["corp"].token(groups=["employees"], nbf=now + 3600),
            "the token is not valid yet (nbf)",
        ),
        "no expiry": lambda idp: (
            idp.tenants["corp"].token(groups=["employees"], exp=None),
            "lacks a required claim (exp)",
        ),
        "wrong iss: the corp key, the community issuer": lambda idp: (
            idp.tenants["corp"].token(iss=idp.tenants["community"].issuer),
            "no signing key with id",
        ),
        "wrong iss: a look-alike of the corp issuer": lambda idp: (
            idp.tenants["corp"].token(iss=idp.tenants["corp"].issuer + "/"),
            "are not accepted here",
        ),
        "wrong iss: RS256 where the issuer signs with ES256 only": lambda idp: (
            idp.tenants["corp"].token(iss=idp.tenants["partner"].issuer),
            "algorithm 'RS256' is not accepted from 'partner'",
        ),
        "wrong aud": lambda idp: (
            idp.tenants["corp"].token(groups=["employees"], aud="someone-else"),
            "not meant for this gateway (aud)",
        ),
        "no aud": lambda idp: (
            idp.tenants["corp"].token(groups=["employees"], aud=None),
            "lacks a required claim (aud)",
        ),
        "no subject": lambda idp: (
            idp.tenants["corp"].token(groups=["employees"], sub=None),
            "lacks a required claim (sub)",
        ),
        "tampered payload": tampered,
        "another key under the provider's kid": lambda idp: (
            idp.tenants["corp"].token(
                key=make_key(ATTACKER), header={"kid": idp.tenants["corp"].signing_key.kid}
            ),
            "the signature does not verify",
        ),
        "unknown kid": lambda idp: (
            idp.tenants["corp"].token(key=make_key(ATTACKER), header={"kid": "no-such-key"}),
            "no signing key with id 'no-such-key' at 'corp'",
        ),
        "unconfigured issuer": lambda idp: (
            idp.tenants["corp"].token(key=make_key(ATTACKER), iss="https://idp.evil.example"),
            "tokens from issuer 'https://idp.evil.example' are not accepted here",
        ),
        "not a JWT": lambda idp: ("not-a-jwt", "not a well-formed JWT"),
    }


FORGERIES = _forgeries()


@pytest.mark.parametrize("name", list(FORGERIES))
async def test_forged_and_misdirected_tokens_get_401(
    gateway: httpx.AsyncClient, idp: LocalIdP, name: str
) -> None:
    token, reason = FORGERIES[name](idp)
    assert_rejected(await ask(gateway, token), reason)


async def test_none_and_hs256_never_reach_the_key_set(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    for name in ("alg none", "HS256 signed with the RSA public key"):
        token, reason = FORGERIES[name](idp)
        assert_rejected(await ask(gateway, token), reason)
    assert idp.tenants["corp"].jwks_requests == 0


# --- the key set: refetch, rate limit, rotation, provider down ---------------------------


async def test_unknown_kid_is_refused_after_exactly_one_refetch(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    await view(gateway, corp.token(groups=["employees"]))
    assert corp.jwks_requests == 1
    clock.advance(31)
    stranger = corp.token(key=make_key(ATTACKER), header={"kid": "no-such-key"})
    assert_rejected(await ask(gateway, stranger), "no signing key with id 'no-such-key'")
    assert corp.jwks_requests == 2
    # Within the interval the same kid costs the provider nothing more.
    assert_rejected(await ask(gateway, stranger), "no signing key with id 'no-such-key'")
    assert corp.jwks_requests == 2


async def test_a_flood_of_unknown_kids_costs_at_most_one_refetch(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    good = corp.token(groups=["employees"])
    await view(gateway, good)
    clock.advance(31)
    attacker = make_key(ATTACKER)
    flood = [corp.token(key=attacker, header={"kid": secrets.token_hex(8)}) for _ in range(50)]
    responses = await asyncio.gather(*(ask(gateway, token) for token in flood))
    for response in responses:
        assert_rejected(response, "no signing key with id")
    assert corp.jwks_requests == 2
    assert (await view(gateway, good))["roles"] == ["employee"]
    assert corp.jwks_requests == 2


async def test_a_flood_on_a_cold_cache_fetches_once(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    partner = idp.tenants["partner"]
    attacker = make_key("attacker-ec", "ES256")
    flood = [partner.token(key=attacker, header={"kid": secrets.token_hex(8)}) for _ in range(50)]
    responses = await asyncio.gather(*(ask(gateway, token) for token in flood))
    for response in responses:
        assert_rejected(response, "no signing key with id")
    assert (partner.discovery_requests, partner.jwks_requests) == (1, 1)


async def test_key_rotation(gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock) -> None:
    corp = idp.tenants["corp"]
    old_key = corp.signing_key
    old_token = corp.token(groups=["employees"])
    assert (await view(gateway, old_token))["roles"] == ["employee"]
    assert corp.jwks_requests == 1

    # The provider publishes a new key next to the old one and signs with it.
    corp.rotate(make_key("corp-next"))
    new_token = corp.token(groups=["employees"])
    clock.advance(31)
    assert (await view(gateway, new_token))["roles"] == ["employee"]
    assert corp.jwks_requests == 2  # one refetch for the new kid
    assert (await view(gateway, old_token))["roles"] == ["employee"]

    # The provider retires the old key: the cached copy still checks old tokens...
    corp.retire(old_key)
    clock.advance(31)
    assert (await view(gateway, old_token))["roles"] == ["employee"]
    assert (await view(gateway, new_token))["roles"] == ["employee"]
    assert corp.jwks_requests == 2
    # ...until the cached set is refreshed (it ages out after an hour): then it is gone.
    clock.advance(3600)
    assert_rejected(await ask(gateway, old_token), f"no signing key with id {old_key.kid!r}")
    assert corp.jwks_requests == 3
    assert (await view(gateway, new_token))["roles"] == ["employee"]


async def test_provider_down_cached_keys_keep_working(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    good = corp.token(groups=["employees"])
    assert (await view(gateway, good))["roles"] == ["employee"]
    idp.stop()

    # Known keys keep working, even once the cached set is old and a refresh fails.
    clock.advance(3600)
    assert (await view(gateway, good))["roles"] == ["employee"]
    assert (await view(gateway, corp.token(groups=["employees"])))["roles"] == ["employee"]

    # A kid the cache does not hold cannot be checked: 401, not 500.
    corp.rotate(make_key("corp-next"))
    clock.advance(31)
    assert_rejected(
        await ask(gateway, corp.token(groups=["employees"])),
        f"no signing key with id {corp.signing_key.kid!r}",
    )
    # A provider never reached has no keys at all: the token was not judged, so 503 (retry
    # later), never 401 (which tells a client to throw its token away).
    partner_token = idp.tenants["partner"].token(email="paula@partner.example")
    assert_unavailable(
        await ask(gateway, partner_token), "the signing keys of 'partner' cannot be fetched"
    )


async def test_discovery_naming_another_issuer_is_refused(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    partner = idp.tenants["partner"]
    partner.discovery_issuer = "https://idp.evil.example"
    token = partner.token(email="paula@partner.example", email_verified=True)
    assert_unavailable(await ask(gateway, token), "the signing keys of 'partner' cannot be fetched")
    assert (partner.discovery_requests, partner.jwks_requests) == (1, 0)


# json refuses this nesting with a RecursionError, not a ValueError.
NESTED = '{"iss":"x","a":' + "[" * 5000 + "]" * 5000 + "}"
RS256_HEADER = b64(b'{"alg":"RS256"}')


def _hostile() -> dict[str, Callable[[LocalIdP], str]]:
    """Tokens whose content tries to break the gateway rather than fool it."""

    def corp_claims(idp: LocalIdP, **extra: Any) -> dict[str, Any]:
        return idp.tenants["corp"].claims(groups=["employees"], **extra)

    return {
        "an issuer with a line break and non-ASCII": lambda idp: unsigned(
            {"alg": "RS256"}, {"iss": 'https://é.example/"\r\nX-Injected: yes'}
        ),
        "a 10 kB issuer": lambda idp: unsigned({"alg": "RS256"}, {"iss": "x" * 10_000}),
        "deeply nested claims": lambda idp: f"{RS256_HEADER}.{b64(NESTED.encode())}.",
        "a kid that is a number": lambda idp: (
            unsigned({"alg": "RS256", "kid": 7}, corp_claims(idp)) + "c2ln"
        ),
        "an alg that is a list": lambda idp: unsigned({"alg": ["RS256"]}, corp_claims(idp)),
        "an exp that is text": lambda idp: idp.tenants["corp"].token(exp="tomorrow"),
        "an aud that is a number": lambda idp: idp.tenants["corp"].token(aud=42),
    }


HOSTILE = _hostile()


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_tokens_get_a_clean_401(
    gateway: httpx.AsyncClient, idp: LocalIdP, name: str
) -> None:
    response = await ask(gateway, HOSTILE[name](idp))
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token"')
    assert all(" " <= c <= "~" for c in challenge), challenge
    assert "x-injected" not in {k.lower() for k in response.headers}
    assert len(challenge) < 400


async def test_a_kid_may_be_omitted_only_while_the_provider_has_one_key(
    gateway: httpx.AsyncClient, idp: LocalIdP, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    without_kid = corp.token(groups=["employees"], header={"kid": None})
    assert (await view(gateway, without_kid))["roles"] == ["employee"]
    corp.rotate(make_key("corp-next"))
    clock.advance(31)
    assert (await view(gateway, corp.token(groups=["employees"])))["roles"] == ["employee"]
    assert corp.jwks_requests == 2  # the new kid's refetch: the provider now has two keys
    assert_rejected(await ask(gateway, without_kid), "names no key id (kid)")


async def test_a_provider_cannot_vouch_for_another_domain(
    gateway: httpx.AsyncClient, idp: LocalIdP
) -> None:
    """A partner IdP asserting an employee's verified address gets none of her access."""
    anonymous = await view(gateway)
    token = idp.tenants["partner"].token(
        sub="evil", email="erin@corp.example", email_verified=True, groups=["employees"]
    )
    viewer = await view(gateway, token)
    assert viewer["email"] is None
    assert viewer["id"] == f"user:{idp.tenants['partner'].issuer}#evil"
    assert viewer["roles"] == ["guest"]
    assert viewer["spaces"] == anonymous["spaces"]
    assert "Project Falcon" not in viewer["spaces"]


# --- rules that need two conditions ------------------------------------------------------------

# One provider (one tenant with guest users) serving employees and partners: an employee is
# in the employees group *and* verified at corp.example.
ONE_TENANT_TOML = """
data_dir = "{data_dir}"

[[identity.providers]]
name = "corp"
issuer = "{base}/corp"
audiences = ["{audience}"]
personas = ["employee", "partner"]
email_domains = ["corp.example", "partner.example"]
{extra}
[[identity.providers.roles]]
all = [
  {{ claim = "groups", contains = "employees" }},
  {{ claim = "email", domain = "corp.example" }},
]
persona = "employee"
organisation = "Corp"

[[identity.providers.roles]]
claim = "email"
domain = "partner.example"
persona = "partner"
organisation = "Partner Ltd"
"""


def one_tenant(idp: LocalIdP, tmp_path: Path, extra: str = "", **environ: str) -> Settings:
    config = tmp_path / "gateway.toml"
    config.write_text(
        ONE_TENANT_TOML.format(
            base=idp.base_url, audience=AUDIENCE, data_dir=tmp_path / "gw", extra=extra
        )
    )
    return Settings.load(config, environ=environ)


async def test_an_all_rule_needs_every_condition(
    idp: LocalIdP, tmp_path: Path, clock: FakeClock
) -> None:
    corp = idp.tenants["corp"]
    app = create_app(one_tenant(idp, tmp_path), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as gw:
            erin = await view(
                gw,
                corp.token(email="erin@corp.example", email_verified=True, groups=["employees"]),
            )
            assert (erin["roles"], erin["organisation"]) == (["employee"], "Corp")
            assert erin["spaces"] >= EMPLOYEE_ONLY
            # A guest user of the same tenant in the employees group: a partner, no more.
            evil = await view(
                gw,
                corp.token(email="evil@partner.example", email_verified=True, groups=["employees"]),
            )
            assert (evil["roles"], evil["organisation"]) == (["partner"], "Partner Ltd")
            assert not EMPLOYEE_ONLY & evil["spaces"]
