"""Configuration: settings read once from an optional TOML file and the environment,
checked, then frozen; a bad setting is one :class:`ConfigError` line naming it.

The modules: :mod:`~gateway.config.settings` (:class:`Settings`: every setting's TOML
key, environment variable, parser and default, and loading them),
:mod:`~gateway.config.values` (the value parsers and :class:`ConfigError`),
:mod:`~gateway.config.providers` (the OpenID Connect provider schema:
:class:`OidcProvider`, :class:`RoleRule`, :class:`Condition`) and
:mod:`~gateway.config.provider_tables` (reading ``[[identity.providers]]`` into them).
Import the public names from here: ``from gateway.config import Settings``.
"""

from __future__ import annotations

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
from gateway.config.settings import REPO_POLICY, SESSION_SECRET_ENV, SPEC, Settings
from gateway.config.values import ConfigError

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "DEFAULT_INTROSPECTION_CACHE_TTL",
    "DEFAULT_LEEWAY",
    "DEFAULT_SCOPES",
    "MAX_INTROSPECTION_CACHE_TTL",
    "MAX_LEEWAY",
    "REPO_POLICY",
    "SESSION_SECRET_ENV",
    "SPEC",
    "Condition",
    "ConfigError",
    "OidcProvider",
    "RoleRule",
    "Settings",
]
