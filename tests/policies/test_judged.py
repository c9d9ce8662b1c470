"""How people the stores hold who never logged in are judged: login's own rules applied to
what is known of them (their verified email, forum trust level, internal profile)."""

from __future__ import annotations

import pytest

from gateway.config.providers import Condition, OidcProvider, RoleRule
from gateway.policies.admin.judged import Judge, Record, merge
from gateway.stores.admin_rows import Holder

PARTNERS = OidcProvider(
    name="partners",
    issuer="https://id.partner.example",
    audiences=("gateway",),
    personas=frozenset({"partner", "trusted_customer", "member"}),
    roles=(
        RoleRule("partner", claim="email", domain="partner.example"),
        # Needs a claim only a token carries: never granted from the stores alone.
        RoleRule("trusted_customer", claim="groups", contains="vip"),
        RoleRule("trusted_customer", community_trust_level=3),
        RoleRule(
            "member",
            all=(Condition("email", domain="partner.example"), Condition("groups", "x")),
        ),
    ),
    email_domains=("partner.example", "customer.example"),
)
JUDGE = Judge(providers=(PARTNERS,), organisation_domains=("corp.example",))


@pytest.mark.parametrize(
    ("record", "roles", "how"),
    [
        (
            Record("paula@partner.example", "Paula", external=True),
            {"partner"},
            "by provider partners's rules on their email and trust level",
        ),
        (
            Record("tara@customer.example", "Tara", trust_level=3),
            {"trusted_customer"},
            "by provider partners's rules on their email and trust level",
        ),
        # The provider vouches but grants nothing: the next rules decide.
        (
            Record("mo@customer.example", "Mo", trust_level=1),
            {"member"},
            "by their community account",
        ),
        (
            Record("omar@corp.example", "Omar"),
            {"employee"},
            "by their email's domain (corp.example)",
        ),
        (
            Record("carl@contractor.example", "Carl", external=False),
            {"employee"},
            "by the internal store's profile (not marked external)",
        ),
        (
            Record("nina@elsewhere.example", "nina@elsewhere.example"),
            frozenset(),  # no persona, not even the guest's
            "by the stores (nothing says more)",
        ),
    ],
)
def test_judged_as_login_would(record: Record, roles: set[str], how: str) -> None:
    principal, said = JUDGE.principal(record)
    assert principal.roles == roles
    assert principal.verified_email == record.email
    assert principal.id == f"user:{record.email}"
    assert said.startswith("never logged in; judged as ") and said.endswith(how)


def test_the_demo_people_are_judged_by_the_development_issuers_roles() -> None:
    judge = Judge(demo={"sam@corp.example": ("employee", "security_admin")})
    principal, how = judge.principal(Record("sam@corp.example", "Sam"))
    assert principal.roles == {"employee", "security_admin"}
    assert how == (
        "never logged in; judged as employee+security_admin by the demo data "
        "(the development issuer)"
    )


def test_merge_keeps_each_stores_record() -> None:
    merged = merge(
        [
            Holder("erin@corp.example", "Erin Engel", external=False, organisation="Corp"),
            Holder("nina@x.example", "nina@x.example", profile=False),
            Holder("erin@corp.example", "erin", trust_level=4),
            Holder("nina@x.example", "Nina N", trust_level=0),
        ]
    )
    assert merged["erin@corp.example"] == Record(
        "erin@corp.example", "Erin Engel", False, 4, "Corp"
    )
    assert merged["nina@x.example"] == Record("nina@x.example", "Nina N", None, 0, None)
