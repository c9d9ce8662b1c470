"""``gateway access-report``: who holds access to spaces (memberships and invitations), or with
``--who`` who may read each space and why."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from gateway.cli.common import UsageError, run_async
from gateway.config import Settings
from gateway.policies.admin.whocan import SPACE_ACTIONS
from gateway.reports.access_matrix import GROUP_PAST
from gateway.reports.whocan_report import By

__all__ = ["add_access_report"]


def add_access_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway access-report``."""
    report = sub.add_parser(
        "access-report",
        help="who holds access to spaces: memberships and invitations, or (--who) who may "
        "read each space and why",
        description="By default: memberships and pending invitations with role, status, "
        "expiry, sponsor and last activity. With --who: every principal the gateway has seen "
        "(with their memberships), everyone else holding a membership or invitation in a store "
        "(never logged in: their roles judged, the judged column says how) and every persona "
        "that may read each space, the policy line that grants it and the membership it "
        "comes through; --picture draws the matrix. "
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
    report.add_argument(
        "--group",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --picture: a column per store and visibility, saying on how many of its "
        f"spaces each row is allowed (default: past {GROUP_PAST} spaces; --space and --store "
        "narrow the report instead)",
    )
    report.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr, with totals and the time left (default: on a terminal)",
    )
    report.add_argument("--config", metavar="FILE", help="TOML configuration file")
    report.set_defaults(run=_access_report)


@run_async
async def _access_report(args: argparse.Namespace) -> int:
    if args.who:
        if args.progress:
            raise UsageError("--progress belongs to the membership report: leave out --who")
        return await _who_can(args)
    for flag in ("action", "by", "picture", "group"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag} belongs to the who-can view: add --who")
    from gateway.cli import progress
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
            bars=progress.bars(progress.wanted(args.progress), "access report"),
        )
    finally:
        for store in stores.values():
            await store.close()
        await records.close()
    print(access_report.as_csv(rows) if args.csv else access_report.as_table(rows), end="")
    return 0


async def _who_can(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.domain.model import StoreName
    from gateway.policies.admin import population
    from gateway.policies.admin.judged import Judge
    from gateway.policies.admin.whocan import who_can
    from gateway.records import Records
    from gateway.reports import access_matrix, whocan_report
    from gateway.runtime.services import load_policy, open_stores

    by = By(args.by or By.ALL)
    if args.externals and by is By.PERSONA:
        raise UsageError("--externals keeps principals by their email; personas have none")
    picture = Path(args.picture) if args.picture else None
    if args.group is not None and picture is None:
        raise UsageError("--group belongs to the picture: add --picture FILE")
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
        judge = Judge.for_settings(settings)
        found = await population.gather(stores, records, judge=judge)
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
        grouped = access_matrix.write(report, picture, grouped=args.group)
        how = " (a column per store and visibility)" if grouped else ""
        print(
            f"gateway: wrote {picture}: {len(subjects)} rows x {len(spaces)} spaces{how}",
            file=sys.stderr,
        )
        if args.csv:
            print(whocan_report.as_csv(rows), end="")
        return 0
    print(whocan_report.as_csv(rows) if args.csv else whocan_report.as_table(rows, action), end="")
    return 0
