"""Claims to principal: a provider's mapping rules, applied to a verified token's claims.

A provider can never produce a persona outside its ``personas``: the rules are
checked against that list when the configuration loads, and what they grant is
intersected with it again here, so a partner provider asserting
``groups: [employees]`` still yields a partner at most. Rules are OR-ed; a
rule with ``all`` matches only when every one of its conditions holds, so one
provider serving employees and partners can say "in the employees group *and*
verified at corp.example".

A token that no rule matches still authenticates: the caller is who the
provider says they are (so invitations bound to their verified email apply),
with the guest persona only. They see exactly what an anonymous caller sees,
plus their own memberships: never less than logging out would show them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.domain.permissions import Persona
from gateway.domain.principal import Principal
from gateway.identity.tokens import TokenRejected

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gateway.config import Condition, OidcProvider, RoleRule


def principal_from_claims(provider: OidcProvider, claims: Mapping[str, Any]) -> Principal:
    """The principal a verified token of ``provider`` stands for."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenRejected("the token has no subject (sub)")
    email = claims.get("email")
    email = email if isinstance(email, str) and email else None
    # Only an explicit JSON true counts ("true", 1 or a missing claim do not), and only
    # for a domain the provider is trusted to vouch for.
    verified = (
        email is not None and claims.get("email_verified") is True and provider.vouches_for(email)
    )
    personas, organisation = personas_for(provider, claims, verified_email=verified)
    pending = trust_rules_of(provider, verified_email=verified)
    name = next(
        (
            value
            for value in (claims.get("name"), claims.get("preferred_username"))
            if isinstance(value, str) and value.strip()
        ),
        subject,
    )
    return Principal(
        issuer=provider.issuer,
        subject=subject,
        email=email,
        email_verified=verified,
        display_name=name,
        roles=personas or frozenset({Persona.GUEST.value}),
        organisation=organisation,
        trust_rules=pending,
    )


def trust_rules_of(provider: OidcProvider, *, verified_email: bool) -> tuple[tuple[str, int], ...]:
    """The provider's rules that the community store decides, as (persona, minimum trust
    level): kept on the principal and checked per request. Only for a verified email,
    by which the forum account is found."""
    if not verified_email:
        return ()
    return tuple(
        (rule.persona, rule.community_trust_level)
        for rule in provider.roles
        if rule.community_trust_level is not None and rule.persona in provider.personas
    )


def personas_for(
    provider: OidcProvider, claims: Mapping[str, Any], *, verified_email: bool
) -> tuple[frozenset[str], str | None]:
    """The personas the provider's rules grant (never outside its allowed ones), and the
    organisation of the first granting rule that names one."""
    granted: set[str] = set()
    organisation: str | None = None
    for rule in provider.roles:
        if rule.community_trust_level is not None:
            continue  # the community store decides, per request (see principal.trust_rules)
        if rule.persona not in provider.personas or not _matches(rule, claims, verified_email):
            continue
        granted.add(rule.persona)
        if organisation is None:
            organisation = rule.organisation
    return frozenset(granted), organisation


def _matches(rule: RoleRule, claims: Mapping[str, Any], verified_email: bool) -> bool:
    if rule.all:
        # Every condition must hold: "in the employees group *and* verified at corp.example".
        return all(_holds(c, claims, verified_email) for c in rule.all)
    return _holds(rule, claims, verified_email)


def _holds(rule: RoleRule | Condition, claims: Mapping[str, Any], verified_email: bool) -> bool:
    if rule.claim is None:
        return True  # an ``always`` rule
    value = _claim(claims, rule.claim)
    if rule.contains is not None:
        if isinstance(value, list):
            return rule.contains in value
        return value == rule.contains  # some providers send a single group as a string
    if rule.domain is not None:
        # An unverified email is only what the user typed: it says nothing about them.
        if not verified_email or not isinstance(value, str):
            return False
        return value.rpartition("@")[2].lower() == rule.domain
    # ``equals``: same type too, so that true never equals 1.
    return type(value) is type(rule.equals) and value == rule.equals


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    """A top-level claim; failing that, a dotted path into nested objects.

    The literal name comes first because namespaced claims contain dots
    (``https://corp.example/groups``); paths serve e.g. ``realm_access.roles``.
    """
    if name in claims:
        return claims[name]
    node: Any = claims
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
