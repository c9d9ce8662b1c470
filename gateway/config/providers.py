"""The identity-provider schema: what one ``[[identity.providers]]`` table becomes.

:class:`OidcProvider` is an OpenID Connect provider whose tokens the gateway accepts,
with its claim-mapping :class:`RoleRule` list (and an ``all`` rule's :class:`Condition`
list); the constants are their defaults and bounds. Reading and checking the TOML tables
is :mod:`gateway.config.provider_tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "DEFAULT_INTROSPECTION_CACHE_TTL",
    "DEFAULT_LEEWAY",
    "DEFAULT_SCOPES",
    "MAX_INTROSPECTION_CACHE_TTL",
    "MAX_LEEWAY",
    "Condition",
    "OidcProvider",
    "RoleRule",
]

# Algorithms a provider's tokens may be signed with, each checked with the provider's
# public keys. "none" and the shared-secret HS* never are: a verifier that accepts
# HS256 for an RSA provider can be fooled by a token MACed with the public key.
ASYMMETRIC_ALGORITHMS = frozenset(
    {
        *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
        *("ES256", "ES384", "ES512", "ES256K"),
        *("EdDSA", "Ed25519", "Ed448"),
    }
)
DEFAULT_ALGORITHMS = ("RS256", "ES256")
DEFAULT_LEEWAY = 60
# RFC 7519 allows "a few minutes" of clock skew; more would keep expired tokens alive.
MAX_LEEWAY = 300
DEFAULT_SCOPES = ("openid", "email", "profile")
# How long an active introspection answer is reused: a token revoked at the provider keeps
# working here at most this long (and never past its exp). A few minutes at most.
DEFAULT_INTROSPECTION_CACHE_TTL = 60
MAX_INTROSPECTION_CACHE_TTL = 300


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of an ``all`` rule: a claim and one matcher, as in :class:`RoleRule`."""

    claim: str
    contains: str | None = None
    equals: str | int | bool | None = None
    domain: str | None = None


@dataclass(frozen=True, slots=True)
class RoleRule:
    """One claim-mapping rule: a token whose claims match it gets ``persona``.

    ``all`` set: the rule matches when every one of its conditions holds (rules
    are OR-ed, so "groups contains employees *and* the email is at corp.example"
    needs one). Else ``claim`` None is an ``always`` rule. Otherwise exactly one
    matcher is set:
    ``contains`` (the claim is a list holding the value, or that string),
    ``equals`` (the claim is exactly the value) or ``domain`` (the verified
    email's domain). ``community_trust_level`` is decided by the community store,
    not the token: the verified email's forum account has at least that trust level
    (checked on every request, so a demotion in the forum takes effect at once).
    """

    persona: str
    claim: str | None = None
    contains: str | None = None
    equals: str | int | bool | None = None
    domain: str | None = None
    organisation: str | None = None
    community_trust_level: int | None = None
    all: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """An OpenID Connect provider whose bearer tokens the gateway accepts."""

    name: str
    issuer: str
    audiences: tuple[str, ...]
    personas: frozenset[str]
    roles: tuple[RoleRule, ...] = ()
    jwks_uri: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway: int = DEFAULT_LEEWAY
    # For the browser login (not used by bearer-token checks).
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    client_id: str | None = None
    client_secret_env: str | None = None
    # Read from the variable client_secret_env names; out of repr so it never reaches a log.
    client_secret: str | None = field(default=None, repr=False)
    # Domains whose addresses this provider may vouch for: only there does its
    # email_verified count (memberships, invitations, user: policy lines). "*" is any
    # domain. Without this, a partner IdP could assert erin@corp.example and get her spaces.
    email_domains: tuple[str, ...] = ()
    # RFC 7662: opaque (non-JWT) access tokens are checked at the provider's introspection
    # endpoint, authenticating as client_id with its secret. None: from discovery.
    introspection: bool = False
    introspection_endpoint: str | None = None
    introspection_cache_ttl: int = DEFAULT_INTROSPECTION_CACHE_TTL
    # For a provider whose introspection answers carry no "aud": the clients whose tokens
    # are the gateway's (the answer's client_id). Empty: an answer must name an audience.
    accepted_clients: tuple[str, ...] = ()
    # Claims an access token lacks (email, groups) are read from the userinfo endpoint.
    userinfo: bool = False
    userinfo_endpoint: str | None = None

    def vouches_for(self, email: str) -> bool:
        """Whether this provider's verification of ``email`` is to be believed."""
        domain = email.rpartition("@")[2].lower()
        return "*" in self.email_domains or domain in self.email_domains

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
