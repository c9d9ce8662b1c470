"""``gateway policy check`` and ``gateway policy invariants``: the declared access invariants
broken now (for a nightly job), and changing them (previewed, confirmed, audited)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING

from gateway.cli.common import UsageError, os_user, run_async
from gateway.cli.policy_admin import policy_admin
from gateway.config import Settings

if TYPE_CHECKING:
    import argparse

    from gateway.policies.invariants import Broken

__all__ = ["add_invariant_commands", "invariants_text"]

MAX_LISTED = 20  # principals and spaces printed per broken invariant


def add_invariant_commands(policy: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check`` and ``invariants`` to ``gateway policy``."""
    check = policy.add_parser(
        "check",
        help="the declared invariants the policy in force and the stores break now",
        description="Evaluate every invariant of policy-invariants.csv (policy.invariants_file) "
        "against the policy in force, every principal the gateway has seen with their "
        "memberships, a newcomer per persona, and every space. Print each broken one with "
        "its principals and spaces; exit status 1 when any is (for a nightly job), else 0.",
    )
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument("--config", metavar="FILE")
    check.set_defaults(run=_check)

    edit = policy.add_parser(
        "invariants",
        help="put a new invariants file in force: previewed, confirmed, audited",
        description="Shows the invariants FILE adds and removes and which of them the policy "
        "in force and the stores already break; an invariant broken now is refused unless "
        "--allow-broken is given (it is then reported by `gateway policy check`, the admin "
        "page and /readyz until fixed). Once confirmed FILE replaces the invariants in "
        "force as their next version, audited as invariants_apply. --history lists the "
        "versions; --rollback N returns to one, checked the same way (invariants_rollback).",
    )
    edit.add_argument("file", nargs="?", metavar="FILE")
    edit.add_argument(
        "--history", action="store_true", help="list every version of the invariants, newest first"
    )
    edit.add_argument("--first", type=int, default=20, metavar="N", help="with --history")
    edit.add_argument(
        "--rollback",
        type=int,
        metavar="N",
        help="put version N's text back in force (as a new version), checked like FILE",
    )
    edit.add_argument("--allow-broken", action="store_true", help="accept ones broken now")
    edit.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    edit.add_argument("--reason", help="why: kept in the audit log")
    edit.add_argument("--config", metavar="FILE")
    edit.set_defaults(run=_edit)


@run_async
async def _check(args: argparse.Namespace) -> int:
    from gateway.policies.admin.guard import check_state
    from gateway.policies.invariants import InvariantError

    settings = Settings.load(args.config)
    async with policy_admin(settings) as admin:
        assert admin.invariants is not None
        try:
            declared = admin.invariants.read()
        except InvariantError as exc:
            print(f"gateway: {exc}", file=sys.stderr)
            return 1
        policy = await admin.store.read_source()
        broken, found = await check_state(policy, declared, admin.stores, admin.records)
        admin.invariants.report(broken)
    if args.format == "json":
        print(json.dumps([b.as_dict() for b in broken], indent=2))
    else:
        print(
            f"{len(declared.items)} invariant(s) of {declared.source} checked over "
            f"{len(found.subjects)} principals and {len(found.spaces)} spaces"
        )
        print(invariants_text(broken, "broken now"), end="")
    return 1 if broken else 0


def invariants_text(broken: list[Broken], what: str) -> str:
    """Each broken invariant with its principals and spaces, for a terminal."""
    if not broken:
        return f"invariants {what}: none\n"
    out = [f"invariants {what}: {len(broken)}"]
    for b in broken:
        out.append(f"  {b.invariant}  (line {b.invariant.line}, {b.total} breach(es))")
        out.append(f"    principals: {', '.join(b.principals[:MAX_LISTED])}")
        out.append(f"    where: {', '.join(b.targets[:MAX_LISTED])}")
    return "\n".join(out) + "\n"


@run_async
async def _edit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.policies.admin.changes import ChangeRefused
    from gateway.policies.admin.invariant_edits import (
        apply_invariants,
        propose_invariant_rollback,
        propose_invariants,
    )
    from gateway.policies.compiler import PolicyIndex

    chosen = [args.file is not None, args.history, args.rollback is not None]
    if sum(chosen) != 1:
        raise UsageError("give one of FILE, --history or --rollback N")
    if args.history:
        return await _history(args)
    text = ""
    if args.file is not None:
        try:
            text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.file}: cannot read: {exc.strerror}") from None
    settings = Settings.load(args.config)
    actor = f"cli:{os_user()}"
    async with policy_admin(settings) as admin:
        policy = PolicyIndex(await admin.store.read_source())
        if args.rollback is not None:
            try:
                proposal = await propose_invariant_rollback(admin, args.rollback, policy)
            except ChangeRefused as exc:
                raise UsageError(str(exc)) from None
        else:
            proposal = await propose_invariants(admin, text, policy, source=args.file)
        for line in proposal.added:
            print(f"+ {line}")
        for line in proposal.removed:
            print(f"- {line}")
        if proposal.invariants is not None:
            print(invariants_text(list(proposal.broken), "broken now"), end="")
        if proposal.problems or (proposal.broken and not args.allow_broken):
            try:
                await apply_invariants(admin, proposal, actor=actor, reason=args.reason)
            except ChangeRefused as exc:  # audited
                print("refused, nothing changed:", file=sys.stderr)
                for why in exc.problems:
                    print(f"  {why}", file=sys.stderr)
            return 1
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("not applied: confirm at a terminal, or pass --yes")
            answer = await asyncio.to_thread(input, "Put these invariants in force? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("not applied")
                return 1
        version = await apply_invariants(
            admin, proposal, actor=actor, allow_broken=args.allow_broken, reason=args.reason
        )
    what = args.file if args.rollback is None else f"version {args.rollback}"
    number = f" as version {version.number}" if version is not None else ""
    print(f"applied: the invariants of {what} are in force{number}, audited as {actor}")
    return 0


async def _history(args: argparse.Namespace) -> int:
    from gateway.reports.tabular import table

    settings = Settings.load(args.config)
    async with policy_admin(settings) as admin:
        assert admin.invariants is not None
        versions = await admin.invariants.versions(first=args.first)
    rows = [
        (
            f"v{v.number}",
            v.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            v.actor,
            v.kind.value,
            v.sha256[:12],
            v.reason or "",
        )
        for v in versions
    ]
    print(table(("version", "at", "by", "kind", "sha256", "reason"), rows), end="")
    return 0
