"""The demand settings: what one query may cost, and how many requests a caller may send.

Merged into the settings table (``SPEC`` in :mod:`gateway.config.settings`). The cost is
judged by :mod:`gateway.schema.limits`, the rates by :mod:`gateway.http.ratelimit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gateway.config.observability import _networks
from gateway.config.values import _int, _personas, _seconds

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["LIMITS_SPEC", "MAX_COST", "RATE_STORAGE_SCHEMES", "ByPersona", "persona_value"]

# Per-persona values, sorted by persona: ((persona, value), ...).
ByPersona = tuple[tuple[str, Any], ...]

MAX_COST = 250_000

RATE_STORAGE_SCHEMES = ("memory", "redis", "rediss")
_OFF = {"0", "off", "false", "no", "none"}


def _rate(value: Any) -> str | None:
    """A rate in the ``limits`` library's notation (``600/minute``, ``10 per second``,
    ``100/5 minutes``), or 0 / off for no limit (None)."""
    from limits import parse_many

    text = str(value).strip()
    if text.lower() in _OFF:
        return None
    try:
        items = parse_many(text)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(f"expected a rate such as 600/minute, or off, got {value!r}")
    return text


def _by_persona(parse: Callable[[Any], Any]) -> Callable[[Any], ByPersona]:
    """A parser of per-persona values: a TOML table (``{partner = 50000}``) or a
    comma-separated variable (``partner=50000,guest=5000``); ``external`` stands for every
    persona that is not staff, and a persona named on its own wins over ``external``."""

    def parse_by_persona(value: Any) -> ByPersona:
        pairs: list[tuple[Any, Any]]
        if isinstance(value, str):
            pairs = []
            for part in (p.strip() for p in value.split(",") if p.strip()):
                name, equals, item = part.partition("=")
                if not equals:
                    raise ValueError(f"expected persona=value pairs, got {part!r}")
                pairs.append((name.strip(), item.strip()))
        elif isinstance(value, dict):
            pairs = list(value.items())
        else:
            raise ValueError(f"expected a table of persona = value, got {value!r}")
        found: dict[str, Any] = {}
        # "external" first, so that a persona named on its own overrides it.
        for name, item in sorted(pairs, key=lambda pair: pair[0] != "external"):
            if not isinstance(name, str):
                raise ValueError(f"expected a persona, got {name!r}")
            parsed = parse(item)
            for persona in _personas([name]):
                found[persona] = parsed
        return tuple(sorted(found.items()))

    return parse_by_persona


def persona_value(by_persona: ByPersona, roles: Iterable[str], default: Any, rank: Any) -> Any:
    """The value for a caller holding ``roles`` (none: a guest): the best (highest
    ``rank``) of the values their personas have, or ``default`` when none has one."""
    held = set(roles) or {"guest"}
    values = [value for persona, value in by_persona if persona in held]
    return max(values, key=rank) if values else default


def _storage_url(value: Any) -> str:
    """``memory://`` (this process only) or a Redis URL (``redis://host:6379/0``)."""
    text = str(value).strip()
    scheme = urlsplit(text).scheme
    if scheme not in RATE_STORAGE_SCHEMES:
        raise ValueError(f"expected memory:// or a redis:// URL, got {scheme or text!r}")
    return text


# name: (TOML key, environment variable, parser, default), as in SPEC.
LIMITS_SPEC: dict[str, tuple[str, str, Callable[[Any], Any], Any]] = {
    # The most an operation may cost: each field 1, lists times their page size
    # (gateway/schema/limits.py). A front page costs about 160; the default refuses
    # spaces(first: 100) { questions(first: 100) { answers(first: 100) { id } } } (2 million)
    # and lets through 100 spaces x 20 prototypes x 20 feedback (about 200,000).
    "max_cost": ("graphql.max_cost", "GATEWAY_MAX_COST", _int, MAX_COST),
    # ... and per persona: a caller gets the highest limit among its personas listed here,
    # or max_cost when none is (e.g. {guest = 5000, external = 50000, employee = 500000}).
    "max_cost_by_persona": (
        "graphql.max_cost_by_persona",
        "GATEWAY_MAX_COST_BY_PERSONA",
        _by_persona(_int),
        (),
    ),
    # Requests per caller (a principal; a guest by client address) in a sliding window.
    "rate_limit": ("ratelimit.rate", "GATEWAY_RATE_LIMIT", _rate, "600/minute"),
    "guest_rate_limit": ("ratelimit.guest_rate", "GATEWAY_RATE_LIMIT_GUEST", _rate, "120/minute"),
    # ... and per persona, instead of those two: a caller gets the most generous rate among
    # its personas listed here ("off" is no limit), or the one above when none is listed.
    "rate_limit_by_persona": (
        "ratelimit.persona_rates",
        "GATEWAY_RATE_LIMIT_BY_PERSONA",
        _by_persona(_rate),
        (),
    ),
    # Stricter budgets of their own, spent besides the one above: the admin API and page
    # (/admin...) per caller, and the login routes (/auth/...) per client address, since
    # most of their callers are not logged in yet (password guessing at a provider is the
    # provider's to stop; this bounds logins started and callbacks replayed).
    "admin_rate_limit": ("ratelimit.admin_rate", "GATEWAY_RATE_LIMIT_ADMIN", _rate, "120/minute"),
    "login_rate_limit": ("ratelimit.login_rate", "GATEWAY_RATE_LIMIT_LOGIN", _rate, "30/minute"),
    # Where the counts live: this process's memory, or Redis, shared by every replica.
    "rate_limit_storage": (
        "ratelimit.storage_url",
        "GATEWAY_RATE_LIMIT_STORAGE",
        _storage_url,
        "memory://",
    ),
    # The most a request waits for Redis before it is let through (fail open).
    "rate_limit_timeout": (
        "ratelimit.storage_timeout",
        "GATEWAY_RATE_LIMIT_STORAGE_TIMEOUT",
        _seconds,
        0.25,
    ),
    # Proxies whose X-Forwarded-For names a guest's address (none: the peer is the client).
    "rate_limit_trusted_proxies": (
        "ratelimit.trusted_proxies",
        "GATEWAY_RATE_LIMIT_TRUSTED_PROXIES",
        _networks,
        (),
    ),
}
