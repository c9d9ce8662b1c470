"""The lines of a policy as an administrator reads them, and finding some by their fields.

The admin API (``policyLines``) and the ``/admin`` page list and filter the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from gateway.policies.policy import Policy, RoleLink, Rule

# The fields a filter may name; ``text`` matches anywhere in the line.
FIELDS = ("subject", "domain", "object", "action", "effect", "text")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the policy: a rule (``p``) or a role link (``g``, no object, action or
    effect)."""

    line: int  # its line number in the policy's text
    kind: str
    subject: str
    domain: str
    object: str | None
    action: str | None
    effect: str | None
    text: str


def rule_line(rule: Rule) -> Line:
    return Line(rule.line, "p", rule.sub, rule.dom, rule.obj, rule.act, rule.eft.value, str(rule))


def link_line(link: RoleLink) -> Line:
    return Line(link.line, "g", link.role, link.dom, None, None, None, str(link))


def policy_lines(policy: Policy) -> list[Line]:
    """The role links, then the rules, each in file order."""
    return [*(link_line(x) for x in policy.links), *(rule_line(x) for x in policy.rules)]


def matching(lines: Iterable[Line], **wanted: str | None) -> list[Line]:
    """The lines whose fields contain every text given (None or "": any)."""
    unknown = set(wanted) - set(FIELDS)
    if unknown:
        raise TypeError(f"no line field {', '.join(sorted(unknown))}")
    given = {k: v for k, v in wanted.items() if v}
    return [x for x in lines if all(v in (getattr(x, k) or "") for k, v in given.items())]
