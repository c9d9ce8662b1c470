"""Reading ``[[identity.providers]]`` tables into :class:`OidcProvider` values.

Every key is checked, and a mistake is one :class:`ConfigError` line naming the
provider and the key (``identity.providers[corp].issuer in gateway.toml: ...``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gateway.config.providers import (
    ASYMMETRIC_ALGORITHMS,
    DEFAULT_ALGORITHMS,
    DEFAULT_INTROSPECTION_CACHE_TTL,
    DEFAULT_LEEWAY,
    DEFAULT_SCOPES,
    MAX_INTROSPECTION_CACHE_TTL,
    MAX_LEEWAY,
    Condition,
    OidcProvider,
    RoleRule,
)
from gateway.config.values import ConfigError
from gateway.domain.permissions import Persona

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# Provider names will appear in login URLs (/auth/login/{name}).
_PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PROVIDER_KEYS = frozenset(
    {
        "name",
        "issuer",
        "jwks_uri",
        "audiences",
        "algorithms",
        "personas",
        "roles",
        "leeway",
        "scopes",
        "client_id",
        "client_secret_env",
        "email_domains",
        "introspection",
        "introspection_endpoint",
        "introspection_cache_ttl",
        "accepted_clients",
        "userinfo",
        "userinfo_endpoint",
    }
)
_RULE_KEYS = frozenset(
    {
        "always",
        "claim",
        "contains",
        "equals",
        "domain",
        "persona",
        "organisation",
        "community_trust_level",
        "all",
    }
)
_MATCHERS = ("contains", "equals", "domain")
_PERSONAS = frozenset(p.value for p in Persona)


def _providers(value: Any, source: str, environ: Mapping[str, str]) -> tuple[OidcProvider, ...]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(
            f"identity.providers in {source}: expected an array of tables ([[identity.providers]])"
        )
    providers: list[OidcProvider] = []
    for position, table in enumerate(value, 1):
        provider = _provider(table, position, source, environ)
        for other in providers:
            where = f"identity.providers[{provider.name}]"
            if other.name == provider.name:
                raise ConfigError(
                    f"{where}.name in {source}: two providers are named {other.name!r}"
                )
            if other.issuer == provider.issuer:
                raise ConfigError(
                    f"{where}.issuer in {source}: provider {other.name!r} has the same issuer; "
                    "an issuer is one provider"
                )
        providers.append(provider)
    return tuple(providers)


def _provider(
    table: dict[str, Any], position: int, source: str, environ: Mapping[str, str]
) -> OidcProvider:
    label = f"identity.providers[{position}]"

    def error(key: str, message: str) -> ConfigError:
        return ConfigError(f"{label}.{key} in {source}: {message}")

    name = table.get("name")
    if name is None:
        raise error("name", "required (a short name for the provider, e.g. 'corp')")
    if not isinstance(name, str) or not _PROVIDER_NAME.match(name):
        raise error("name", f"expected lower-case letters, digits, '-' or '_', got {name!r}")
    label = f"identity.providers[{name}]"
    if "client_secret" in table:
        raise error(
            "client_secret",
            "secrets do not belong in the file: set client_secret_env to the name of "
            "an environment variable holding it",
        )
    for key in table:
        if key not in _PROVIDER_KEYS:
            raise error(key, "unknown setting")
    try:
        issuer = _provider_url(_required(table, "issuer"), issuer=True)
    except ValueError as exc:
        raise error("issuer", str(exc)) from None
    jwks_uri = None
    if "jwks_uri" in table:
        try:
            jwks_uri = _provider_url(table["jwks_uri"], issuer=False)
        except ValueError as exc:
            raise error("jwks_uri", str(exc)) from None
    endpoints: dict[str, str | None] = {}
    for key in ("introspection_endpoint", "userinfo_endpoint"):
        endpoints[key] = None
        if key in table:
            try:
                endpoints[key] = _provider_url(table[key], issuer=False)
            except ValueError as exc:
                raise error(key, str(exc)) from None
    parsed: dict[str, Any] = {}
    for key, parse in (
        ("audiences", _strings),
        ("algorithms", _algorithms),
        ("personas", _personas),
        ("scopes", _strings),
        ("leeway", _leeway),
        ("client_id", _text),
        ("client_secret_env", _env_name),
        ("email_domains", _email_domains),
        ("introspection", _flag),
        ("introspection_cache_ttl", _cache_ttl),
        ("accepted_clients", _strings),
        ("userinfo", _flag),
    ):
        if key in table:
            try:
                parsed[key] = parse(table[key])
            except ValueError as exc:
                raise error(key, str(exc)) from None
    for key in ("audiences", "personas"):
        if key not in parsed:
            raise error(key, "required")
    personas: frozenset[str] = frozenset(parsed["personas"])
    rules = table.get("roles", [])
    if not isinstance(rules, list) or not all(isinstance(rule, dict) for rule in rules):
        raise error("roles", "expected an array of tables ([[identity.providers.roles]])")
    secret_env = parsed.get("client_secret_env")
    introspection: bool = parsed.get("introspection", False)
    _check_introspection(table, introspection, secret_env, environ, error)
    userinfo: bool = parsed.get("userinfo", False)
    if "userinfo_endpoint" in table and not userinfo:
        raise error("userinfo_endpoint", "set, but userinfo is off (add userinfo = true)")
    email_domains: tuple[str, ...] = parsed.get("email_domains", ())
    parsed_rules = tuple(
        _rule(rule, f"{label}.roles[{i}]", source, personas) for i, rule in enumerate(rules, 1)
    )
    for i, rule in enumerate(parsed_rules, 1):
        conditions = [("", rule)] + [(f".all[{j}]", c) for j, c in enumerate(rule.all, 1)]
        for where, condition in conditions:
            if condition.domain is not None and not {"*", condition.domain} & set(email_domains):
                raise ConfigError(
                    f"{label}.roles[{i}]{where}.domain in {source}: {condition.domain!r} is "
                    "not in this provider's email_domains, so its verified emails there are "
                    "not believed and the rule could never match"
                )
    return OidcProvider(
        name=name,
        issuer=issuer,
        audiences=parsed["audiences"],
        personas=personas,
        roles=parsed_rules,
        jwks_uri=jwks_uri,
        algorithms=parsed.get("algorithms", DEFAULT_ALGORITHMS),
        leeway=parsed.get("leeway", DEFAULT_LEEWAY),
        scopes=parsed.get("scopes", DEFAULT_SCOPES),
        client_id=parsed.get("client_id"),
        client_secret_env=secret_env,
        client_secret=environ.get(secret_env) if secret_env else None,
        email_domains=email_domains,
        introspection=introspection,
        introspection_endpoint=endpoints["introspection_endpoint"],
        introspection_cache_ttl=parsed.get(
            "introspection_cache_ttl", DEFAULT_INTROSPECTION_CACHE_TTL
        ),
        accepted_clients=parsed.get("accepted_clients", ()),
        userinfo=userinfo,
        userinfo_endpoint=endpoints["userinfo_endpoint"],
    )


def _check_introspection(
    table: Mapping[str, Any],
    introspection: bool,
    secret_env: str | None,
    environ: Mapping[str, str],
    error: Callable[[str, str], ConfigError],
) -> None:
    """Introspection settings only with introspection on, and then the client's credentials.

    The secret is required up front: without it every opaque token would fail at request
    time, when a start-up error naming the variable is what the operator needs.
    """
    if not introspection:
        for key in ("introspection_endpoint", "introspection_cache_ttl", "accepted_clients"):
            if key in table:
                raise error(key, "set, but introspection is off (add introspection = true)")
        return
    for key in ("client_id", "client_secret_env"):
        if key not in table:
            raise error(
                key,
                "required with introspection = true: the gateway authenticates to the "
                "introspection endpoint as this client (client_secret_basic)",
            )
    if not environ.get(secret_env or ""):
        raise error(
            "client_secret_env",
            f"introspection needs the client secret, but the environment variable {secret_env} "
            "is not set",
        )


def _rule(rule: dict[str, Any], label: str, source: str, personas: frozenset[str]) -> RoleRule:
    def error(key: str | None, message: str) -> ConfigError:
        return ConfigError(f"{label}{'.' + key if key else ''} in {source}: {message}")

    for key in rule:
        if key not in _RULE_KEYS:
            raise error(key, "unknown setting")
    # The rule's own condition, or the conditions of an ``all`` rule; neither: always.
    condition: Condition | None = None
    all_of: tuple[Condition, ...] = ()
    if "community_trust_level" in rule:
        level = rule["community_trust_level"]
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 4:
            raise error("community_trust_level", f"expected a trust level 0 to 4, got {level!r}")
        extra = sorted(set(rule) - {"community_trust_level", "persona", "organisation"})
        if extra:
            raise error(None, f"a community_trust_level rule takes no {', '.join(extra)}")
        persona_key = "persona"
    elif "always" in rule:
        extra = sorted(set(rule) - {"always", "organisation"})
        if extra:
            raise error(None, f"an 'always' rule takes no {', '.join(extra)}")
        persona_key = "always"
    elif "all" in rule:
        extra = sorted(set(rule) - {"all", "persona", "organisation"})
        if extra:
            raise error(None, f"an 'all' rule takes no {', '.join(extra)} (put it in a condition)")
        persona_key = "persona"
        conditions = rule["all"]
        if (
            not isinstance(conditions, list)
            or not conditions
            or not all(isinstance(c, dict) for c in conditions)
        ):
            raise error("all", "expected a non-empty list of conditions ({ claim = ..., ... })")
        all_of = tuple(
            _condition(condition, f"{label}.all[{i}]", source)
            for i, condition in enumerate(conditions, 1)
        )
    else:
        persona_key = "persona"
        own = {k: v for k, v in rule.items() if k in _CONDITION_KEYS}
        condition = _condition(own, label, source)
    persona = rule.get(persona_key)
    if persona is None:
        raise error(persona_key, "required: the persona this rule grants")
    if persona not in _PERSONAS:
        raise error(persona_key, f"{persona!r} is not a persona ({', '.join(sorted(_PERSONAS))})")
    if persona not in personas:
        raise error(
            persona_key,
            f"grants {persona!r}, which this provider may not produce "
            f"(personas = {sorted(personas)})",
        )
    organisation = rule.get("organisation")
    if organisation is not None and (not isinstance(organisation, str) or not organisation):
        raise error("organisation", f"expected a non-empty string, got {organisation!r}")
    return RoleRule(
        persona=persona,
        community_trust_level=rule.get("community_trust_level"),
        claim=condition.claim if condition else None,
        contains=condition.contains if condition else None,
        equals=condition.equals if condition else None,
        domain=condition.domain if condition else None,
        organisation=organisation,
        all=all_of,
    )


_CONDITION_KEYS = frozenset({"claim", *_MATCHERS})


def _condition(table: dict[str, Any], label: str, source: str) -> Condition:
    """A claim and exactly one matcher: a rule's own, or one of an ``all`` rule's."""

    def error(key: str | None, message: str) -> ConfigError:
        return ConfigError(f"{label}{'.' + key if key else ''} in {source}: {message}")

    for key in table:
        if key in {"persona", "organisation", "always", "community_trust_level", "all"}:
            raise error(
                key,
                "a condition of 'all' grants nothing itself: put persona and organisation "
                "on the 'all' rule; a condition is a claim and one of contains, equals, domain",
            )
        if key not in _CONDITION_KEYS:
            raise error(key, "unknown setting")
    claim = table.get("claim")
    if not isinstance(claim, str) or not claim:
        raise error("claim", "required: the claim to match, or use always = PERSONA")
    matchers = [key for key in _MATCHERS if key in table]
    if len(matchers) != 1:
        raise error(None, f"expected exactly one of {', '.join(_MATCHERS)}")
    matcher = matchers[0]
    value = table[matcher]
    if matcher == "equals":
        if not isinstance(value, str | int | bool):
            raise error("equals", f"expected a string, number or boolean, got {value!r}")
    elif not isinstance(value, str) or not value:
        raise error(matcher, f"expected a non-empty string, got {value!r}")
    if matcher == "domain":
        # Only the verified email says which domain someone belongs to.
        if claim != "email":
            raise error("claim", "a domain rule matches the verified email: claim = 'email'")
        if "@" in value:
            raise error("domain", f"expected a domain such as partner.example, got {value!r}")
    return Condition(
        claim=claim,
        contains=value if matcher == "contains" else None,
        equals=value if matcher == "equals" else None,
        domain=value.lower() if matcher == "domain" else None,
    )


def _required(table: Mapping[str, Any], key: str) -> Any:
    if key not in table:
        raise ValueError("required")
    return table[key]


def _provider_url(value: Any, *, issuer: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a URL, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError(f"expected an https:// URL, got {value!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        # Keys and discovery over plain http could be swapped in transit.
        raise ValueError(f"{value!r} is plain http; use https (http only on loopback, for tests)")
    if issuer and (parts.query or parts.fragment):
        raise ValueError(f"an issuer has no query or fragment (OpenID Connect), got {value!r}")
    return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _strings(value: Any) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item for item in value)
    ):
        raise ValueError(f"expected a non-empty list of strings, got {value!r}")
    return tuple(dict.fromkeys(value))


def _email_domains(value: Any) -> tuple[str, ...]:
    domains = tuple(d.strip().lower() for d in _strings(value))
    for domain in domains:
        if domain != "*" and ("@" in domain or "." not in domain or "*" in domain):
            raise ValueError(f"expected domains such as corp.example, or '*', got {domain!r}")
    return domains


def _algorithms(value: Any) -> tuple[str, ...]:
    algorithms = _strings(value)
    for alg in algorithms:
        if alg.lower() == "none":
            raise ValueError("'none' would accept unsigned tokens; it is never allowed")
        if alg.upper().startswith("HS"):
            raise ValueError(
                f"{alg!r} is a shared-secret algorithm: with it, anyone holding the provider's "
                "public key could forge tokens; use its signing algorithm (e.g. RS256, ES256)"
            )
        if alg not in ASYMMETRIC_ALGORITHMS:
            raise ValueError(
                f"{alg!r} is not a signature algorithm ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
    return algorithms


def _personas(value: Any) -> tuple[str, ...]:
    personas = _strings(value)
    for persona in personas:
        if persona not in _PERSONAS:
            raise ValueError(f"{persona!r} is not a persona ({', '.join(sorted(_PERSONAS))})")
    return personas


def _leeway(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number of seconds, got {value!r}")
    if not 0 <= value <= MAX_LEEWAY:
        raise ValueError(f"expected 0 to {MAX_LEEWAY} seconds, got {value}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _cache_ttl(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number of seconds, got {value!r}")
    if not 0 <= value <= MAX_INTROSPECTION_CACHE_TTL:
        raise ValueError(f"expected 0 to {MAX_INTROSPECTION_CACHE_TTL} seconds, got {value}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _env_name(value: Any) -> str:
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise ValueError(f"expected the name of an environment variable, got {value!r}")
    return value
