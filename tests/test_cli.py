"""The gateway command: dev-token and policy explain, as a user runs them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.cli import main
from gateway.config import Settings
from gateway.identity.dev_issuer import DevIssuer

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / ".gateway"))
    # Store URLs from the environment would turn the zero-config demo off.
    monkeypatch.delenv("GATEWAY_INTERNAL_URL", raising=False)
    monkeypatch.delenv("GATEWAY_COMMUNITY_URL", raising=False)
    return tmp_path / ".gateway"


def test_dev_token_is_verified_by_the_same_key(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dev-token", "Paula@Partner.example"]) == 0
    token = capsys.readouterr().out.strip()
    principal = DevIssuer.open(demo_dir).verify(token)
    assert principal is not None
    assert principal.id == "user:paula@partner.example"
    assert principal.roles == {"partner"}
    assert oct((demo_dir / "dev-issuer-key.json").stat().st_mode)[-3:] == "600"


def test_dev_token_for_an_unknown_user_needs_a_role(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dev-token", "zed@elsewhere.example"]) == 2
    assert "not a demo user; pass --role" in capsys.readouterr().err
    assert main(["dev-token", "zed@elsewhere.example", "--role", "member"]) == 0


def test_dev_token_refused_when_the_issuer_is_off(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_DEV_ISSUER", "false")
    assert main(["dev-token", "erin@corp.example"]) == 2
    assert "development issuer is disabled" in capsys.readouterr().err


async def _seed(demo_dir: Path) -> None:
    from gateway.app import build_services, prepare_stores

    services = build_services(Settings.load())
    await prepare_stores(services)
    await services.close()


@pytest.mark.parametrize(
    ("argv", "status", "expected"),
    [
        (
            ["--user", "paula@partner.example", "--space", "internal/shared/aurora-feedback"],
            0,
            "ALLOW: allowed by ",
        ),
        (
            ["--user", "paula@partner.example", "--space", "internal/restricted/project-falcon"],
            1,
            "DENY: no line of ",
        ),
        (
            ["--user", "carl@contractor.example", "--space", "internal/restricted/hr-private"],
            1,
            "DENY: denied by ",
        ),
        (
            [
                "--user",
                "tara@customer.example",
                "--space",
                "internal/shared/aurora-feedback",
                "--object",
                "Feedback.internalNote",
            ],
            1,
            "DENY: no line of ",
        ),
        (
            ["--user", "guest", "--space", "community/public/ideas"],
            0,
            "p, guest, community/public/*, space, read, allow",
        ),
    ],
)
async def test_policy_explain(
    demo_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], status: int, expected: str
) -> None:
    await _seed(demo_dir)
    import asyncio

    assert await asyncio.to_thread(main, ["policy", "explain", *argv]) == status
    out = capsys.readouterr().out
    assert expected in out, out


async def test_policy_explain_names_the_membership(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _seed(demo_dir)
    import asyncio

    argv = [
        "policy",
        "explain",
        "--user",
        "tara@customer.example",
        "--space",
        "internal/shared/aurora-feedback",
    ]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert "via membership space_guest in internal/shared/aurora-feedback, expires" in out


def test_policy_errors_list_every_bad_line(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = demo_dir.parent / "bad.csv"
    bad.write_text(
        "p, partner, internal/*, space, raed, allow\n"
        "g, member, guest, internal/*\n"
        "p, wizard, *, space, read\n"
    )
    monkeypatch.setenv("GATEWAY_POLICY_FILE", str(bad))
    assert main(["policy", "explain", "--user", "guest", "--space", "community/public/ideas"]) == 2
    err = capsys.readouterr().err
    assert "line 1: unknown action 'raed'" in err
    assert "line 2: role links hold in every space" in err
    assert "line 3: unknown role 'wizard'" in err
