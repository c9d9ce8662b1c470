"""``gateway policy explain|validate|impact|export|apply|rollback|history``: inspect the policy
in force, and change it (checked, versioned, audited)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.cli.common import UsageError, demo_principal, os_user, run_async
from gateway.cli.invariants import add_invariant_commands, invariants_text
from gateway.cli.policy_admin import policy_admin
from gateway.config import Settings
from gateway.policies.store import VersionKind

if TYPE_CHECKING:
    import argparse

    from gateway.policies.admin.changes import PolicyAdmin, Proposal

__all__ = ["add_policy"]


def add_policy(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway policy`` and its actions."""
    policy = sub.add_parser("policy", help="inspect the policy").add_subparsers(metavar="ACTION")
    explain = policy.add_parser("explain", help="explain one decision and the line behind it")
    explain.add_argument("--user", required=True, metavar="EMAIL", help="or 'guest'")
    explain.add_argument(
        "--space", required=True, metavar="ID", help="a space's global id, or STORE/VIS/SLUG"
    )
    explain.add_argument("--action", default="read")
    explain.add_argument("--object", default="space", help="space or a field like Person.email")
    explain.add_argument(
        "--role", action="append", default=[], help="persona(s), for non-demo users"
    )
    explain.add_argument("--config", metavar="FILE")
    explain.set_defaults(run=_explain)

    validate = policy.add_parser(
        "validate",
        help="check a policy file: errors, and lines that never take effect",
        description="Print each problem as FILE:LINE: error|warning: reason. Exit status 1 "
        "when there are errors, else 0 (warnings alone are 0).",
    )
    validate.add_argument(
        "file", nargs="?", metavar="FILE", help="the policy file (default: the one in force)"
    )
    validate.add_argument("--config", metavar="FILE", help="where the policy in force is set")
    validate.set_defaults(run=_validate)

    impact = policy.add_parser(
        "impact",
        help="who would gain or lose what if a new policy were put in force",
        description="Compare every decision of the policy in force with NEW_FILE's, for "
        "every principal the gateway has seen (with their memberships), one principal per "
        "persona, and every space of the stores: a summary, then each change.",
    )
    impact.add_argument("new_file", metavar="NEW_FILE")
    impact.add_argument("--format", choices=["text", "json"], default="text")
    impact.add_argument("--config", metavar="FILE")
    from gateway.cli.progress import add_flag

    add_flag(impact, "progress over the principals on stderr, with the time left")
    impact.set_defaults(run=_impact)

    export = policy.add_parser(
        "export",
        help="print the policy in force in canonical form, with its sha256",
        description="Role links then rules, one a line, under a comment naming the source "
        "and the sha256 of the canonical text (the policy's version).",
    )
    export.add_argument(
        "--version", type=int, metavar="N", help="an earlier version from the history"
    )
    export.add_argument("--config", metavar="FILE")
    export.set_defaults(run=_export)

    apply = policy.add_parser(
        "apply",
        help="validate, show the impact, confirm, then put a new policy in force",
        description="Refused (exit 1, nothing changed) when FILE has errors, would leave "
        "nobody able to administer the policy, or breaks a declared invariant. Otherwise the "
        "findings and the impact are printed and, once confirmed, FILE becomes the next "
        "version of the policy, recorded and audited; running gateways enforce it within a "
        "second.",
    )
    apply.add_argument("file", metavar="FILE")
    apply.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    apply.add_argument("--reason", help="why: kept with the version and in the audit log")
    apply.add_argument("--config", metavar="FILE")
    apply.set_defaults(run=_apply)

    rollback = policy.add_parser(
        "rollback",
        help="put an earlier version's policy back in force (as a new version)",
        description="Shows the impact of returning to version N, asks, and applies it like "
        "any change: checked, recorded as a new version, audited.",
    )
    rollback.add_argument("version", type=int, metavar="N")
    rollback.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    rollback.add_argument("--reason", help="why: kept with the version and in the audit log")
    rollback.add_argument("--config", metavar="FILE")
    rollback.set_defaults(run=_rollback)

    add_invariant_commands(policy)

    history = policy.add_parser("history", help="every version of the policy, newest first")
    history.add_argument("--first", type=int, default=20, metavar="N")
    history.add_argument("--config", metavar="FILE")
    history.set_defaults(run=_history)


@run_async
async def _explain(args: argparse.Namespace) -> int:
    from gateway.domain.demo import find_person
    from gateway.policies.admin import population
    from gateway.policies.admin.judged import Judge
    from gateway.policies.compiler import PolicyIndex
    from gateway.policies.explain import explain

    settings = Settings.load(args.config)
    email = args.user.strip().lower()
    how = None
    async with policy_admin(settings) as admin:
        if email == "guest" or args.role or find_person(email) is not None:
            principal = demo_principal(email, args.role)
        elif "@" not in email:
            raise UsageError(f"--user takes an email or 'guest', not {args.user!r}")
        else:
            # The roles of their last token; someone never seen, judged as who-can does.
            known = await admin.records.known_principal(f"user:{email}")
            if known is not None:
                principal = known
            else:
                judge = Judge.for_settings(settings)
                principal, how = await population.judged(admin.stores, email, judge)
        # The policy in force where it lives (file or database), with its version number.
        policy = await admin.store.read_source()
        latest = await admin.store.latest()
        number = latest.number if latest and latest.sha256 == PolicyIndex(policy).version else None
        try:
            space = await population.find_space(admin.stores, args.space)
        except population.NoSuchSpace as exc:
            raise UsageError(str(exc)) from None
        key = space.key
        principal = await population.with_memberships(admin.stores, principal)
        revoked = await population.revoked_in(admin.stores, admin.records, principal, space)
    now = datetime.now(UTC)
    result = explain(policy, principal, key, args.object, args.action, now, revoked=revoked)
    version = PolicyIndex(policy, number=number).describe()
    print(f"{principal.id} {args.action} {args.object} in {key} (policy {version})")
    if how is not None:
        print(f"{principal.id}: {how}")
    print(result)
    return 0 if result.allowed else 1


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.policies.validate import Severity, check_text
    from gateway.runtime.services import seed_policy_files

    settings = Settings.load(args.config)
    if args.file is None and settings.policy_store == "database":
        return asyncio.run(_validate_database(settings))
    seed_policy_files(settings)
    path = Path(args.file) if args.file else settings.policy_file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"{path}: error: cannot read: {exc.strerror}")
        return 1
    _, problems = check_text(text, source=str(path))
    for problem in problems:
        print(problem.format(str(path)))
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    print(
        f"{path}: {errors} error{'' if errors == 1 else 's'}, "
        f"{warnings} warning{'' if warnings == 1 else 's'}"
    )
    return 1 if errors else 0


async def _validate_database(settings: Settings) -> int:
    from gateway.policies.validate import analyse

    async with policy_admin(settings) as admin:
        policy = await admin.store.read_source()
    # Loaded from the database, it has no errors; warnings name canonical line numbers.
    problems = analyse(policy)
    for problem in problems:
        print(problem.format("database"))
    print(f"database: 0 errors, {len(problems)} warning{'' if len(problems) == 1 else 's'}")
    if problems:
        print("(line numbers are those of `gateway policy export`)")
    return 0


@run_async
async def _export(args: argparse.Namespace) -> int:
    from gateway.policies.export import export

    settings = Settings.load(args.config)
    async with policy_admin(settings) as admin:
        if args.version is None:
            policy = await admin.store.read_source()
        else:
            version = await admin.store.version(args.version)
            if version is None:
                raise UsageError(f"there is no policy version {args.version}")
            policy = version.policy()
    print(export(policy), end="")
    return 0


@run_async
async def _apply(args: argparse.Namespace) -> int:
    from pathlib import Path

    try:
        text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{args.file}: cannot read: {exc.strerror}") from None
    settings = Settings.load(args.config)
    async with policy_admin(settings) as admin:
        base = await admin.latest()
        proposal = await admin.propose(text, source=args.file, base=base)
        return await _confirm_and_apply(admin, proposal, args, VersionKind.APPLY)


@run_async
async def _rollback(args: argparse.Namespace) -> int:
    from gateway.policies.admin.changes import ChangeRefused

    settings = Settings.load(args.config)
    async with policy_admin(settings) as admin:
        try:
            proposal = await admin.propose_rollback(args.version)
        except ChangeRefused as exc:
            raise UsageError(str(exc)) from None
        return await _confirm_and_apply(admin, proposal, args, VersionKind.ROLLBACK)


async def _confirm_and_apply(
    admin: PolicyAdmin, proposal: Proposal, args: argparse.Namespace, kind: VersionKind
) -> int:
    from gateway.policies.admin.changes import ChangeRefused
    from gateway.policies.store import StaleVersion

    base = proposal.base
    for finding in proposal.findings:
        print(finding.format(args.file if kind is VersionKind.APPLY else f"v{args.version}"))
    if proposal.impact is not None:
        print(proposal.impact.as_text(), end="")
    actor = f"cli:{os_user()}"
    if proposal.refusals:
        print("refused, nothing changed:", file=sys.stderr)
        for why in proposal.refusals:
            print(f"  {why}", file=sys.stderr)
        await _audit_refusal(admin, proposal, actor, args.reason, kind)
        return 1
    if proposal.unchanged:
        print(f"no change: this is the policy in force (version {base.number})")
        return 0
    print(f"{len(proposal.added)} line(s) added, {len(proposal.removed)} removed")
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("not applied: confirm at a terminal, or pass --yes")
        question = f"Put this in force as version {base.number + 1}? [y/N] "
        answer = await asyncio.to_thread(input, question)
        if answer.strip().lower() not in ("y", "yes"):
            print("not applied")
            return 1
    try:
        version = await admin.apply(
            proposal, expected=base.number, actor=actor, reason=args.reason, kind=kind
        )
    except (StaleVersion, ChangeRefused) as exc:
        print(f"gateway: not applied: {exc}", file=sys.stderr)
        return 1
    print(f"applied: version {version.number} (sha256 {version.sha256[:12]}), audited as {actor}")
    return 0


async def _audit_refusal(
    admin: PolicyAdmin, proposal: Proposal, actor: str, reason: str | None, kind: VersionKind
) -> None:
    from gateway.policies.admin.changes import ChangeRefused

    # apply() writes the refusal to the audit log, then raises.
    with contextlib.suppress(ChangeRefused):
        await admin.apply(
            proposal, expected=proposal.base.number, actor=actor, reason=reason, kind=kind
        )


@run_async
async def _history(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    async with policy_admin(settings) as admin:
        await admin.latest()  # the source's policy is version 1 when there is no history yet
        versions = await admin.store.versions(first=args.first)
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
    from gateway.reports.tabular import table

    print(table(("version", "at", "by", "kind", "sha256", "reason"), rows), end="")
    return 0


@run_async
async def _impact(args: argparse.Namespace) -> int:
    from gateway.policies.admin import impact, population
    from gateway.policies.policy import Policy

    settings = Settings.load(args.config)
    new = Policy.from_file(args.new_file)
    async with policy_admin(settings) as admin:
        old = await admin.store.read_source()
        found = await population.gather(admin.stores, admin.records)
        broken = await admin.breaks(old, new, found, datetime.now(UTC))
    from gateway.cli import progress

    show = progress.wanted(args.progress)
    subjects = progress.counted(found.subjects, show=show, what="policy impact", unit="principals")
    report = impact.diff(old, new, subjects, found.spaces, datetime.now(UTC))
    if args.format == "json":
        data = json.loads(report.as_json())
        data["broken_invariants"] = [b.as_dict() for b in broken]
        print(json.dumps(data, indent=2))
    else:
        print(report.as_text(), end="")
        print(invariants_text(broken, "the new policy would break"), end="")
    return 0
