"""Loading and checking a policy: Casbin CSV lines, each kept with its line number.

The grammar is Casbin's (``p, sub, dom, obj, act, eft`` and ``g, role, parent, *``),
narrowed so that every line can be compiled to SQL and explained:

* a domain is ``*``, ``STORE/*``, ``STORE/VISIBILITY/*``, ``STORE/VISIBILITY/SLUG``,
  ``people/*`` or ``people/STORE`` (a ``*`` only as a whole last segment);
* an object is a known resource or a prefix pattern of known resources (``Person.*``);
* role links (``g``) hold in every space (domain ``*``); per-space roles come
  from memberships in the stores, not from the policy file.
"""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from casbin.util import key_match

from gateway.domain.model import StoreName, Visibility
from gateway.domain.permissions import (
    KNOWN_ROLES,
    PEOPLE,
    USER_PREFIX,
    Action,
    Resource,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

MODEL_PATH = Path(__file__).with_name("model.conf")


class Effect(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class PolicyError(ValueError):
    """A policy that cannot be loaded; ``problems`` holds one message per bad line.

    ``located`` holds the same problems as (line number, reason) pairs, so that tools
    such as ``gateway policy validate`` can print them as ``FILE:LINE: ...``; a problem
    of the file as a whole (it cannot be read) is not in it.
    """

    def __init__(
        self, source: str, problems: list[str], located: Sequence[tuple[int, str]] = ()
    ) -> None:
        self.source = source
        self.problems = problems
        self.located = tuple(located)
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Rule:
    """A permission line: ``p, sub, dom, obj, act, eft``."""

    sub: str
    dom: str
    obj: str
    act: str
    eft: Effect
    line: int = 0

    def casbin(self) -> list[str]:
        return [self.sub, self.dom, self.obj, self.act, self.eft.value]

    def __str__(self) -> str:
        return f"p, {self.sub}, {self.dom}, {self.obj}, {self.act}, {self.eft.value}"


@dataclass(frozen=True, slots=True)
class RoleLink:
    """A role hierarchy line: ``g, role, parent, *`` (``role`` inherits ``parent``)."""

    role: str
    parent: str
    dom: str = "*"
    line: int = 0

    def casbin(self) -> list[str]:
        return [self.role, self.parent, self.dom]

    def __str__(self) -> str:
        return f"g, {self.role}, {self.parent}, {self.dom}"


@dataclass(frozen=True, slots=True)
class DomainPattern:
    """A parsed domain: which stores, visibility and slug it names (None = any)."""

    people: bool
    store: StoreName | None
    visibility: Visibility | None
    slug: str | None


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[Rule, ...]
    links: tuple[RoleLink, ...]
    source: str = "<memory>"
    # The text it was parsed from, comments and all (what a file source writes back and
    # a version keeps); "" when built from lines.
    text: str = field(default="", compare=False, repr=False)

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(str(path), [f"cannot read: {exc.strerror}"]) from exc
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<memory>") -> Policy:
        rules: list[Rule] = []
        links: list[RoleLink] = []
        located: list[tuple[int, str]] = []
        for number, fields in _rows(text):
            try:
                item = _parse_row(fields, number)
            except ValueError as exc:
                located.append((number, str(exc)))
                continue
            if isinstance(item, Rule):
                rules.append(item)
            else:
                links.append(item)
        if located:
            problems = [f"line {number}: {reason}" for number, reason in located]
            raise PolicyError(source, problems, located)
        return cls(tuple(rules), tuple(links), source, text)

    def lines(self) -> list[str]:
        return [str(x) for x in (*self.links, *self.rules)]


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = next(csv.reader(io.StringIO(stripped), skipinitialspace=True))
        yield number, [f.strip() for f in fields]


def _parse_row(fields: list[str], number: int) -> Rule | RoleLink:
    kind, rest = fields[0], fields[1:]
    if kind == "p":
        if len(rest) == 4:
            rest = [*rest, Effect.ALLOW.value]
        if len(rest) != 5:
            raise ValueError("a rule has 5 fields: p, subject, domain, object, action, effect")
        sub, dom, obj, act, eft = rest
        _check_subject(sub)
        parse_domain(dom)
        _check_object(obj)
        if act not in Action.__members__.values():
            raise ValueError(f"unknown action {act!r} (known: {', '.join(Action)})")
        if eft not in Effect.__members__.values():
            raise ValueError(f"effect must be allow or deny, not {eft!r}")
        return Rule(sub, dom, obj, act, Effect(eft), number)
    if kind == "g":
        if len(rest) != 3:
            raise ValueError("a role link has 3 fields: g, role, parent role, *")
        role, parent, dom = rest
        if dom != "*":
            raise ValueError(
                "role links hold in every space (domain '*'); per-space roles come from "
                "memberships in the stores"
            )
        _check_subject(role)
        _check_subject(parent)
        if parent.startswith(USER_PREFIX):
            raise ValueError(f"a user cannot be a parent role: {parent!r}")
        return RoleLink(role, parent, dom, number)
    raise ValueError(f"a line starts with 'p' or 'g', not {kind!r}")


def _check_subject(sub: str) -> None:
    if sub.startswith(USER_PREFIX):
        if len(sub) <= len(USER_PREFIX):
            raise ValueError("'user:' needs an email after it")
        return
    if sub not in KNOWN_ROLES:
        raise ValueError(f"unknown role {sub!r} (known: {', '.join(sorted(KNOWN_ROLES))})")


def _check_object(obj: str) -> None:
    if "*" in obj[:-1] or (obj.endswith("*") and not any(key_match(r, obj) for r in Resource)):
        raise ValueError(f"object pattern {obj!r} matches no resource")
    if not obj.endswith("*") and obj not in Resource.__members__.values():
        raise ValueError(f"unknown object {obj!r} (known: {', '.join(Resource)})")


def parse_domain(dom: str) -> DomainPattern:
    """Parse a rule's domain, or raise ValueError saying why it can never be compiled."""
    if dom == "*":
        return DomainPattern(people=False, store=None, visibility=None, slug=None)
    parts = dom.split("/")
    if "*" in dom and (parts[-1] != "*" or "*" in "".join(parts[:-1])):
        raise ValueError(f"domain {dom!r}: '*' may only be a whole last segment")
    if parts[0] == PEOPLE:
        if len(parts) != 2:
            raise ValueError(f"domain {dom!r}: person domains are 'people/*' or 'people/STORE'")
        store = None if parts[1] == "*" else _store(parts[1], dom)
        return DomainPattern(people=True, store=store, visibility=None, slug=None)
    store = _store(parts[0], dom)
    if len(parts) == 2 and parts[1] == "*":
        return DomainPattern(people=False, store=store, visibility=None, slug=None)
    if len(parts) != 3 or not parts[2]:
        raise ValueError(
            f"domain {dom!r}: expected STORE/*, STORE/VISIBILITY/* or STORE/VISIBILITY/SLUG"
        )
    try:
        visibility = Visibility(parts[1])
    except ValueError:
        raise ValueError(
            f"domain {dom!r}: unknown visibility {parts[1]!r} (known: {', '.join(Visibility)})"
        ) from None
    slug = None if parts[2] == "*" else parts[2]
    return DomainPattern(people=False, store=store, visibility=visibility, slug=slug)


def _store(name: str, dom: str) -> StoreName:
    try:
        return StoreName(name)
    except ValueError:
        known = ", ".join(StoreName)
        raise ValueError(f"domain {dom!r}: unknown store {name!r} (known: {known})") from None


def role_closure(links: Iterable[RoleLink], roles: Iterable[str]) -> frozenset[str]:
    """Every role reachable from ``roles`` through the role hierarchy."""
    parents: dict[str, set[str]] = {}
    for link in links:
        parents.setdefault(link.role, set()).add(link.parent)
    seen: set[str] = set()
    todo = list(roles)
    while todo:
        role = todo.pop()
        if role in seen:
            continue
        seen.add(role)
        todo.extend(parents.get(role, ()))
    return frozenset(seen)
