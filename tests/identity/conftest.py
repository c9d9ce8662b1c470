"""A running local OpenID provider with three issuers, and the gateway configured to trust them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from tests.identity.idp import AUDIENCE, LocalIdP, make_key

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
    provider.add("corp", make_key("corp"))
    provider.add("partner", make_key("partner", "ES256"))
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
        GATEWAY_TOML.format(base=idp.base_url, audience=AUDIENCE, data_dir=tmp_path / "gw")
    )
    return Settings.load(config, environ={})


@pytest.fixture
async def gateway(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client into the gateway app (in-process), which fetches keys over real HTTP."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client
