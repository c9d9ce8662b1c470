"""The policy in canonical form, and its content hash: the version of a policy.

Two files that differ only in comments, spacing, quoting, an omitted ``allow`` or
where the role links stand load into the same policy; their canonical text is the
same, and so is its hash. Any change to what a line says changes the hash, so it
can name the policy in force (in an export, and later wherever a decision is
recorded). Line order within links and within rules is kept: it is the author's.
"""

from __future__ import annotations

import collections
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gateway.policies.policy import Policy


def canonical(policy: Policy) -> str:
    """Role links, then rules, one a line, every field written out; ends with a newline."""
    rows = [["g", *link.casbin()] for link in policy.links]
    rows += [["p", *rule.casbin()] for rule in policy.rules]
    return "".join(_row(fields) + "\n" for fields in rows)


def line_diff(old: Policy, new: Policy) -> tuple[list[str], list[str]]:
    """The canonical lines ``new`` adds and those it removes, each in its policy's order (a
    line written twice and kept once is one removal)."""
    before, after = canonical(old).splitlines(), canonical(new).splitlines()
    return _only_in(after, before), _only_in(before, after)


def _only_in(these: list[str], others: list[str]) -> list[str]:
    spare = collections.Counter(others)
    out = []
    for line in these:
        if spare[line]:
            spare[line] -= 1
        else:
            out.append(line)
    return out


def digest(policy: Policy) -> str:
    """The SHA-256 of the canonical text, in hex."""
    return hashlib.sha256(canonical(policy).encode("utf-8")).hexdigest()


def export(policy: Policy) -> str:
    """The canonical text under a comment naming its source and hash (what `gateway policy
    export` prints; it loads as a policy again)."""
    text = canonical(policy)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"# policy exported from {policy.source}\n# sha256: {sha}\n{text}"


def row_text(fields: Sequence[str]) -> str:
    """One line of a policy file from its fields (``["p", "employee", ...]``), quoted where
    a field would not read back as it went in."""
    return _row(fields)


def _row(fields: Sequence[str]) -> str:
    return ", ".join(_field(f) for f in fields)


def _field(value: str) -> str:
    # The reader splits on commas and skips the space after them: quote what would not
    # come back as it went in (a comma, a quote, a space at either end).
    if any(c in value for c in ',"') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value
