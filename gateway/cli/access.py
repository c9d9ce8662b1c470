"""``gateway access revoke|restore|sessions``: offboarding, end a person's access now, restore
it, list the live browser sessions."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.cli.common import UsageError, os_user, run_async
from gateway.config import Settings

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncIterator

    from gateway.identity.offboarding import Offboarding

__all__ = ["add_access"]


def add_access(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway access`` and its actions."""
    access = sub.add_parser(
        "access", help="offboarding: end a person's access now, restore it, list sessions"
    ).add_subparsers(metavar="ACTION")
    revoke = access.add_parser(
        "revoke",
        help="end every session, token, pending invitation and internal membership of a person",
        description="Ends the person's browser sessions on every replica, refuses their bearer "
        "tokens issued before now, revokes their pending invitations and ends their "
        "memberships of internal spaces; audited with what it ended. An unknown person is "
        "refused (exit 1) and nothing changes.",
    )
    revoke.add_argument("--user", required=True, metavar="EMAIL")
    revoke.add_argument("--reason", help="why: kept in the audit log")
    revoke.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    revoke.add_argument("--config", metavar="FILE")
    revoke.set_defaults(run=_access_revoke)
    restore = access.add_parser(
        "restore",
        help="lift a revoke: the person's older tokens are accepted again (audited)",
        description="Ended sessions, invitations and memberships stay ended.",
    )
    restore.add_argument("--user", required=True, metavar="EMAIL")
    restore.add_argument("--reason", help="why: kept in the audit log")
    restore.add_argument("--config", metavar="FILE")
    restore.set_defaults(run=_access_restore)
    listing = access.add_parser(
        "sessions", help="the live browser sessions: who, provider, created, last seen"
    )
    listing.add_argument("--user", metavar="EMAIL", help="only this person's")
    listing.add_argument("--config", metavar="FILE")
    listing.set_defaults(run=_access_sessions)


@contextlib.asynccontextmanager
async def _offboarding(settings: Settings) -> AsyncIterator[Offboarding]:
    """The stores and the records database, as a running gateway has them."""
    from gateway.identity.offboarding import Offboarding
    from gateway.records import Records
    from gateway.runtime.services import generation_board, open_stores, watch_writes

    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # as `serve` makes it
    stores = open_stores(settings)
    records = Records.for_settings(settings)
    # What a running gateway cached of these stores is stale once this changes them.
    board = generation_board(settings, records)
    watch_writes(stores, board)
    try:
        for store in stores.values():
            await store.create_schema()
        await records.create_schema()
        yield Offboarding(stores, records, idle_timeout=settings.session_idle_timeout)
    finally:
        for store in stores.values():
            await store.close()
        await records.close()
        board.close()


@run_async
async def _access_revoke(args: argparse.Namespace) -> int:
    from gateway.identity.offboarding import OffboardingRefused, principal_key

    settings = Settings.load(args.config)
    actor = f"cli:{os_user()}"
    async with _offboarding(settings) as offboarding:
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("not revoked: confirm at a terminal, or pass --yes")
            try:
                shown = principal_key(args.user)
            except OffboardingRefused:
                shown = args.user
            question = f"End every session and access of {shown} now? [y/N] "
            answer = await asyncio.to_thread(input, question)
            if answer.strip().lower() not in ("y", "yes"):
                print("not revoked")
                return 1
        try:
            done = await offboarding.revoke(
                args.user, actor=actor, reason=args.reason, now=datetime.now(UTC)
            )
        except OffboardingRefused as exc:
            print(f"gateway: not revoked: {exc}", file=sys.stderr)
            return 1
    print(f"revoked: {done.principal}, audited as {actor}")
    print(f"  sessions ended: {done.sessions}")
    print(f"  bearer tokens issued before {done.not_before:%Y-%m-%d %H:%M:%S} UTC: refused")
    print(f"  invitations revoked: {', '.join(done.invitations) or 'none'}")
    print(f"  internal memberships ended: {', '.join(done.memberships) or 'none'}")
    for failure in done.failures:
        print(f"  NOT DONE: {failure}", file=sys.stderr)
    return 1 if done.failures else 0


@run_async
async def _access_restore(args: argparse.Namespace) -> int:
    from gateway.identity.offboarding import OffboardingRefused

    settings = Settings.load(args.config)
    actor = f"cli:{os_user()}"
    async with _offboarding(settings) as offboarding:
        try:
            lifted = await offboarding.restore(
                args.user, actor=actor, reason=args.reason, now=datetime.now(UTC)
            )
        except OffboardingRefused as exc:
            print(f"gateway: not restored: {exc}", file=sys.stderr)
            return 1
    print(
        f"restored: tokens issued before {lifted:%Y-%m-%d %H:%M:%S} UTC are accepted again, "
        f"audited as {actor}"
    )
    return 0


@run_async
async def _access_sessions(args: argparse.Namespace) -> int:
    from gateway.identity.offboarding import OffboardingRefused, principal_key
    from gateway.reports.tabular import table

    principal = None
    if args.user:
        try:
            principal = principal_key(args.user)
        except OffboardingRefused as exc:
            raise UsageError(str(exc)) from None
    settings = Settings.load(args.config)
    async with _offboarding(settings) as offboarding:
        found = await offboarding.sessions.live(datetime.now(UTC), principal)
    rows = [
        (
            s.principal or "",
            s.provider or "",
            f"{s.created_at:%Y-%m-%d %H:%M:%S}",
            f"{s.last_seen:%Y-%m-%d %H:%M:%S}",
            f"{s.expires_at:%Y-%m-%d %H:%M:%S}",
        )
        for s in found
    ]
    if not rows:
        print("no live sessions" + (f" of {principal}" if principal else ""))
        return 0
    print(table(("principal", "provider", "created", "last seen", "expires (UTC)"), rows), end="")
    return 0
