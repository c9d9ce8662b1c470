"""Value parsers for the settings, and the error a bad setting raises.

Each parser takes a value from the TOML file or the environment (where everything is a
string) and returns it checked and typed, or raises :class:`ValueError` with the reason;
:meth:`Settings.load <gateway.config.settings.Settings.load>` turns that into a
:class:`ConfigError` naming the setting. The parsers are private to the package (leading
``_``): the settings table, ``SPEC`` in :mod:`gateway.config.settings`, gives each setting one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConfigError"]


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


def _seconds_or_off(value: Any) -> float:
    """A duration in seconds, or 0 for "off"."""
    if not isinstance(value, bool) and value in (0, "0", 0.0):
        return 0.0
    return _seconds(value)


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


# Personas that are not staff: what "external" stands for in a list of personas.
EXTERNAL_PERSONAS = ("guest", "member", "trusted_customer", "partner", "contractor")
PERSONA_NAMES = (
    "community_manager",
    "contractor",
    "employee",
    "guest",
    "member",
    "moderator",
    "partner",
    "security_admin",
    "trusted_customer",
)


def _personas(value: Any) -> frozenset[str]:
    """Personas: a TOML list or a comma-separated variable; ``external`` stands for every
    persona that is not staff (guest, member, trusted_customer, partner, contractor)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"expected a list of personas, got {value!r}")
    found: set[str] = set()
    for item in (i.strip().lower() for i in items if i.strip()):
        if item == "external":
            found.update(EXTERNAL_PERSONAS)
        elif item in PERSONA_NAMES:
            found.add(item)
        else:
            known = ", ".join(("external", *PERSONA_NAMES))
            raise ValueError(f"unknown persona {item!r} (known: {known})")
    return frozenset(found)


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


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origins(value: Any) -> tuple[str, ...]:
    """Browser origins (``https://app.example``, ``http://localhost:5173``): a TOML list, or
    a comma-separated environment variable; or ``*`` alone, for any origin without
    credentials. Each is normalised as browsers send it in ``Origin``: scheme and host in
    lower case, a default port left out."""
    from urllib.parse import urlsplit

    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"expected a list of origins such as https://app.example, got {value!r}")
    texts = [i.strip() for i in items if i.strip()]
    if "*" in texts:
        if len(texts) > 1:
            raise ValueError(
                "'*' (any origin, without credentials) cannot be combined with listed origins, "
                "which are allowed credentials: list the origins, or give '*' alone"
            )
        return ("*",)
    origins: list[str] = []
    for text in texts:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise ValueError(f"not an origin: {text!r}") from None
        scheme = parts.scheme.lower()
        if (
            scheme not in _DEFAULT_PORTS
            or not parts.hostname
            or parts.path not in {"", "/"}
            or parts.query
            or parts.fragment
            or parts.username is not None
            or "*" in text
        ):
            raise ValueError(
                f"expected an origin such as https://app.example or http://localhost:5173 "
                f"(scheme, host and optional port, no path), got {text!r}"
            )
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        if port is not None and port != _DEFAULT_PORTS[scheme]:
            host = f"{host}:{port}"
        origins.append(f"{scheme}://{host}")
    return tuple(dict.fromkeys(origins))
