"""``gateway content prune``: archive questions nobody has touched for a while.

Archiving never deletes: an archived question stays in its store (natively marked, in
each store's own schema) and vanishes from lists, counts and search for everyone but the
space's moderators, who list it with ``questions(archived: true)`` and bring it back with
``restoreQuestion``. Spaces exempted with ``setArchiveExempt`` are never pruned. A prune
is audited as one entry with its count; ``--dry-run`` changes nothing and audits nothing.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gateway.cli.common import UsageError, os_user, run_async
from gateway.config import Settings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from gateway.domain.model import StoreName
    from gateway.records import Records
    from gateway.stores.admin_rows import StaleQuestion
    from gateway.stores.interface import Store

__all__ = ["add_content", "parse_age"]

BATCH = 100  # questions archived per transaction
_AGE = re.compile(r"(\d{1,5})([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_age(value: str) -> timedelta:
    """``180d``, ``26w`` or ``12h`` as a duration; :class:`UsageError` for anything else."""
    found = _AGE.fullmatch(value.strip().lower())
    if found is None or int(found.group(1)) == 0:
        raise UsageError(f"--older-than {value!r}: give a positive age such as 180d, 26w or 12h")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def add_content(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway content`` and its actions."""
    content = sub.add_parser(
        "content", help="content upkeep: archive stale questions"
    ).add_subparsers(metavar="ACTION")
    prune = content.add_parser(
        "prune",
        help="archive (never delete) questions with no activity for a while",
        description="Archive questions that nobody asked, answered or replied to since "
        "--older-than ago. Archived questions vanish for everyone but the space's "
        "moderators, who can list (questions(archived: true)) and restore them "
        "(restoreQuestion). Spaces exempted with setArchiveExempt are left alone.",
    )
    prune.add_argument(
        "--older-than", required=True, metavar="AGE", help="no activity for this long: 180d"
    )
    prune.add_argument(
        "--unanswered", action="store_true", help="only questions without an accepted answer"
    )
    prune.add_argument(
        "--store", choices=["internal", "community", "all"], default="all", help="which store"
    )
    prune.add_argument(
        "--space",
        action="append",
        metavar="ID",
        help="only this space (its node id); repeat for several",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="print what would be archived; change nothing"
    )
    prune.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on stderr (default: on a terminal)",
    )
    prune.add_argument("--config", metavar="FILE", help="TOML configuration file")
    prune.set_defaults(run=_prune)


def _spaces(values: Sequence[str] | None) -> dict[StoreName, list[str]] | None:
    from gateway.domain import ids
    from gateway.domain.errors import InvalidId

    if not values:
        return None
    found: dict[StoreName, list[str]] = {}
    for value in values:
        try:
            ref = ids.decode(value, "Space")
        except InvalidId as exc:
            raise UsageError(f"--space: {exc}") from None
        found.setdefault(ref.store, []).append(ref.native_id)
    return found


@run_async
async def _prune(args: argparse.Namespace) -> int:
    from gateway.domain.model import StoreName
    from gateway.records import Records
    from gateway.runtime.services import generation_board, open_stores, watch_writes

    age = parse_age(args.older_than)
    space_ids = _spaces(args.space)
    names = list(StoreName) if args.store == "all" else [StoreName(args.store)]
    if space_ids is not None:
        names = [n for n in names if n in space_ids]
        if not names:
            raise UsageError("--space names no space in the store chosen with --store")
    settings = Settings.load(args.config)
    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # as `serve` makes it
    now = datetime.now(UTC)
    before = now - age
    stores = open_stores(settings)
    records = Records.for_settings(settings)
    # What a running gateway cached of these stores is stale once this archives in them.
    board = generation_board(settings, records)
    watch_writes(stores, board)
    try:
        # Columns this version added (the archived marker) are added, as `serve` would.
        for name in names:
            await stores[name].create_schema()
        stale = {
            name: await stores[name].stale_questions(
                before,
                unanswered=args.unanswered,
                space_ids=None if space_ids is None else space_ids[name],
            )
            for name in names
        }
        if args.dry_run:
            for name, found in stale.items():
                for question in found:
                    _print("would archive", name, question)
            print(f"{sum(map(len, stale.values()))} question(s) would be archived")
            return 0
        await records.create_schema()
        archived = await _archive(stores, stale, before, args, now)
        await _audit(records, args, archived, before, now)
    finally:
        for store in stores.values():
            await store.close()
        await records.close()
        board.close()
    print(f"{sum(map(len, archived.values()))} question(s) archived")
    return 0


async def _archive(
    stores: Mapping[StoreName, Store],
    stale: Mapping[StoreName, list[StaleQuestion]],
    before: datetime,
    args: argparse.Namespace,
    now: datetime,
) -> dict[StoreName, list[str]]:
    """Archive the stale questions in batches, one transaction each, printing each one; a
    question with activity since it was listed stays live (the store re-checks)."""
    from gateway.cli import progress

    bar = progress.bars(progress.wanted(args.progress), "prune")
    done: dict[StoreName, list[str]] = {}
    with bar("questions", sum(map(len, stale.values()))) as shown:
        for name, found in stale.items():
            done[name] = []
            for start in range(0, len(found), BATCH):
                batch = found[start : start + BATCH]
                archived = set(
                    await stores[name].archive_questions(
                        [q.id for q in batch], before=before, unanswered=args.unanswered, now=now
                    )
                )
                for question in batch:
                    if question.id in archived:
                        _print("archived", name, question)
                        done[name].append(question.id)
                shown.update(len(batch))
    return done


def _print(what: str, store: StoreName, question: StaleQuestion) -> None:
    from gateway.domain.ids import encode

    last = question.last_active.strftime("%Y-%m-%d")
    print(f"{what}  {encode('Question', store, question.id)}  last active {last}  {question.title}")


async def _audit(
    records: Records,
    args: argparse.Namespace,
    archived: Mapping[StoreName, list[str]],
    before: datetime,
    now: datetime,
) -> None:
    """One audit entry for the whole prune, with its count per store (never titles)."""
    from gateway.domain.permissions import Action
    from gateway.records import AuditEntry, Outcome

    await records.record(
        AuditEntry(
            at=now,
            actor=f"cli:{os_user()}",
            issuer=None,
            action=Action.MODERATE.value,
            outcome=Outcome.OK,
            store=None if len(archived) != 1 else next(iter(archived)).value,
            space_key=None,
            target=None,
            detail={
                "operation": "pruneContent",
                "older_than": args.older_than,
                "before": before.isoformat(),
                "unanswered": args.unanswered,
                "spaces": sorted(args.space or []),
                "count": sum(map(len, archived.values())),
                "archived": {name.value: len(ids) for name, ids in archived.items()},
            },
        )
    )
