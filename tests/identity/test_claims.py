"""Claim-mapping rules as a table: (rules, claims) -> personas and organisation."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import Condition, OidcProvider, RoleRule
from gateway.identity.claims import principal_from_claims
from gateway.identity.tokens import TokenRejected

GROUPS = RoleRule(persona="employee", claim="groups", contains="employees", organisation="Corp")
CONTRACTORS = RoleRule(persona="contractor", claim="groups", contains="contractors")
PARTNER = RoleRule(
    persona="partner", claim="email", domain="partner.example", organisation="Partner Ltd"
)
TENANT = RoleRule(persona="employee", claim="tid", equals="corp-tenant")
STAFF_FLAG = RoleRule(persona="employee", claim="staff", equals=True)
REALM = RoleRule(persona="contractor", claim="realm_access.roles", contains="contractor")
MEMBER = RoleRule(persona="member")
# One tenant with guest users: employees are in the group *and* verified at corp.example.
STAFF = RoleRule(
    persona="employee",
    organisation="Corp",
    all=(
        Condition(claim="groups", contains="employees"),
        Condition(claim="email", domain="corp.example"),
    ),
)


def _provider(*rules: RoleRule, personas: set[str] | None = None) -> OidcProvider:
    return OidcProvider(
        name="test",
        issuer="https://idp.example",
        audiences=("gateway",),
        personas=frozenset(personas or {r.persona for r in rules}),
        roles=rules,
        email_domains=("partner.example", "corp.example"),
    )


VERIFIED = {"email": "paula@Partner.Example", "email_verified": True}

CASES: list[tuple[str, tuple[RoleRule, ...], dict[str, Any], set[str], str | None]] = [
    ("group in a list", (GROUPS,), {"groups": ["a", "employees"]}, {"employee"}, "Corp"),
    ("a single group as a string", (GROUPS,), {"groups": "employees"}, {"employee"}, "Corp"),
    ("group absent", (GROUPS,), {"groups": ["employees-x"]}, {"guest"}, None),
    ("groups not a list", (GROUPS,), {"groups": {"employees": 1}}, {"guest"}, None),
    (
        "two groups, two personas",
        (GROUPS, CONTRACTORS),
        {"groups": ["contractors", "employees"]},
        {"employee", "contractor"},
        "Corp",
    ),
    ("verified email domain", (PARTNER,), VERIFIED, {"partner"}, "Partner Ltd"),
    (
        "a subdomain is another domain",
        (PARTNER,),
        {"email": "p@evil.partner.example", "email_verified": True},
        {"guest"},
        None,
    ),
    ("unverified email", (PARTNER,), {"email": "paula@partner.example"}, {"guest"}, None),
    (
        "email_verified as text",
        (PARTNER,),
        {"email": "paula@partner.example", "email_verified": "true"},
        {"guest"},
        None,
    ),
    ("equals", (TENANT,), {"tid": "corp-tenant"}, {"employee"}, None),
    ("equals is exact", (TENANT,), {"tid": ["corp-tenant"]}, {"guest"}, None),
    ("true is not 1", (STAFF_FLAG,), {"staff": 1}, {"guest"}, None),
    ("true is true", (STAFF_FLAG,), {"staff": True}, {"employee"}, None),
    (
        "dotted path into an object",
        (REALM,),
        {"realm_access": {"roles": ["contractor"]}},
        {"contractor"},
        None,
    ),
    ("always", (MEMBER,), {}, {"member"}, None),
    (
        "all: every condition holds",
        (STAFF, PARTNER),
        {"groups": ["employees"], "email": "erin@corp.example", "email_verified": True},
        {"employee"},
        "Corp",
    ),
    (
        "all: a partner asserting the employees group",
        (STAFF, PARTNER),
        {"groups": ["employees"], "email": "evil@partner.example", "email_verified": True},
        {"partner"},
        "Partner Ltd",
    ),
    (
        "all: the domain without the group",
        (STAFF,),
        {"groups": ["everyone"], "email": "erin@corp.example", "email_verified": True},
        {"guest"},
        None,
    ),
    (
        "all: an unverified corporate email",
        (STAFF,),
        {"groups": ["employees"], "email": "erin@corp.example"},
        {"guest"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("rules", "claims", "roles", "organisation"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rules(
    rules: tuple[RoleRule, ...],
    claims: dict[str, Any],
    roles: set[str],
    organisation: str | None,
) -> None:
    principal = principal_from_claims(_provider(*rules), {"sub": "s-1", **claims})
    assert principal.roles == roles
    assert principal.organisation == organisation


def test_a_provider_never_grants_beyond_its_personas() -> None:
    """Even a rule that slipped past the configuration check grants nothing outside them."""
    provider = _provider(GROUPS, PARTNER, personas={"partner"})
    principal = principal_from_claims(provider, {"sub": "s-1", "groups": ["employees"], **VERIFIED})
    assert principal.roles == {"partner"}
    assert principal.organisation == "Partner Ltd"


def test_identity_fields() -> None:
    provider = _provider(PARTNER)
    principal = principal_from_claims(
        provider, {"sub": "s-1", "preferred_username": "paula.p", "name": " ", **VERIFIED}
    )
    assert principal.issuer == "https://idp.example"
    assert principal.subject == "s-1"
    assert principal.verified_email == "paula@partner.example"
    assert principal.id == "user:paula@partner.example"
    assert principal.display_name == "paula.p"
    anonymous_looking = principal_from_claims(provider, {"sub": "s-2", "email": ["x"]})
    assert anonymous_looking.display_name == "s-2"
    assert anonymous_looking.email is None
    assert anonymous_looking.id == "user:https://idp.example#s-2"
    assert not anonymous_looking.is_guest


def test_a_subject_is_required() -> None:
    with pytest.raises(TokenRejected, match="no subject"):
        principal_from_claims(_provider(MEMBER), {"sub": ""})
