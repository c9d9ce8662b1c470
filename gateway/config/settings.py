"""Settings: read once from an optional TOML file and the environment, then frozen.

Every setting has one line below: its TOML key, its environment variable, its
type and its default. The environment wins over the file. A bad value raises
:class:`ConfigError` with one line naming the setting.

OpenID Connect providers (``[[identity.providers]]``) come from the file only: an
array of tables with nested rules does not fit in environment variables. Only a
provider's client secret comes from the environment, from the variable it names.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gateway.config.limits import LIMITS_SPEC, MAX_COST, ByPersona
from gateway.config.observability import LOOPBACK, METRICS_TOKEN_ENV, OBSERVABILITY_SPEC, Network
from gateway.config.provider_tables import _providers
from gateway.config.values import (
    ConfigError,
    _bool,
    _domains,
    _int,
    _origins,
    _personas,
    _policy_store,
    _public_url,
    _seconds,
    _seconds_or_off,
    _str,
    _url,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gateway.config.providers import OidcProvider

__all__ = ["REPO_POLICY", "SESSION_SECRET_ENV", "SPEC", "Settings"]

REPO_POLICY = Path(__file__).resolve().parents[2] / "policies.csv"
# The invariants' file name beside the policy file (policy.invariants_file moves it).
INVARIANTS_NAME = "policy-invariants.csv"
SESSION_SECRET_ENV = "GATEWAY_SESSION_SECRET"  # noqa: S105 (a variable name, not a secret)


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
    # Post-moderation: a post flagged by this many distinct people is hidden pending review.
    "hide_after_flags": ("moderation.hide_after_flags", "GATEWAY_HIDE_AFTER_FLAGS", _int, 3),
    # Invitations about to expire: the invitee and the sponsor are told this many days
    # before (0: never); every replica looks this often (seconds), one sends each reminder.
    "invite_remind_days": ("invitations.remind_days", "GATEWAY_INVITE_REMIND_DAYS", _int, 3),
    "invite_remind_every": (
        "invitations.remind_every_seconds",
        "GATEWAY_INVITE_REMIND_EVERY_SECONDS",
        _int,
        3600,
    ),
    "demo_data": ("stores.demo_data", "GATEWAY_DEMO_DATA", _bool, None),
    "policy_file": ("policy.file", "GATEWAY_POLICY_FILE", _str, None),
    # Access invariants no change may break (gateway/policies/invariants.py). Unset: the
    # policy-invariants.csv beside the policy file, none when there is no such file.
    "policy_invariants_file": (
        "policy.invariants_file",
        "GATEWAY_POLICY_INVARIANTS_FILE",
        _str,
        None,
    ),
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
    # How often (seconds) each replica re-checks every invariant in the background for
    # /readyz, besides at once when the policy or the invariants change; 0: never.
    "policy_invariants_check": (
        "policy.invariants_check_seconds",
        "GATEWAY_POLICY_INVARIANTS_CHECK_SECONDS",
        _seconds_or_off,
        60.0,
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
    # Apollo's automatic persisted queries: a client sends a document's hash alone once it
    # registered the document (gateway/http/persisted.py).
    "persisted_queries": ("graphql.persisted_queries", "GATEWAY_PERSISTED_QUERIES", _bool, True),
    # Callers holding only these personas ("external": every non-staff one) may run only
    # the documents an operator registered (gateway documents add); none by default.
    "trusted_documents_only": (
        "graphql.trusted_documents_only",
        "GATEWAY_TRUSTED_DOCUMENTS_ONLY",
        _personas,
        frozenset(),
    ),
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
    # The response cache (gateway/runtime/response_cache.py): how old a cached answer (or
    # a caller's memberships) may grow, bounding what changes made in a store by other
    # systems take to show (writes through the gateway show at once); 0 turns it off.
    "cache_max_age": ("cache.max_age", "GATEWAY_CACHE_MAX_AGE", _seconds_or_off, 2.0),
    # Bytes of cached answers a process keeps, least recently used first out (64 MiB).
    "cache_max_bytes": ("cache.max_bytes", "GATEWAY_CACHE_MAX_BYTES", _int, 64 << 20),
    # Seconds in-flight requests get to finish after SIGTERM before they are cancelled
    # (and the process ends even if one of them holds the event loop).
    "shutdown_timeout": ("server.shutdown_timeout", "GATEWAY_SHUTDOWN_TIMEOUT", _int, 10),
    # /metrics and the log format (gateway/config/observability.py).
    **OBSERVABILITY_SPEC,
    # Browser origins whose pages may call the API (CORS, with credentials) and open its
    # GraphQL websocket; or "*" alone: any page, over HTTP only and without credentials.
    # Empty: same-origin pages only.
    "cors_origins": ("http.cors_origins", "GATEWAY_CORS_ORIGINS", _origins, ()),
    # The query cost limit and the rate limits (gateway/config/limits.py).
    **LIMITS_SPEC,
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
    invite_remind_days: int
    invite_remind_every: int
    demo_data: bool
    policy_file: Path
    policy_invariants_file: Path
    # (shipped file, copy): what the zero-config demo copies into its data directory on
    # first start, so that its changes never edit the source tree (seed_policy_files).
    policy_seeds: tuple[tuple[Path, Path], ...]
    policy_reload: bool
    policy_store: str
    policy_safety_poll: int
    policy_invariants_check: float
    public_url: str | None
    dev_issuer: bool
    introspection: bool
    graphiql: bool
    persisted_queries: bool
    trusted_documents_only: frozenset[str]
    default_page_size: int
    max_page_size: int
    max_depth: int
    max_tokens: int
    max_aliases: int
    max_expanded_fields: int
    max_body_bytes: int
    cache_max_age: float
    cache_max_bytes: int
    shutdown_timeout: int
    # The login session cookie: sent over https only (off in the zero-config demo, which
    # runs on plain http), how many seconds a login lasts, and how long it may sit unused.
    secure_cookies: bool
    session_max_age: int
    session_idle_timeout: int
    # True when neither a store URL was given: the embedded SQLite demo.
    zero_config: bool = False
    # Normalised origins (http.cors_origins), or ("*",): see gateway/http/cors.py.
    cors_origins: tuple[str, ...] = ()
    # OpenID Connect providers whose bearer tokens are accepted (TOML file only).
    providers: tuple[OidcProvider, ...] = ()
    # Signs the session cookie; from GATEWAY_SESSION_SECRET only (never the file, which may
    # be committed). None: generated into the data directory on first start.
    session_secret: str | None = field(default=None, repr=False)
    # Operators' settings (gateway/config/observability.py); the token from the environment.
    metrics_enabled: bool = True
    metrics_allow_from: tuple[Network, ...] = LOOPBACK
    metrics_max_operation_names: int = 100
    log_format: str = "text"
    tracing_enabled: bool = False
    tracing_exporter: str = "otlp"
    metrics_token: str | None = field(default=None, repr=False)
    # Demand limits (gateway/config/limits.py); a rate of None is no limit.
    max_cost: int = MAX_COST
    max_cost_by_persona: ByPersona = ()
    rate_limit: str | None = "600/minute"
    guest_rate_limit: str | None = "120/minute"
    rate_limit_by_persona: ByPersona = ()
    admin_rate_limit: str | None = "120/minute"
    login_rate_limit: str | None = "30/minute"
    rate_limit_storage: str = "memory://"
    rate_limit_timeout: float = 0.25
    rate_limit_trusted_proxies: tuple[Network, ...] = ()
    hide_after_flags: int = 3

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
        invariants = raw["policy_invariants_file"]
        seeds: tuple[tuple[Path, Path], ...] = ()
        if policy is None:
            local = Path("policies.csv")
            shipped = local if local.is_file() else REPO_POLICY
            policy = shipped
            if zero_config:
                # The demo never edits the source tree: it changes copies in its data
                # directory, made from the shipped files on first start (policy_seeds).
                policy = data_dir / shipped.name
                seeds = ((shipped, policy),)
                if invariants is None and shipped.with_name(INVARIANTS_NAME).is_file():
                    invariants = data_dir / INVARIANTS_NAME
                    seeds += ((shipped.with_name(INVARIANTS_NAME), invariants),)
        raw["policy_file"] = Path(policy)
        if invariants is None:
            invariants = raw["policy_file"].with_name(INVARIANTS_NAME)
        elif not seeds[1:] and not Path(invariants).is_file():
            raise ConfigError(f"GATEWAY_POLICY_INVARIANTS_FILE: no file {invariants}")
        raw["policy_invariants_file"] = Path(invariants)
        raw["policy_seeds"] = seeds
        if raw["hide_after_flags"] < 1:
            raise ConfigError(
                f"GATEWAY_HIDE_AFTER_FLAGS: must be at least 1, not {raw['hide_after_flags']}"
            )
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
            metrics_token=environ.get(METRICS_TOKEN_ENV) or None,
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
