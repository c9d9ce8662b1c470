"""Who holds access to which spaces through memberships and invitations, and who sponsored it.

``gateway access-report`` prints it: by default the externals (emails outside the
organisation's domains) in internal spaces, with their role, status, expiry, sponsor
and last activity (their latest write in the audit log). Access that comes from a
persona alone (e.g. contractors reading every open space) is in the policy, not in
the stores: ``gateway policy explain`` shows it for one person.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gateway.domain import ids
from gateway.domain.permissions import USER_PREFIX
from gateway.reports.tabular import csv_text, table

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime

    from gateway.domain.model import AccessEntry, StoreName
    from gateway.records import Records
    from gateway.stores.interface import StoreReports

# Rows made between two updates of the progress bar.
ROWS_PER_UPDATE = 5_000


class Progress(Protocol):
    """What the report asks of a progress bar (tqdm's has it)."""

    def update(self, n: float | None = 1) -> bool | None: ...


class Bars(Protocol):
    """A bar for one stage of the work: what is counted, and how many there are."""

    def __call__(self, unit: str, total: int) -> AbstractContextManager[Progress]: ...


class _Quiet:
    def update(self, n: float | None = 1) -> bool | None:
        return None


@contextlib.contextmanager
def no_bar(unit: str, total: int) -> Iterator[Progress]:
    """No progress shown (the default)."""
    yield _Quiet()


COLUMNS = (
    "space",
    "space_id",
    "person",
    "email",
    "role",
    "status",
    "expires",
    "sponsor",
    "last_activity",
)


@dataclass(frozen=True, slots=True)
class Row:
    space: str
    space_id: str
    person: str
    email: str
    role: str
    status: str
    expires: str
    sponsor: str
    last_activity: str

    def values(self) -> list[str]:
        return [getattr(self, c) for c in COLUMNS]


def is_external(email: str | None, organisation_domains: Sequence[str]) -> bool:
    """Outside the organisation: no verified email, or one of another domain."""
    return email is None or email.rsplit("@", 1)[-1] not in organisation_domains


async def build(
    stores: Mapping[StoreName, StoreReports],
    records: Records,
    *,
    store_names: Sequence[StoreName],
    space_ids: dict[StoreName, list[str]] | None,
    externals_only: bool,
    organisation_domains: Sequence[str],
    now: datetime,
    bars: Bars = no_bar,
) -> list[Row]:
    """The report's rows, in space then person order.

    ``bars`` shows the progress of its two stages: the stores read, then the rows made."""
    entries: list[AccessEntry] = []
    if space_ids is None:
        unit, total = "stores", len(store_names)
    else:
        unit, total = "spaces", sum(len(space_ids.get(name, [])) for name in store_names)
    # One read per store: the stores' queries cost about as much for a few hundred spaces
    # as for all of them, so the bar moves by stores, not in smaller steps.
    with bars(unit, total) as bar:
        for name in store_names:
            wanted = None if space_ids is None else space_ids.get(name, [])
            entries.extend(await stores[name].access_entries(wanted))
            bar.update(1 if wanted is None else len(wanted))
    if externals_only:
        entries = [e for e in entries if is_external(e.email, organisation_domains)]
    actors = [f"{USER_PREFIX}{e.email}" for e in entries if e.email]
    last = await records.last_activity(actors)
    rows = []
    with bars("rows", len(entries)) as bar:
        for done, e in enumerate(entries, 1):
            rows.append(_row(e, last, now))
            if done % ROWS_PER_UPDATE == 0:
                bar.update(ROWS_PER_UPDATE)
        bar.update(len(entries) % ROWS_PER_UPDATE)
    return rows


def _row(e: AccessEntry, last: Mapping[str, datetime], now: datetime) -> Row:
    expired = e.expires_at is not None and e.expires_at <= now
    if e.invited:
        status = "invitation expired" if expired else "invited"
    else:
        status = "expired" if expired else "active"
    seen = last.get(f"{USER_PREFIX}{e.email}") if e.email else None
    return Row(
        space=e.space.name,
        space_id=ids.encode("Space", e.space.store, e.space.id),
        person=e.display_name,
        email=e.email or "(unverified)",
        role=e.role.value,
        status=status,
        expires=_time(e.expires_at) or "never",
        sponsor=e.sponsor_email or "",
        last_activity=_time(seen) or "",
    )


def as_csv(rows: Sequence[Row]) -> str:
    return csv_text(COLUMNS, [row.values() for row in rows])


def as_table(rows: Sequence[Row]) -> str:
    if not rows:
        return "nobody matches\n"
    shown = [c for c in COLUMNS if c != "space_id"]
    return table(shown, [[getattr(r, c) for c in shown] for r in rows])


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")
