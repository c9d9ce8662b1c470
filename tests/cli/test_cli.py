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
    from gateway.http.app import build_services, prepare_stores

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


def test_policy_validate_prints_file_line_and_severity(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = demo_dir.parent / "team.csv"
    bad.write_text(
        "# a team's draft\n"
        "p, partner, internal/*, space, raed, allow\n"
        "p, guest, internal/open/*, Person, read, allow\n"
    )
    assert main(["policy", "validate", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{bad}:2: error: unknown action 'raed' (known: accept, ")
    assert out[1].startswith(f"{bad}:3: warning: Person is asked only in people/STORE domains")
    assert out[-1] == f"{bad}: 1 error, 1 warning"


def test_policy_validate_warnings_alone_exit_0(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = demo_dir.parent / "draft.csv"
    draft.write_text(
        "p, contractor, internal/restricted/*, space, read, deny\n"
        "p, contractor, internal/restricted/x, space, read, allow\n"
    )
    assert main(["policy", "validate", str(draft)]) == 0
    out = capsys.readouterr().out
    assert f"{draft}:2: warning: shadowed: every request it allows is denied by line 1" in out


def test_policy_validate_defaults_to_the_policy_in_force(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "validate"]) == 0
    assert ": 0 errors, " in capsys.readouterr().out
    assert main(["policy", "validate", str(demo_dir.parent / "missing.csv")]) == 1
    assert "missing.csv: error: cannot read: No such file or directory" in (capsys.readouterr().out)


def test_policy_export_is_canonical_and_versioned(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.policies.export import digest
    from gateway.policies.policy import Policy

    policy = demo_dir.parent / "mine.csv"
    policy.write_text("# mine\np,guest,community/public/*,space,read\ng, member, guest, *\n")
    monkeypatch.setenv("GATEWAY_POLICY_FILE", str(policy))
    assert main(["policy", "export"]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"# policy exported from {policy}\n"
        f"# sha256: {digest(Policy.from_file(policy))}\n"
        "g, member, guest, *\n"
        "p, guest, community/public/*, space, read, allow\n"
    )


async def test_policy_impact_names_who_gains_what(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import json

    from gateway.http.app import build_services
    from tests.personas import run

    await _seed(demo_dir)
    # Paula (a partner) has used the gateway: the records database knows her.
    services = build_services(Settings.load())
    try:
        result = await run(services, "paula@partner.example", "{ viewer { id } }")
        assert result.errors is None
    finally:
        await services.close()
    in_force = Settings.load().policy_file
    new = demo_dir.parent / "new.csv"
    new.write_text(
        in_force.read_text() + "p, partner, internal/open/*, space, read, allow\n",
    )
    assert await asyncio.to_thread(main, ["policy", "impact", str(new)]) == 0
    out = capsys.readouterr().out
    summary = out.split("summary:\n")[1].split("\n\n")[0]
    assert summary == "  2 partners gain read on 2 internal spaces", out
    assert "user:paula@partner.example  internal/open/" in out

    assert await asyncio.to_thread(main, ["policy", "impact", str(new), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [g["text"] for g in document["summary"]] == ["2 partners gain read on 2 internal spaces"]
    assert {c["principal"] for c in document["changes"]} == {
        "user:paula@partner.example",
        "persona:partner",
    }
