"""The principal: who is calling, in the one shape every way of logging in produces."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.domain.model import Author
from gateway.domain.permissions import USER_PREFIX, Persona

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.domain.model import Membership


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated identity, or the guest. Never ``None``: anonymous is a guest."""

    issuer: str | None
    subject: str | None
    email: str | None
    email_verified: bool
    display_name: str
    roles: frozenset[str]
    organisation: str | None = None
    # Per-space roles held in the stores; filled in per request (see gateway.context).
    memberships: tuple[Membership, ...] = ()
    # (persona, minimum forum trust level): granted per request when the community
    # store's account for the verified email has that trust level.
    trust_rules: tuple[tuple[str, int], ...] = ()

    @classmethod
    def guest(cls) -> Principal:
        return cls(
            issuer=None,
            subject=None,
            email=None,
            email_verified=False,
            display_name="Guest",
            roles=frozenset({Persona.GUEST.value}),
        )

    @property
    def is_guest(self) -> bool:
        return self.subject is None

    @property
    def verified_email(self) -> str | None:
        """The email, lower-cased, only when the identity provider verified it."""
        return self.email.lower() if self.email and self.email_verified else None

    @property
    def id(self) -> str:
        """The policy subject: ``user:EMAIL`` for verified emails, else issuer and subject."""
        if self.verified_email:
            return f"{USER_PREFIX}{self.verified_email}"
        if self.subject is None:
            return "anonymous"
        return f"{USER_PREFIX}{self.issuer}#{self.subject}"

    def as_author(self) -> Author | None:
        """The principal as a store attributes writes to them; None without a verified email."""
        email = self.verified_email
        if email is None:
            return None
        return Author(
            email=email,
            display_name=self.display_name,
            organisation=self.organisation,
            external=Persona.EMPLOYEE.value not in self.roles,
        )

    def with_memberships(self, memberships: tuple[Membership, ...]) -> Principal:
        return dataclasses.replace(self, memberships=memberships)

    def active_memberships(self, now: datetime) -> tuple[Membership, ...]:
        """Those bound and not expired at ``now`` (:meth:`Membership.active`, inlined: it
        runs over every membership of the caller on every request)."""
        return tuple(
            m
            for m in self.memberships
            if not m.pending and (m.expires_at is None or m.expires_at > now)
        )
