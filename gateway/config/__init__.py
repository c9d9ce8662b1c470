"""Settings: read once from an optional TOML file and the environment, then frozen.

Every setting has one line below: its TOML key, its environment variable, its
type and its default. The environment wins over the file. A bad value raises
:class:`ConfigError` with one line naming the setting.

OpenID Connect providers (``[[identity.providers]]``) come from the file only: an
array of tables with nested rules does not fit in environment variables. Only a
provider's client secret comes from the environment, from the variable it names.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gateway.domain.permissions import Persona

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

REPO_POLICY = Path(__file__).resolve().parents[2] / "policies.csv"
SESSION_SECRET_ENV = "GATEWAY_SESSION_SECRET"  # noqa: S105 (a variable name, not a secret)


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it in one line."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise ValueError(f"expected a number of at least 1, got {number}")
    return number


def _seconds(value: Any) -> float:
    """A positive duration in seconds, fractions allowed (``0.5``)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number of seconds, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of seconds, got {value!r}") from None
    if not 0 < number <= 3600:
        raise ValueError(f"expected more than 0 and at most 3600 seconds, got {value!r}")
    return number


def _url(value: Any) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = str(value)
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError(f"not a database URL: {text!r}") from None
    drivers = {"sqlite+aiosqlite", "postgresql+asyncpg", "mysql+asyncmy", "mariadb+asyncmy"}
    if url.drivername not in drivers:
        raise ValueError(f"driver {url.drivername!r} is not one of {', '.join(sorted(drivers))}")
    return text


def _policy_store(value: Any) -> str:
    if value not in ("file", "database"):
        raise ValueError(f"must be file or database, not {value!r}")
    return str(value)


def _str(value: Any) -> str:
    return str(value)


def _public_url(value: Any) -> str:
    """The gateway's own URL as browsers reach it (behind a proxy: the proxy's)."""
    from urllib.parse import urlsplit

    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"expected an absolute http(s) URL, got {text!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"expected a URL without query or fragment, got {text!r}")
    return text.rstrip("/")


def _domains(value: Any) -> tuple[str, ...]:
    """Email domains: a TOML list, or a comma-separated environment variable."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"expected a list of domains, got {value!r}")
    domains = tuple(dict.fromkeys(d.strip().lower() for d in items if d.strip()))
    for domain in domains:
        if "@" in domain or "." not in domain or "*" in domain or " " in domain:
            raise ValueError(f"expected domains such as corp.example, got {domain!r}")
    return domains


# name: (TOML key, environment variable, parser, default; None = derived below)
SPEC: dict[str, tuple[str, str, Callable[[Any], Any], Any]] = {
    "data_dir": ("data_dir", "GATEWAY_DATA_DIR", _str, ".gateway"),
    "internal_url": ("stores.internal_url", "GATEWAY_INTERNAL_URL", _url, None),
    "community_url": ("stores.community_url", "GATEWAY_COMMUNITY_URL", _url, None),
    # The gateway's own records (audit log, idempotency keys), shared by every replica.
    "records_url": ("records.url", "GATEWAY_RECORDS_URL", _url, None),
    # Seconds a store call may take (connect, wait for a pooled connection, execute);
    # past it the store counts as down for that part of the response. Per store: unset
    # means stores.statement_timeout. The records database's statements get the same.
    "store_timeout": ("stores.statement_timeout", "GATEWAY_STORE_TIMEOUT", _seconds, 5.0),
    "internal_store_timeout": (
        "stores.internal_statement_timeout",
        "GATEWAY_INTERNAL_STORE_TIMEOUT",
        _seconds,
        None,
    ),
    "community_store_timeout": (
        "stores.community_statement_timeout",
        "GATEWAY_COMMUNITY_STORE_TIMEOUT",
        _seconds,
        None,
    ),
    "records_timeout": ("records.statement_timeout", "GATEWAY_RECORDS_TIMEOUT", _seconds, None),
    # A store's circuit breaker: after this many consecutive failures it is not called for
    # breaker_backoff seconds (doubling after each failed probe, up to breaker_max_backoff).
    "breaker_failures": ("stores.breaker_failures", "GATEWAY_STORE_BREAKER_FAILURES", _int, 3),
    "breaker_backoff": (
        "stores.breaker_backoff_seconds",
        "GATEWAY_STORE_BREAKER_BACKOFF",
        _seconds,
        5.0,
    ),
    "breaker_max_backoff": (
        "stores.breaker_max_backoff_seconds",
        "GATEWAY_STORE_BREAKER_MAX_BACKOFF",
        _seconds,
        60.0,
    ),
    # Email domains of the organisation's own staff: invitees elsewhere are externals.
    "organisation_domains": (
        "organisation.email_domains",
        "GATEWAY_ORGANISATION_DOMAINS",
        _domains,
        None,
    ),
    # Invitations: only to these domains (empty: any), never to those; per inviter per hour.
    "invite_allowed_domains": (
        "invitations.allowed_domains",
        "GATEWAY_INVITE_ALLOWED_DOMAINS",
        _domains,
        (),
    ),
    "invite_denied_domains": (
        "invitations.denied_domains",
        "GATEWAY_INVITE_DENIED_DOMAINS",
        _domains,
        (),
    ),
    "invite_rate_per_hour": ("invitations.per_hour", "GATEWAY_INVITE_PER_HOUR", _int, 20),
    "invite_max_days": ("invitations.max_days", "GATEWAY_INVITE_MAX_DAYS", _int, 365),
    "demo_data": ("stores.demo_data", "GATEWAY_DEMO_DATA", _bool, None),
    "policy_file": ("policy.file", "GATEWAY_POLICY_FILE", _str, None),
    # Edits of the policy file take effect without a restart (a broken file never does).
    "policy_reload": ("policy.reload", "GATEWAY_POLICY_RELOAD", _bool, True),
    # Where the policy in force lives: "file" (policy.file) or "database" (the records
    # database, seeded from policy.file on first start). Replicas share the database one.
    "policy_store": ("policy.store", "GATEWAY_POLICY_STORE", _policy_store, "file"),
    # While a PostgreSQL notification channel is up, replicas still look at the source this
    # often (seconds), in case a notification was lost; while it is down, twice a second.
    "policy_safety_poll": (
        "policy.safety_poll_seconds",
        "GATEWAY_POLICY_SAFETY_POLL_SECONDS",
        _int,
        5,
    ),
    # Where browsers reach the gateway (e.g. https://collab.corp.example behind a proxy):
    # login callbacks are built from it. Unset: from each request's own URL.
    "public_url": ("identity.public_url", "GATEWAY_PUBLIC_URL", _public_url, None),
    "dev_issuer": ("identity.dev_issuer", "GATEWAY_DEV_ISSUER", _bool, None),
    "secure_cookies": ("identity.secure_cookies", "GATEWAY_SECURE_COOKIES", _bool, None),
    "session_max_age": ("identity.session_max_age", "GATEWAY_SESSION_MAX_AGE", _int, 8 * 3600),
    # A browser session unused this many seconds ends, whatever its max age.
    "session_idle_timeout": (
        "identity.session_idle_timeout",
        "GATEWAY_SESSION_IDLE_TIMEOUT",
        _int,
        8 * 3600,
    ),
    "introspection": ("graphql.introspection", "GATEWAY_INTROSPECTION", _bool, True),
    "graphiql": ("graphql.graphiql", "GATEWAY_GRAPHIQL", _bool, True),
    "default_page_size": ("graphql.default_page_size", "GATEWAY_DEFAULT_PAGE_SIZE", _int, 20),
    "max_page_size": ("graphql.max_page_size", "GATEWAY_MAX_PAGE_SIZE", _int, 100),
    "max_depth": ("graphql.max_depth", "GATEWAY_MAX_DEPTH", _int, 12),
    "max_tokens": ("graphql.max_tokens", "GATEWAY_MAX_TOKENS", _int, 2000),
    "max_aliases": ("graphql.max_aliases", "GATEWAY_MAX_ALIASES", _int, 20),
    # Fields a document selects once its fragments are expanded (fragment fan-out).
    "max_expanded_fields": (
        "graphql.max_expanded_fields",
        "GATEWAY_MAX_EXPANDED_FIELDS",
        _int,
        5000,
    ),
    # Largest request body, GET query string or websocket message, in bytes (1 MiB).
    "max_body_bytes": ("graphql.max_body_bytes", "GATEWAY_MAX_BODY_BYTES", _int, 1 << 20),
    # Seconds in-flight requests get to finish after SIGTERM before they are cancelled
    # (and the process ends even if one of them holds the event loop).
    "shutdown_timeout": ("server.shutdown_timeout", "GATEWAY_SHUTDOWN_TIMEOUT", _int, 10),
}


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    internal_url: str
    community_url: str
    records_url: str
    store_timeout: float
    internal_store_timeout: float
    community_store_timeout: float
    records_timeout: float
    breaker_failures: int
    breaker_backoff: float
    breaker_max_backoff: float
    organisation_domains: tuple[str, ...]
    invite_allowed_domains: tuple[str, ...]
    invite_denied_domains: tuple[str, ...]
    invite_rate_per_hour: int
    invite_max_days: int
    demo_data: bool
    policy_file: Path
    policy_reload: bool
    policy_store: str
    policy_safety_poll: int
    public_url: str | None
    dev_issuer: bool
    introspection: bool
    graphiql: bool
    default_page_size: int
    max_page_size: int
    max_depth: int
    max_tokens: int
    max_aliases: int
    max_expanded_fields: int
    max_body_bytes: int
    shutdown_timeout: int
    # The login session cookie: sent over https only (off in the zero-config demo, which
    # runs on plain http), how many seconds a login lasts, and how long it may sit unused.
    secure_cookies: bool
    session_max_age: int
    session_idle_timeout: int
    # True when neither a store URL was given: the embedded SQLite demo.
    zero_config: bool = False
    # OpenID Connect providers whose bearer tokens are accepted (TOML file only).
    providers: tuple[OidcProvider, ...] = ()
    # Signs the session cookie; from GATEWAY_SESSION_SECRET only (never the file, which may
    # be committed). None: generated into the data directory on first start.
    session_secret: str | None = field(default=None, repr=False)

    @classmethod
    def load(
        cls, config_file: str | Path | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Read the TOML file (if any) and the environment, and check every value."""
        environ = os.environ if environ is None else environ
        table: dict[str, Any] = {}
        if config_file is not None:
            table = _read_toml(Path(config_file))
        raw: dict[str, Any] = {}
        for name, (key, env, parse, default) in SPEC.items():
            source, value = env, environ.get(env)
            if value is None:
                source, value = f"{key} in {config_file}", _lookup(table, key)
            if value is None:
                raw[name] = default
                continue
            try:
                raw[name] = parse(value)
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}") from None
        _reject_unknown(table, config_file)
        providers_table = _lookup(table, "identity.providers")
        providers = (
            ()
            if providers_table is None
            else _providers(providers_table, str(config_file), environ)
        )
        data_dir = Path(raw["data_dir"])
        zero_config = raw["internal_url"] is None and raw["community_url"] is None
        raw["data_dir"] = data_dir
        for store in ("internal", "community"):
            if raw[f"{store}_url"] is None:
                raw[f"{store}_url"] = f"sqlite+aiosqlite:///{data_dir / f'{store}.db'}"
        if raw["records_url"] is None:
            raw["records_url"] = f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}"
        for own in ("internal_store_timeout", "community_store_timeout", "records_timeout"):
            if raw[own] is None:
                raw[own] = raw["store_timeout"]
        if raw["organisation_domains"] is None:
            # The demo's staff are at corp.example; elsewhere nobody is staff unless configured.
            raw["organisation_domains"] = ("corp.example",) if zero_config else ()
        if raw["demo_data"] is None:
            raw["demo_data"] = zero_config
        if raw["dev_issuer"] is None:
            raw["dev_issuer"] = zero_config
        if raw["secure_cookies"] is None:
            raw["secure_cookies"] = not zero_config
        policy = raw["policy_file"]
        if policy is None:
            local = Path("policies.csv")
            policy = local if local.is_file() else REPO_POLICY
        raw["policy_file"] = Path(policy)
        if raw["default_page_size"] > raw["max_page_size"]:
            raise ConfigError(
                "GATEWAY_DEFAULT_PAGE_SIZE: must not exceed GATEWAY_MAX_PAGE_SIZE "
                f"({raw['default_page_size']} > {raw['max_page_size']})"
            )
        return cls(
            **raw,
            zero_config=zero_config,
            providers=providers,
            session_secret=environ.get(SESSION_SECRET_ENV) or None,
        )

    def plain_http_cookie_warning(self, bound_url: str | None = None) -> str | None:
        """One line for the operator when browsers reach the gateway over plain http while
        its session cookie is Secure: they never send it back, so every login fails in the
        callback. ``bound_url``: where the server listens, for want of ``public_url``."""
        if not self.secure_cookies:
            return None
        if not (self.dev_issuer or any(p.client_id for p in self.providers)):
            return None  # no browser login: the cookie carries nothing that matters
        url = self.public_url or bound_url
        if url is None or urlsplit(url).scheme != "http":
            return None
        where = "identity.public_url" if self.public_url else "the bound address"
        return (
            f"identity.secure_cookies is on but {where} is plain http ({url}): browsers do not "
            "send a Secure cookie back over http, so browser logins will fail; serve https "
            "(behind a TLS proxy, set identity.public_url to its https URL) or set "
            "identity.secure_cookies = false"
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _lookup(table: Mapping[str, Any], dotted: str) -> Any:
    node: Any = table
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _reject_unknown(table: Mapping[str, Any], config_file: str | Path | None) -> None:
    known = {spec[0] for spec in SPEC.values()} | {"identity.providers"}
    sections = {k.split(".")[0] for k in known}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, dict) and dotted in sections:
                walk(value, f"{dotted}.")
            elif dotted not in known:
                raise ConfigError(f"{dotted} in {config_file}: unknown setting")

    walk(table, "")


# --- OpenID Connect providers ---------------------------------------------------------

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
