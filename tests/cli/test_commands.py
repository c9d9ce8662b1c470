"""The gateway command's layout: every command group answers ``--help``, the package exports
what it means to, and one helper runs an async command."""

from __future__ import annotations

import argparse

import pytest

import gateway.cli
from gateway.cli import main
from gateway.cli.common import run_async

COMMANDS = [
    [],
    ["serve"],
    ["dev-token"],
    ["access-report"],
    ["policy"],
    *(["policy", a] for a in ("explain", "validate", "impact", "export", "apply", "rollback")),
    ["policy", "history"],
    ["access"],
    *(["access", a] for a in ("revoke", "restore", "sessions")),
    ["schema"],
    ["schema", "export"],
    ["content"],
    ["content", "prune"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "gateway")
def test_every_command_answers_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {' '.join(['gateway', *command])} ")


def test_the_top_level_help_lists_the_commands_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    listed = [out.index(f"\n    {name}") for name in ("serve", "access-report", "dev-token")]
    listed += [out.index(f"\n    {name} ") for name in ("policy", "access")]
    assert listed == sorted(listed)


def test_the_package_exports_the_entry_point_and_the_demo_principal() -> None:
    assert sorted(gateway.cli.__all__) == ["WS_IMPLEMENTATION", "demo_principal", "main"]
    for name in gateway.cli.__all__:
        assert hasattr(gateway.cli, name)


def test_run_async_runs_the_command_and_keeps_its_name() -> None:
    @run_async
    async def _command(args: argparse.Namespace) -> int:
        return args.status

    assert _command(argparse.Namespace(status=3)) == 3
    assert _command.__name__ == "_command"
