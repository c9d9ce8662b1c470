"""The ``gateway`` command: serve, dev-token, policy explain|validate|impact|export,
access-report [--who], access revoke|restore|sessions."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from gateway.config import ConfigError, Settings
from gateway.http.server import WS_IMPLEMENTATION
from gateway.policies.admin.whocan import SPACE_ACTIONS
from gateway.policies.policy import PolicyError
from gateway.policies.store import VersionKind
from gateway.reports.whocan_report import By

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from gateway.domain.principal import Principal
    from gateway.identity.offboarding import Offboarding
    from gateway.policies.admin.changes import PolicyAdmin, Proposal

__all__ = ["WS_IMPLEMENTATION", "demo_principal", "main"]


class UsageError(Exception):
    """A command-line mistake; the message is printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
    except PolicyError as exc:
        print(f"gateway: policy error in {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
    except UsageError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
    except SQLAlchemyError as exc:
        # A store or the records database cannot be reached or read: one line, no traceback.
        detail = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
        print(f"gateway: database error: {detail}", file=sys.stderr)
    except OSError as exc:
        # e.g. a data directory that cannot be created or a key file that cannot be read
        where = f": {exc.filename}" if exc.filename else ""
        print(f"gateway: {exc.strerror or exc}{where}", file=sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    sub = parser.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the gateway (zero-config: SQLite demo)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--config", metavar="FILE", help="TOML configuration file")
    serve.set_defaults(run=_serve)

    report = sub.add_parser(
        "access-report",
        help="who holds access to spaces: memberships and invitations, or (--who) who may "
        "read each space and why",
        description="By default: memberships and pending invitations with role, status, "
        "expiry, sponsor and last activity. With --who: every principal the gateway has seen "
        "(with their memberships) and every persona that may read each space, the policy line "
        "that grants it and the membership it comes through; --picture draws the matrix. "
        "By default: internal spaces.",
    )
    report.add_argument(
        "--space",
        metavar="ID",
        action="append",
        help="only this space (repeat); with --who also a key STORE/VISIBILITY/SLUG",
    )
    report.add_argument(
        "--externals",
        action="store_true",
        help="only people outside the organisation's email domains",
    )
    report.add_argument("--store", choices=["internal", "community", "all"], default="internal")
    report.add_argument("--csv", action="store_true", help="CSV instead of a table")
    report.add_argument(
        "--who",
        action="store_true",
        help="who may read (--action) each space, and which policy line and membership say so",
    )
    report.add_argument(
        "--action",
        choices=[a.value for a in SPACE_ACTIONS],
        default=None,
        help="with --who: the action asked (default: read; a write also needs read)",
    )
    report.add_argument(
        "--by",
        choices=[b.value for b in By],
        default=None,
        help="with --who: rows for known principals, personas, or both (default: all)",
    )
    report.add_argument(
        "--picture",
        metavar="FILE",
        help="with --who: draw the access matrix to FILE.html (heat map) or FILE.png, "
        "instead of printing the table",
    )
    report.add_argument("--config", metavar="FILE", help="TOML configuration file")
    report.set_defaults(run=_access_report)

    token = sub.add_parser("dev-token", help="print a bearer token for a demo user")
    token.add_argument("email")
    token.add_argument(
        "--role", action="append", default=[], help="persona(s) for a non-demo email"
    )
    token.add_argument("--config", metavar="FILE")
    token.set_defaults(run=_dev_token)

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
        description="Refused (exit 1, nothing changed) when FILE has errors or would leave "
        "nobody able to administer the policy. Otherwise the findings and the impact are "
        "printed and, once confirmed, FILE becomes the next version of the policy, recorded "
        "and audited; running gateways enforce it within a second.",
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

    history = policy.add_parser("history", help="every version of the policy, newest first")
    history.add_argument("--first", type=int, default=20, metavar="N")
    history.add_argument("--config", metavar="FILE")
    history.set_defaults(run=_history)

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
    return parser


def _serve(args: argparse.Namespace) -> int:
    from gateway.http.app import create_app
    from gateway.http.server import serve

    settings = Settings.load(args.config)
    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if settings.dev_issuer:
        print(
            "WARNING: the development issuer is enabled: anyone on this machine can mint a "
            "token for any persona with `gateway dev-token`. Disable it "
            "(GATEWAY_DEV_ISSUER=false) anywhere but a demo.",
            file=sys.stderr,
        )
    cookie_warning = settings.plain_http_cookie_warning(f"http://{args.host}:{args.port}")
    if cookie_warning:
        print(f"WARNING: {cookie_warning}", file=sys.stderr)
    app = create_app(settings, freeze_heap=True)
    print(f"gateway: serving GraphQL on http://{args.host}:{args.port}/graphql", file=sys.stderr)
    serve(
        app,
        host=args.host,
        port=args.port,
        shutdown_timeout=settings.shutdown_timeout,
        max_message_bytes=settings.max_body_bytes,
    )
    return 0


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


def _dev_token(args: argparse.Namespace) -> int:
    from gateway.identity.dev_issuer import DevIssuer

    settings = Settings.load(args.config)
    if not settings.dev_issuer:
        raise UsageError(
            "the development issuer is disabled in this configuration (identity.dev_issuer)"
        )
    principal = demo_principal(args.email, args.role)
    issuer = DevIssuer.open(settings.data_dir)
    print(
        issuer.issue(
            email=principal.email or args.email,
            name=principal.display_name,
            roles=sorted(principal.roles),
            organisation=principal.organisation,
        )
    )
    return 0


def _explain(args: argparse.Namespace) -> int:
    return asyncio.run(_explain_async(args))


async def _explain_async(args: argparse.Namespace) -> int:
    from gateway.domain import ids
    from gateway.domain.errors import InvalidId
    from gateway.policies.admin import population
    from gateway.policies.compiler import PolicyIndex
    from gateway.policies.explain import explain
    from gateway.stores.scope import Grants, StoreScope

    settings = Settings.load(args.config)
    principal = demo_principal(args.user, args.role)
    async with _policy_admin(settings) as admin:
        # The policy in force where it lives (file or database), with its version number.
        policy = await admin.store.read_source()
        latest = await admin.store.latest()
        number = latest.number if latest and latest.sha256 == PolicyIndex(policy).version else None
        if "/" in args.space:
            key = args.space
        else:
            try:
                ref = ids.decode(args.space, "Space")
            except InvalidId as exc:
                raise UsageError(str(exc)) from None
            everything = StoreScope(ref.store, allow=Grants(everything=True))
            found = await admin.stores[ref.store].spaces_by_ids([ref.native_id], everything)
            if ref.native_id not in found:
                raise UsageError(f"no space with id {args.space} in the {ref.store} store")
            key = found[ref.native_id].key
        principal = await population.with_memberships(admin.stores, principal)
    now = datetime.now(UTC)
    result = explain(policy, principal, key, args.object, args.action, now)
    version = PolicyIndex(policy, number=number).describe()
    print(f"{principal.id} {args.action} {args.object} in {key} (policy {version})")
    print(result)
    return 0 if result.allowed else 1


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.policies.validate import Severity, check_text

    settings = Settings.load(args.config)
    if args.file is None and settings.policy_store == "database":
        return asyncio.run(_validate_database(settings))
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

    async with _policy_admin(settings) as admin:
        policy = await admin.store.read_source()
    # Loaded from the database, it has no errors; warnings name canonical line numbers.
    problems = analyse(policy)
    for problem in problems:
        print(problem.format("database"))
    print(f"database: 0 errors, {len(problems)} warning{'' if len(problems) == 1 else 's'}")
    if problems:
        print("(line numbers are those of `gateway policy export`)")
    return 0


def _export(args: argparse.Namespace) -> int:
    return asyncio.run(_export_async(args))


async def _export_async(args: argparse.Namespace) -> int:
    from gateway.policies.export import export

    settings = Settings.load(args.config)
    async with _policy_admin(settings) as admin:
        if args.version is None:
            policy = await admin.store.read_source()
        else:
            version = await admin.store.version(args.version)
            if version is None:
                raise UsageError(f"there is no policy version {args.version}")
            policy = version.policy()
    print(export(policy), end="")
    return 0


@contextlib.asynccontextmanager
async def _policy_admin(settings: Settings) -> AsyncIterator[PolicyAdmin]:
    """The stores, the records database and the policy store, as a running gateway has
    them (tables this version added are created, as `serve` would; nothing is dropped)."""
    from gateway.policies.admin.changes import PolicyAdmin
    from gateway.policies.store import PolicyStore
    from gateway.records import Records
    from gateway.runtime.services import open_stores, policy_source

    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # as `serve` makes it
    stores = open_stores(settings)
    records = Records.for_settings(settings)
    try:
        for store in stores.values():
            await store.create_schema()
        await records.create_schema()
        policy_store = PolicyStore(records.engine, policy_source(settings))
        await policy_store.create_schema()
        # A running gateway puts a change in force itself (it watches the source).
        yield PolicyAdmin(policy_store, stores, records, install=lambda _index: None)
    finally:
        for store in stores.values():
            await store.close()
        await records.close()


def _apply(args: argparse.Namespace) -> int:
    from pathlib import Path

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{args.file}: cannot read: {exc.strerror}") from None
    return asyncio.run(_apply_async(args, text))


async def _apply_async(args: argparse.Namespace, text: str) -> int:
    settings = Settings.load(args.config)
    async with _policy_admin(settings) as admin:
        base = await admin.latest()
        proposal = await admin.propose(text, source=args.file, base=base)
        return await _confirm_and_apply(admin, proposal, args, VersionKind.APPLY)


def _rollback(args: argparse.Namespace) -> int:
    return asyncio.run(_rollback_async(args))


async def _rollback_async(args: argparse.Namespace) -> int:
    from gateway.policies.admin.changes import ChangeRefused

    settings = Settings.load(args.config)
    async with _policy_admin(settings) as admin:
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
    actor = f"cli:{_os_user()}"
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


def _history(args: argparse.Namespace) -> int:
    return asyncio.run(_history_async(args))


async def _history_async(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    async with _policy_admin(settings) as admin:
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


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid{os.getuid()}"


def _impact(args: argparse.Namespace) -> int:
    return asyncio.run(_impact_async(args))


async def _impact_async(args: argparse.Namespace) -> int:
    from gateway.policies.admin import impact, population
    from gateway.policies.policy import Policy

    settings = Settings.load(args.config)
    new = Policy.from_file(args.new_file)
    async with _policy_admin(settings) as admin:
        old = await admin.store.read_source()
        found = await population.gather(admin.stores, admin.records)
    report = impact.diff(old, new, found.subjects, found.spaces, datetime.now(UTC))
    print(report.as_json() if args.format == "json" else report.as_text(), end="")
    return 0


def _access_report(args: argparse.Namespace) -> int:
    return asyncio.run(_access_report_async(args))


async def _access_report_async(args: argparse.Namespace) -> int:
    if args.who:
        return await _who_can_async(args)
    for flag in ("action", "by", "picture"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag} belongs to the who-can view: add --who")
    from gateway.domain import ids
    from gateway.domain.errors import InvalidId
    from gateway.domain.model import StoreName
    from gateway.records import Records
    from gateway.reports import access_report
    from gateway.runtime.services import open_stores

    settings = Settings.load(args.config)
    names = list(StoreName) if args.store == "all" else [StoreName(args.store)]
    space_ids: dict[StoreName, list[str]] | None = None
    if args.space:
        space_ids = {}
        for value in args.space:
            try:
                ref = ids.decode(value, "Space")
            except InvalidId as exc:
                raise UsageError(str(exc)) from None
            space_ids.setdefault(ref.store, []).append(ref.native_id)
        names = [n for n in StoreName if n in space_ids]
    stores = open_stores(settings)
    records = Records.for_settings(settings)
    try:
        # Tables this version added are created, as `serve` would; nothing is dropped.
        for name in names:
            await stores[name].create_schema()
        await records.create_schema()
        rows = await access_report.build(
            stores,
            records,
            store_names=names,
            space_ids=space_ids,
            externals_only=args.externals,
            organisation_domains=settings.organisation_domains,
            now=datetime.now(UTC),
        )
    finally:
        for store in stores.values():
            await store.close()
        await records.close()
    print(access_report.as_csv(rows) if args.csv else access_report.as_table(rows), end="")
    return 0


async def _who_can_async(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.domain.model import StoreName
    from gateway.policies.admin import population
    from gateway.policies.admin.whocan import who_can
    from gateway.records import Records
    from gateway.reports import access_matrix, whocan_report
    from gateway.runtime.services import load_policy, open_stores

    by = By(args.by or By.ALL)
    if args.externals and by is By.PERSONA:
        raise UsageError("--externals keeps principals by their email; personas have none")
    picture = Path(args.picture) if args.picture else None
    if picture is not None:
        try:
            access_matrix.check(picture)
        except access_matrix.PictureError as exc:
            raise UsageError(str(exc)) from None
    settings = Settings.load(args.config)
    index = load_policy(settings)
    stores = open_stores(settings)
    records = Records.for_settings(settings)
    try:
        # Tables this version added are created, as `serve` would; nothing is dropped.
        for store in stores.values():
            await store.create_schema()
        await records.create_schema()
        found = await population.gather(stores, records)
    finally:
        for store in stores.values():
            await store.close()
        await records.close()
    names = list(StoreName) if args.store == "all" else [StoreName(args.store)]
    try:
        spaces = whocan_report.choose_spaces(found.spaces, names, args.space)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    subjects = whocan_report.choose_subjects(
        found.subjects,
        by,
        externals_only=args.externals,
        organisation_domains=settings.organisation_domains,
    )
    action = args.action or "read"
    report = who_can(index, subjects, spaces, datetime.now(UTC), action=action)
    rows = whocan_report.build(report)
    if picture is not None:
        access_matrix.write(report, picture)
        print(
            f"gateway: wrote {picture}: {len(subjects)} rows x {len(spaces)} spaces",
            file=sys.stderr,
        )
        if args.csv:
            print(whocan_report.as_csv(rows), end="")
        return 0
    print(whocan_report.as_csv(rows) if args.csv else whocan_report.as_table(rows, action), end="")
    return 0


@contextlib.asynccontextmanager
async def _offboarding(settings: Settings) -> AsyncIterator[Offboarding]:
    """The stores and the records database, as a running gateway has them."""
    from gateway.identity.offboarding import Offboarding
    from gateway.records import Records
    from gateway.runtime.services import open_stores

    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # as `serve` makes it
    stores = open_stores(settings)
    records = Records.for_settings(settings)
    try:
        for store in stores.values():
            await store.create_schema()
        await records.create_schema()
        yield Offboarding(stores, records, idle_timeout=settings.session_idle_timeout)
    finally:
        for store in stores.values():
            await store.close()
        await records.close()


def _access_revoke(args: argparse.Namespace) -> int:
    return asyncio.run(_access_revoke_async(args))


async def _access_revoke_async(args: argparse.Namespace) -> int:
    from gateway.identity.offboarding import OffboardingRefused, principal_key

    settings = Settings.load(args.config)
    actor = f"cli:{_os_user()}"
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


def _access_restore(args: argparse.Namespace) -> int:
    return asyncio.run(_access_restore_async(args))


async def _access_restore_async(args: argparse.Namespace) -> int:
    from gateway.identity.offboarding import OffboardingRefused

    settings = Settings.load(args.config)
    actor = f"cli:{_os_user()}"
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


def _access_sessions(args: argparse.Namespace) -> int:
    return asyncio.run(_access_sessions_async(args))


async def _access_sessions_async(args: argparse.Namespace) -> int:
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


if __name__ == "__main__":
    raise SystemExit(main())
