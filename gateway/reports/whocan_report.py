"""``gateway access-report --who``: who may read each space and why, as a table or CSV.

One row per allowed (space, principal) pair: the policy line that grants it
(``policies.csv:LINE: p, ...``), the membership it comes through when it does (role and
expiry), and the policy version it was decided under. Principals are those the gateway
has seen, with their memberships; those the stores hold who never logged in (``judged``
says how their roles were judged); and one per persona (``persona:contractor``: what a
newcomer of that persona gets). The decisions are :mod:`gateway.policies.admin.whocan`'s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.reports.access_report import is_external
from gateway.reports.tabular import csv_text, table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gateway.domain.model import Space, StoreName
    from gateway.policies.admin.impact import Subject
    from gateway.policies.admin.whocan import Decision, WhoCan

COLUMNS = (
    "space",
    "space_id",
    "principal",
    "roles",
    "allowed_by",
    "via_role",
    "via_expires",
    "policy_version",
    "judged",
)
PERSONA_PREFIX = "persona:"


class By(enum.StrEnum):
    """Whose rows: the principals the gateway has seen, one per persona, or both."""

    ALL = "all"
    PERSONA = "persona"
    PRINCIPAL = "principal"


def choose_subjects(
    subjects: Sequence[Subject],
    by: By,
    *,
    externals_only: bool,
    organisation_domains: Sequence[str],
) -> list[Subject]:
    """The report's rows. ``externals_only`` keeps the principals whose verified email is
    outside the organisation's domains, and drops the personas (they are nobody's email)."""
    chosen = []
    for subject in subjects:
        persona = subject.name.startswith(PERSONA_PREFIX)
        if (by is By.PERSONA and not persona) or (by is By.PRINCIPAL and persona):
            continue
        if externals_only and (
            persona or not is_external(subject.principal.verified_email, organisation_domains)
        ):
            continue
        chosen.append(subject)
    return chosen


def choose_spaces(
    spaces: Sequence[Space], store_names: Sequence[StoreName], wanted: Sequence[str] | None
) -> list[Space]:
    """The report's columns: the spaces of ``store_names``, or those ``wanted`` names (global
    ids or keys ``STORE/VISIBILITY/SLUG``, in the order given). ValueError names one that
    does not exist."""
    if not wanted:
        return [s for s in spaces if s.store in store_names]
    by_name = {s.key: s for s in spaces}
    by_name.update({ids.encode("Space", s.store, s.id): s for s in spaces})
    chosen: list[Space] = []
    for name in wanted:
        space = by_name.get(name)
        if space is None:
            raise ValueError(f"no space {name} in the stores")
        if space not in chosen:
            chosen.append(space)
    return chosen


@dataclass(frozen=True, slots=True)
class Row:
    space: str
    space_id: str
    principal: str
    roles: str
    allowed_by: str
    via_role: str
    via_expires: str
    policy_version: str
    judged: str = ""  # never logged in: how their roles were judged

    def values(self) -> list[str]:
        return [getattr(self, c) for c in COLUMNS]


def build(report: WhoCan) -> list[Row]:
    """A row per allowed pair, in space then principal order."""
    source = Path(report.source).name
    version = report.version[:12]
    # Decisions are shared between pairs decided alike: their text is worked out once.
    texts: dict[int, tuple[str, str, str]] = {}
    rows = []
    for j, space in enumerate(report.spaces):
        space_id = ids.encode("Space", space.store, space.id)
        for row in report.rows:
            decision = row.decisions[j]
            if not decision.allowed:
                continue
            text = texts.get(id(decision))
            if text is None:
                text = texts[id(decision)] = _text(decision, source)
            subject = row.subject
            rows.append(
                Row(
                    space.name,
                    space_id,
                    subject.name,
                    subject.label,
                    *text,
                    version,
                    subject.judged or "",
                )
            )
    return rows


def _text(decision: Decision, source: str) -> tuple[str, str, str]:
    """allowed_by, via_role, via_expires."""
    rule, via = decision.rule, decision.via
    allowed_by = "" if rule is None else f"{source}:{rule.line}: {rule}"
    if via is None:
        return allowed_by, "", ""
    expires = "never" if via.expires_at is None else f"{via.expires_at:%Y-%m-%d %H:%M UTC}"
    return allowed_by, via.role.value, expires


def as_csv(rows: Sequence[Row]) -> str:
    return csv_text(COLUMNS, [row.values() for row in rows])


def as_table(rows: Sequence[Row], action: str) -> str:
    if not rows:
        return f"nobody may {action} these spaces\n"
    shown = [c for c in COLUMNS if c != "space_id"]
    return table(shown, [[getattr(r, c) for c in shown] for r in rows])
