"""A running local OpenID provider with three issuers, and the gateway configured to trust them.

Browsers can log in through corp (a confidential client) and partner (a public
client, PKCE only); community accepts bearer tokens only (no client_id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.config import Settings
from gateway.http.app import create_app
from tests.identity.idp import AUDIENCE, CLIENT_ID, LocalIdP, make_key

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

GATEWAY_TOML = """
data_dir = "{data_dir}"

# The corporate IdP: personas from group membership.
[[identity.providers]]
name = "corp"
issuer = "{base}/corp"
audiences = ["{audience}"]
personas = ["employee", "contractor"]
email_domains = ["corp.example", "contractor.example"]
client_id = "{client_id}"
client_secret_env = "GATEWAY_CORP_CLIENT_SECRET"

[[identity.providers.roles]]
claim = "groups"
contains = "employees"
persona = "employee"
organisation = "Corp"

[[identity.providers.roles]]
claim = "groups"
contains = "contractors"
persona = "contractor"
organisation = "Contractor Co"

# A partner's own IdP, signing with EC keys: partners by verified email domain.
[[identity.providers]]
name = "partner"
issuer = "{base}/partner"
audiences = ["{audience}"]
algorithms = ["ES256"]
personas = ["partner"]
email_domains = ["partner.example"]
client_id = "{client_id}"

[[identity.providers.roles]]
claim = "email"
domain = "partner.example"
persona = "partner"
organisation = "Partner Ltd"

# The community login: everyone is a member; the key set's address is configured.
[[identity.providers]]
name = "community"
issuer = "{base}/community"
jwks_uri = "{base}/community/jwks"
audiences = ["community-app", "{audience}"]
personas = ["member"]
email_domains = ["customer.example"]
roles = [{{ always = "member" }}]
"""


CORP_CLIENT_SECRET = "corp-client-secret"
# The people the provider's authorization endpoint logs in, one per tenant.
CORP_USER = {
    "sub": "00u-erin",
    "email": "erin@corp.example",
    "email_verified": True,
    "name": "Erin Engel",
    "groups": ["everyone", "employees"],
}
PARTNER_USER = {
    "sub": "p-paula",
    "email": "paula@partner.example",
    "email_verified": True,
    "name": "Paula Partner",
}


class FakeClock:
    """A monotonic clock the test moves forward (paces the key-set refetches)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def idp() -> Iterator[LocalIdP]:
    provider = LocalIdP()
    corp = provider.add("corp", make_key("corp"))
    corp.client_secret = CORP_CLIENT_SECRET
    corp.user = dict(CORP_USER)
    provider.add("partner", make_key("partner", "ES256")).user = dict(PARTNER_USER)
    provider.add("community", make_key("community"))
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(idp: LocalIdP, tmp_path: Path) -> Settings:
    config = tmp_path / "gateway.toml"
    config.write_text(
        GATEWAY_TOML.format(
            base=idp.base_url, audience=AUDIENCE, client_id=CLIENT_ID, data_dir=tmp_path / "gw"
        )
    )
    return Settings.load(config, environ={"GATEWAY_CORP_CLIENT_SECRET": CORP_CLIENT_SECRET})


@pytest.fixture
async def gateway(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client into the gateway app (in-process), which fetches keys over real HTTP."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client
