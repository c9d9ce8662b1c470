"""Checking an edit line by line, as the admin page's form is typed: a table."""

from __future__ import annotations

import pytest

from gateway.config import REPO_POLICY
from gateway.policies.admin.edit_check import COMMENT, check_edit
from gateway.policies.policy import Policy

BASE = Policy.from_file(REPO_POLICY)
GRANT = "p, partner, internal/open/*, space, read, allow"
EMPLOYEE_READS = "p, employee, internal/open/*, space, read, allow"
HR_LINE = next(r.line for r in BASE.rules if str(r) == EMPLOYEE_READS)


@pytest.mark.parametrize(
    ("add", "remove", "add_found", "remove_found"),
    [
        ([GRANT], [], [], []),
        # An omitted effect is allow; spacing does not matter.
        (["p,partner, internal/open/*,space,read"], [], [], []),
        (["", GRANT, "  ", "# a note"], [], [(4, "warning", COMMENT)], []),
        (
            ["p, partner, *, space, raed"],
            [],
            [(1, "error", "unknown action 'raed'")],
            [],
        ),
        (["p, x"], [], [(1, "error", "a rule has 5 fields")], []),
        ([GRANT, GRANT], [], [(2, "warning", "repeats line 1 of the lines to add")], []),
        # Already a line of the policy: the validator names the line as listed.
        ([EMPLOYEE_READS], [], [(1, "warning", f"repeats line {HR_LINE}")], []),
        # ...unless it is removed in the same edit.
        ([EMPLOYEE_READS], [EMPLOYEE_READS], [], []),
        (
            ["p, partner, people/internal, space, read, allow"],
            [],
            [(1, "warning", "never matches")],
            [],
        ),
        ([], [GRANT], [], [(1, "error", "not a line of the policy")]),
        (
            [],
            [EMPLOYEE_READS, "p, employee, internal/open/*, space, read"],
            [],
            [(2, "error", "already removed above")],
        ),
        ([], ["", "p, employee, nowhere, space, read"], [], [(2, "error", "unknown store")]),
    ],
)
def test_findings_name_the_line_of_the_box(
    add: list[str],
    remove: list[str],
    add_found: list[tuple[int, str, str]],
    remove_found: list[tuple[int, str, str]],
) -> None:
    checked = check_edit(BASE, add, remove)
    for found, expected in ((checked.add, add_found), (checked.remove, remove_found)):
        assert [(p.line, p.severity.value) for p in found] == [(n, s) for n, s, _ in expected]
        for p, (_n, _s, reason) in zip(found, expected, strict=True):
            assert reason in p.reason
    assert checked.ok is not any(s == "error" for _n, s, _r in (*add_found, *remove_found))


def test_what_would_be_added_and_removed_is_canonical() -> None:
    checked = check_edit(BASE, ["p,partner, internal/open/*,space,read", "# no"], [EMPLOYEE_READS])
    assert checked.adding == [GRANT] and checked.removing == [EMPLOYEE_READS]
