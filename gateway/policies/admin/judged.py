"""People the stores hold who never logged in to the gateway: the roles login would give them.

The gateway learns a person's personas from their token, so for someone who holds a
membership or an invitation but never logged in they are judged from what is known: their
verified email (the stores hold only verified ones), their forum trust level and their
internal profile. The first of these that says something decides, and the report says which::

    judge = Judge.for_settings(settings)
    principal, how = judge.principal(record)
    # how: "never logged in; judged as employee by their email's domain (corp.example)"

1. The development issuer's demo people (when it is on): the roles it puts in their token.
2. A configured provider that vouches for the email's domain, its rules applied to the only
   claims known (the email, verified) and to the forum trust level, as login applies them.
   Rules on other claims (``groups``, ...) cannot be known: they grant nothing here.
3. The organisation's email domains: an address there is staff, an ``employee``.
4. The internal store's profile: one not marked external is on the staff (``employee``).
5. A forum account: a registered community ``member``.
6. Nothing known (an invitee, a profile marked external): no persona, their memberships only.

Pure: no store or file is opened here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.domain.demo import PEOPLE
from gateway.domain.permissions import Persona
from gateway.domain.principal import Principal
from gateway.identity.claims import personas_for, trust_rules_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from gateway.config import OidcProvider, Settings
    from gateway.stores.admin_rows import Holder

__all__ = ["NEVER_LOGGED_IN", "Judge", "Record", "merge"]

NEVER_LOGGED_IN = "never logged in"


@dataclass(frozen=True, slots=True)
class Record:
    """What both stores record of one email: their holders merged."""

    email: str
    display_name: str
    external: bool | None = None  # the internal profile's mark
    trust_level: int | None = None  # the forum account's
    organisation: str | None = None


def merge(holders: Iterable[Holder]) -> dict[str, Record]:
    """One record per email from the stores' holders (the first store's name wins)."""
    found: dict[str, Record] = {}
    for h in holders:
        was = found.get(h.email)
        if was is None:
            name = h.display_name if h.profile else h.email
            found[h.email] = Record(h.email, name, h.external, h.trust_level, h.organisation)
            continue
        found[h.email] = Record(
            h.email,
            was.display_name if was.display_name != was.email else h.display_name,
            was.external if was.external is not None else h.external,
            was.trust_level if was.trust_level is not None else h.trust_level,
            was.organisation or h.organisation,
        )
    return found


@dataclass(frozen=True, slots=True)
class Judge:
    """How a person who never logged in is judged: the login configuration that applies."""

    providers: tuple[OidcProvider, ...] = ()
    organisation_domains: tuple[str, ...] = ()
    # The development issuer's people (email -> personas), when it is on.
    demo: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def for_settings(cls, settings: Settings) -> Judge:
        demo = {p.email: p.roles for p in PEOPLE} if settings.dev_issuer else {}
        return cls(settings.providers, tuple(settings.organisation_domains), demo)

    def principal(self, record: Record) -> tuple[Principal, str]:
        """The principal login would most likely make of ``record``, and how it was judged."""
        roles, organisation, how = self._personas(record)
        principal = Principal(
            issuer=None,
            subject=record.email,
            email=record.email,
            email_verified=True,
            display_name=record.display_name,
            # No persona, not the guest's: what they hold comes from their memberships.
            roles=roles,
            organisation=organisation or record.organisation,
        )
        shown = "+".join(sorted(roles)) if roles else "no persona (memberships only)"
        return principal, f"{NEVER_LOGGED_IN}; judged as {shown} {how}"

    def _personas(self, record: Record) -> tuple[frozenset[str], str | None, str]:
        email = record.email
        domain = email.rpartition("@")[2]
        if email in self.demo:
            return frozenset(self.demo[email]), None, "by the demo data (the development issuer)"
        for provider in self.providers:
            if not provider.vouches_for(email):
                continue
            claims = {"sub": email, "email": email, "email_verified": True}
            granted, organisation = personas_for(provider, claims, verified_email=True)
            level = record.trust_level
            granted |= {
                persona
                for persona, minimum in trust_rules_of(provider, verified_email=True)
                if level is not None and level >= minimum
            }
            if granted:
                return (
                    frozenset(granted),
                    organisation,
                    f"by provider {provider.name}'s rules on their email and trust level",
                )
        if domain in self.organisation_domains:
            return frozenset({Persona.EMPLOYEE.value}), None, f"by their email's domain ({domain})"
        if record.external is False:
            return (
                frozenset({Persona.EMPLOYEE.value}),
                None,
                "by the internal store's profile (not marked external)",
            )
        if record.trust_level is not None:
            return frozenset({Persona.MEMBER.value}), None, "by their community account"
        return frozenset(), None, "by the stores (nothing says more)"
