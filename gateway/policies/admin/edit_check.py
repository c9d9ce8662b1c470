"""Checking an edit as it is typed: lines to add and to remove, each finding on its own line.

The admin page validates its two text boxes while the administrator types; a finding
names the box's line (blank lines count, as the reader sees them), not the policy's.
Errors are what a preview would refuse (a line that does not parse, a line to remove
that the policy does not have); warnings are the validator's about the added lines
in the edited policy (:func:`gateway.policies.validate.analyse`), such as a line that
repeats another or that never takes effect.

Pure: a policy and two lists of lines in, findings out.
"""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.policies.export import canonical
from gateway.policies.policy import Policy, PolicyError
from gateway.policies.validate import Problem, Severity, check_text

if TYPE_CHECKING:
    from collections.abc import Sequence

COMMENT = "a comment: only policy lines are added or removed"


@dataclass(frozen=True, slots=True)
class EditCheck:
    add: list[Problem] = field(default_factory=list)
    remove: list[Problem] = field(default_factory=list)
    # The lines that would be added and removed, canonical (comments and blanks dropped).
    adding: list[str] = field(default_factory=list)
    removing: list[str] = field(default_factory=list)
    # The edited policy's text: the base as written, less the removed lines, plus the
    # added ones at the end (meaningful when ``ok``).
    text: str = ""

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in (*self.add, *self.remove))


def check_edit(base: Policy, add: Sequence[str], remove: Sequence[str]) -> EditCheck:
    """Every finding about adding ``add`` to and removing ``remove`` from ``base``."""
    found = EditCheck()
    # The policy's own lines, canonical, by line number: a removed line is blanked rather
    # than deleted, so that the validator's "repeats line N" names the line as listed.
    lines = (base.text or canonical(base)).splitlines()
    at: dict[str, list[int]] = collections.defaultdict(list)
    for index, raw in enumerate(lines):
        line = _quiet(raw)
        if line is not None:
            at[line].append(index)
    removed: set[int] = set()
    for number, raw in enumerate(remove, start=1):
        line = _one(raw, number, found.remove)
        if line is None:
            continue
        if not at[line]:
            reason = (
                "already removed above" if line in found.removing else "not a line of the policy"
            )
            found.remove.append(Problem(number, Severity.ERROR, reason))
            continue
        index = at[line].pop(0)
        lines[index] = ""
        removed.add(index)
        found.removing.append(line)
    appended: dict[int, int] = {}  # line of the edited text -> line of the box
    first_seen: dict[str, int] = {}
    for number, raw in enumerate(add, start=1):
        line = _one(raw, number, found.add)
        if line is None:
            continue
        found.adding.append(line)
        if line in first_seen:
            reason = f"repeats line {first_seen[line]} of the lines to add"
            found.add.append(Problem(number, Severity.WARNING, reason, dead=True))
            continue
        first_seen[line] = number
        lines.append(line)
        appended[len(lines)] = number
    if appended:
        _policy, problems = check_text("\n".join(lines) + "\n", source="the edited policy")
        for p in problems:
            if p.line in appended:
                found.add.append(Problem(appended[p.line], p.severity, p.reason, p.dead))
    found.add.sort(key=lambda p: p.line)
    text = "".join(line + "\n" for i, line in enumerate(lines) if i not in removed)
    return dataclasses.replace(found, text=text)


def _quiet(raw: str) -> str | None:
    """``raw`` as a canonical policy line, or None (a blank, a comment, a bad line)."""
    stripped = raw.strip()
    if not stripped or stripped.startswith("#"):
        return None
    try:
        return canonical(Policy.parse(stripped)).rstrip("\n")
    except PolicyError:
        return None


def _one(raw: str, number: int, problems: list[Problem]) -> str | None:
    """``raw`` as a canonical policy line; None for a blank, a comment or a bad line (a
    problem said why for the last two)."""
    stripped = raw.strip()
    if not stripped:
        return None
    if stripped.startswith("#"):
        problems.append(Problem(number, Severity.WARNING, COMMENT))
        return None
    try:
        policy = Policy.parse(stripped, source="the edit")
    except PolicyError as exc:
        problems.extend(Problem(number, Severity.ERROR, reason) for _line, reason in exc.located)
        return None
    return canonical(policy).rstrip("\n")
