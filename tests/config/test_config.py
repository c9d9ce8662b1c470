"""Configuration: read once, checked, and a bad setting is one line naming it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.cli import main
from gateway.config import ConfigError, Settings

if TYPE_CHECKING:
    from pathlib import Path


def test_zero_config_is_the_sqlite_demo(tmp_path: Path) -> None:
    settings = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)})
    assert settings.zero_config
    assert settings.demo_data and settings.dev_issuer
    assert settings.internal_url == f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}"
    assert settings.community_url == f"sqlite+aiosqlite:///{tmp_path / 'community.db'}"
    # The policy and invariants in force are copies in the data directory (made on first
    # start from the shipped files): the demo never edits the source tree.
    assert settings.policy_file == tmp_path / "policies.csv"
    assert settings.policy_invariants_file == tmp_path / "policy-invariants.csv"
    assert [shipped.is_file() for shipped, _copy in settings.policy_seeds] == [True, True]


def test_a_store_url_turns_the_demo_defaults_off() -> None:
    settings = Settings.load(environ={"GATEWAY_INTERNAL_URL": "postgresql+asyncpg://db/x"})
    assert not settings.zero_config
    assert not settings.dev_issuer and not settings.demo_data


def test_toml_file_and_environment_precedence(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[stores]\ninternal_url = "mysql+asyncmy://root@db/internal"\n'
        "[graphql]\nmax_page_size = 50\nintrospection = false\n"
    )
    settings = Settings.load(config, environ={"GATEWAY_MAX_PAGE_SIZE": "40"})
    assert settings.internal_url == "mysql+asyncmy://root@db/internal"
    assert settings.max_page_size == 40
    assert settings.introspection is False


@pytest.mark.parametrize(
    ("environ", "toml", "message"),
    [
        ({"GATEWAY_MAX_PAGE_SIZE": "lots"}, "", "GATEWAY_MAX_PAGE_SIZE: expected a whole number"),
        ({"GATEWAY_MAX_DEPTH": "0"}, "", "GATEWAY_MAX_DEPTH: expected a number of at least 1"),
        ({"GATEWAY_INTROSPECTION": "maybe"}, "", "GATEWAY_INTROSPECTION: expected true or false"),
        ({"GATEWAY_INTERNAL_URL": "oracle://x"}, "", "GATEWAY_INTERNAL_URL: driver 'oracle'"),
        ({"GATEWAY_COMMUNITY_URL": "::nonsense"}, "", "GATEWAY_COMMUNITY_URL: not a database URL"),
        ({}, "[graphql]\nmax_pagesize = 5\n", "graphql.max_pagesize in"),
        ({}, "[stores\n", "not valid TOML"),
        ({"GATEWAY_DEFAULT_PAGE_SIZE": "500"}, "", "must not exceed GATEWAY_MAX_PAGE_SIZE"),
    ],
)
def test_bad_settings_name_themselves(
    tmp_path: Path, environ: dict[str, str], toml: str, message: str
) -> None:
    config = None
    if toml:
        config = tmp_path / "gateway.toml"
        config.write_text(toml)
    with pytest.raises(ConfigError) as raised:
        Settings.load(config, environ=environ)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_cli_prints_one_line_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_MAX_PAGE_SIZE", "lots")
    assert main(["dev-token", "erin@corp.example"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "gateway: configuration error: GATEWAY_MAX_PAGE_SIZE: expected a whole number, got 'lots'"
    ]


def test_an_unusable_data_directory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(blocker / "data"))
    monkeypatch.delenv("GATEWAY_INTERNAL_URL", raising=False)
    monkeypatch.delenv("GATEWAY_COMMUNITY_URL", raising=False)
    assert main(["dev-token", "erin@corp.example"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gateway: Not a directory: {blocker / 'data'}"]
