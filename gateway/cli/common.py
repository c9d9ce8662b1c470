"""What the command groups share: the mistake ``main`` prints as one line, the helper that runs
an async command, who the actor of a change is, and the principal of a demo user."""

from __future__ import annotations

import asyncio
import functools
import getpass
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Coroutine, Sequence
    from typing import Any

    from gateway.domain.principal import Principal

__all__ = ["UsageError", "demo_principal", "os_user", "run_async"]


class UsageError(Exception):
    """A command-line mistake; the message is printed as one line."""


def run_async(
    command: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace], int]:
    """Make an async command the plain ``run(args) -> int`` that ``main`` calls.

    ::

        @run_async
        async def _history(args: argparse.Namespace) -> int: ...
    """

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        return asyncio.run(command(args))

    return run


def os_user() -> str:
    """Who runs the command, as the audit log names them (``cli:USER``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid{os.getuid()}"


def demo_principal(email: str, roles: Sequence[str]) -> Principal:
    """The principal a demo user's token would carry (``roles`` override the directory)."""
    from gateway.domain.demo import PEOPLE, find_person
    from gateway.domain.principal import Principal
    from gateway.identity.dev_issuer import dev_principal

    if email == "guest":
        return Principal.guest()
    person = find_person(email)
    if person is None:
        if not roles:
            known = ", ".join(p.email for p in PEOPLE)
            raise UsageError(f"{email} is not a demo user; pass --role ROLE (demo users: {known})")
        return dev_principal(email, name=email, roles=roles)
    return dev_principal(
        email,
        name=person.display_name,
        roles=roles or person.roles,
        organisation=person.organisation,
    )
