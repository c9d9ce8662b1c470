"""The config package: what it exports, and the policy file it falls back on."""

from __future__ import annotations

from pathlib import Path

import gateway.config
from gateway.config import providers, settings, values

# Every public name the package had as one module, still importable from the package.
PUBLIC = {
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
}


def test_the_package_exports_exactly_its_public_names() -> None:
    assert set(gateway.config.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(gateway.config, name) is not None
    # The package's names are its modules' public names, the same objects.
    modules = (settings, values, providers)
    assert set().union(*(module.__all__ for module in modules)) == PUBLIC
    for module in modules:
        for name in module.__all__:
            assert getattr(gateway.config, name) is getattr(module, name)


def test_the_default_policy_is_the_repository_root_one() -> None:
    policy = gateway.config.REPO_POLICY
    assert policy == Path(__file__).resolve().parents[2].joinpath("policies.csv")
    assert policy.is_file()
