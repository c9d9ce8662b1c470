"""Trusted customers decided by the community store's trust level, not by the token."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update

from adapters.community._tables import users
from gateway.config import ConfigError, OidcProvider, RoleRule
from gateway.domain.model import StoreName
from gateway.identity.claims import principal_from_claims
from gateway.schema.context import build_context
from tests.identity.test_provider_config import _load

if TYPE_CHECKING:
    from pathlib import Path

    from gateway.runtime.services import Services

COMMUNITY = OidcProvider(
    name="community",
    issuer="https://login.community.example",
    audiences=("gateway",),
    personas=frozenset({"member", "trusted_customer"}),
    roles=(
        RoleRule(persona="member"),
        RoleRule(persona="trusted_customer", community_trust_level=3),
    ),
    email_domains=("customer.example",),
)


def _claims(email: str, verified: bool = True) -> dict[str, object]:
    return {"sub": email, "email": email, "email_verified": verified, "name": email}


@pytest.mark.backend
async def test_the_trust_level_in_the_forum_decides(services: Services) -> None:
    # Tara's forum account is at trust level 3, Mo's at 1 (the demo data).
    tara = principal_from_claims(COMMUNITY, _claims("tara@customer.example"))
    mo = principal_from_claims(COMMUNITY, _claims("mo@customer.example"))
    assert tara.roles == mo.roles == {"member"}  # the token alone says member
    assert (await build_context(services, tara)).principal.roles == {"member", "trusted_customer"}
    assert (await build_context(services, mo)).principal.roles == {"member"}
    # Promoted in the forum, behind the gateway's back: trusted once what the gateway read
    # of the forum is cache.max_age old, no new login needed.
    assert services.caches is not None
    clock = [time.monotonic()]
    services.caches.reads.clock = lambda: clock[0]
    assert (await build_context(services, mo)).principal.roles == {"member"}
    community = services.stores[StoreName.COMMUNITY]
    async with community.engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(
            update(users).where(users.c.email == "mo@customer.example").values(trust_level=4)
        )
    assert (await build_context(services, mo)).principal.roles == {"member"}
    clock[0] += services.settings.cache_max_age
    assert "trusted_customer" in (await build_context(services, mo)).principal.roles
    # An unverified email finds no forum account: no trust.
    unverified = principal_from_claims(COMMUNITY, _claims("tara@customer.example", False))
    assert (await build_context(services, unverified)).principal.roles == {"member"}


def test_a_trust_level_rule_is_checked_at_start_up(tmp_path: Path) -> None:
    base = """
[[identity.providers]]
name = "community"
issuer = "https://login.community.example"
audiences = ["gateway"]
personas = ["member", "trusted_customer"]
"""
    good = _load(
        tmp_path, base + 'roles = [{ community_trust_level = 3, persona = "trusted_customer" }]'
    )
    assert good.providers[0].roles == (
        RoleRule(persona="trusted_customer", community_trust_level=3),
    )
    for rule, message in (
        ('{ community_trust_level = 7, persona = "trusted_customer" }', "trust level 0 to 4"),
        ('{ community_trust_level = true, persona = "trusted_customer" }', "trust level 0 to 4"),
        (
            '{ community_trust_level = 3, persona = "trusted_customer", claim = "x" }',
            "takes no claim",
        ),
        ('{ community_trust_level = 3, persona = "employee" }', "may not produce"),
    ):
        with pytest.raises(ConfigError, match=message):
            _load(tmp_path, base + f"roles = [{rule}]")
