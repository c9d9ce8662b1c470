"""Settings: read once from an optional TOML file and the environment, then frozen.

Every setting has one line below: its TOML key, its environment variable, its
type and its default. The environment wins over the file. A bad value raises
:class:`ConfigError` with one line naming the setting.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

REPO_POLICY = Path(__file__).resolve().parent.parent / "policies.csv"


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


def _str(value: Any) -> str:
    return str(value)


# name: (TOML key, environment variable, parser, default; None = derived below)
SPEC: dict[str, tuple[str, str, Callable[[Any], Any], Any]] = {
    "data_dir": ("data_dir", "GATEWAY_DATA_DIR", _str, ".gateway"),
    "internal_url": ("stores.internal_url", "GATEWAY_INTERNAL_URL", _url, None),
    "community_url": ("stores.community_url", "GATEWAY_COMMUNITY_URL", _url, None),
    "demo_data": ("stores.demo_data", "GATEWAY_DEMO_DATA", _bool, None),
    "policy_file": ("policy.file", "GATEWAY_POLICY_FILE", _str, None),
    "dev_issuer": ("identity.dev_issuer", "GATEWAY_DEV_ISSUER", _bool, None),
    "introspection": ("graphql.introspection", "GATEWAY_INTROSPECTION", _bool, True),
    "graphiql": ("graphql.graphiql", "GATEWAY_GRAPHIQL", _bool, True),
    "default_page_size": ("graphql.default_page_size", "GATEWAY_DEFAULT_PAGE_SIZE", _int, 20),
    "max_page_size": ("graphql.max_page_size", "GATEWAY_MAX_PAGE_SIZE", _int, 100),
    "max_depth": ("graphql.max_depth", "GATEWAY_MAX_DEPTH", _int, 12),
    "max_tokens": ("graphql.max_tokens", "GATEWAY_MAX_TOKENS", _int, 2000),
    "max_aliases": ("graphql.max_aliases", "GATEWAY_MAX_ALIASES", _int, 20),
}


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    internal_url: str
    community_url: str
    demo_data: bool
    policy_file: Path
    dev_issuer: bool
    introspection: bool
    graphiql: bool
    default_page_size: int
    max_page_size: int
    max_depth: int
    max_tokens: int
    max_aliases: int
    # True when neither a store URL was given: the embedded SQLite demo.
    zero_config: bool = False

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
        data_dir = Path(raw["data_dir"])
        zero_config = raw["internal_url"] is None and raw["community_url"] is None
        raw["data_dir"] = data_dir
        for store in ("internal", "community"):
            if raw[f"{store}_url"] is None:
                raw[f"{store}_url"] = f"sqlite+aiosqlite:///{data_dir / f'{store}.db'}"
        if raw["demo_data"] is None:
            raw["demo_data"] = zero_config
        if raw["dev_issuer"] is None:
            raw["dev_issuer"] = zero_config
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
        return cls(**raw, zero_config=zero_config)


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
    known = {spec[0] for spec in SPEC.values()}
    sections = {k.split(".")[0] for k in known}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, dict) and dotted in sections:
                walk(value, f"{dotted}.")
            elif dotted not in known:
                raise ConfigError(f"{dotted} in {config_file}: unknown setting")

    walk(table, "")


SETTING_NAMES = tuple(f.name for f in fields(Settings))
