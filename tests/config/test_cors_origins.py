"""http.cors_origins / GATEWAY_CORS_ORIGINS: origins as browsers send them, or "*" alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.config import ConfigError, Settings

if TYPE_CHECKING:
    from pathlib import Path


def test_no_origin_by_default() -> None:
    assert Settings.load(environ={}).cors_origins == ()


def test_the_environment_lists_origins_normalised_as_browsers_send_them() -> None:
    settings = Settings.load(
        environ={
            "GATEWAY_CORS_ORIGINS": " https://App.Example:443/ , http://localhost:5173,"
            "http://[::1]:8080,https://app.example"
        }
    )
    assert settings.cors_origins == (
        "https://app.example",
        "http://localhost:5173",
        "http://[::1]:8080",
    )


def test_the_file_lists_origins_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[http]\ncors_origins = ["https://one.example", "https://two.example"]\n')
    assert Settings.load(config, environ={}).cors_origins == (
        "https://one.example",
        "https://two.example",
    )
    env = {"GATEWAY_CORS_ORIGINS": "https://three.example"}
    assert Settings.load(config, environ=env).cors_origins == ("https://three.example",)


def test_a_star_alone_is_any_origin() -> None:
    assert Settings.load(environ={"GATEWAY_CORS_ORIGINS": "*"}).cors_origins == ("*",)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("*,https://app.example", "'*' (any origin, without credentials) cannot be combined"),
        ("app.example", "expected an origin such as https://app.example"),
        ("https://app.example/graphql", "no path), got 'https://app.example/graphql'"),
        ("https://*.app.example", "got 'https://*.app.example'"),
        ("ftp://app.example", "got 'ftp://app.example'"),
        ("null", "got 'null'"),
        ("https://user@app.example", "got 'https://user@app.example'"),
        ("https://app.example?x=1", "got 'https://app.example?x=1'"),
        ("http://localhost:99999", "not an origin: 'http://localhost:99999'"),
    ],
)
def test_a_bad_origin_is_a_config_error_naming_the_setting(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load(environ={"GATEWAY_CORS_ORIGINS": value})
    assert str(raised.value).startswith("GATEWAY_CORS_ORIGINS: ")
    assert message in str(raised.value)


def test_a_bad_origin_in_the_file_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[http]\ncors_origins = [1]\n")
    with pytest.raises(ConfigError, match=r"^http\.cors_origins in .*gateway\.toml: expected"):
        Settings.load(config, environ={})
    config.write_text("[http]\ncors_origin = []\n")
    with pytest.raises(ConfigError, match=r"http\.cors_origin in .*: unknown setting"):
        Settings.load(config, environ={})
