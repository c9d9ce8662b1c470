"""Access invariants: what a security admin declares once and no change may break.

A small file beside the policy (``policy-invariants.csv``), one invariant a line::

    never, partner, internal/restricted/*, space, read
    always, security_admin, *, policy, administer

``never, SUBJECT, DOMAIN, OBJECT, ACTION``: no principal holding SUBJECT may be allowed
ACTION on OBJECT in any space (or person domain) matching DOMAIN, through any line or
membership. ``always``: every principal holding SUBJECT is allowed it in every one.
SUBJECT is a persona, ``external`` (anyone without the ``employee`` persona) or
``user:EMAIL``; holding a persona means having it among one's own roles (the token's),
not inheriting it through the role hierarchy (every employee inherits ``guest``).

:func:`evaluate` judges a candidate policy over principals (the real population, with
their memberships, and hypothetical ones such as an invitee) and the real spaces. Each
decision is the compiler's (:meth:`~gateway.policies.compiler.PolicyIndex.judge`, as
:meth:`~gateway.policies.compiler.Authorizer.allows` asks it), which
``tests/policies/test_compiler_oracle.py`` holds equal to Casbin's ``enforce()``.
Pure: nothing is opened here.
"""

from __future__ import annotations

import csv
import enum
import io
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from casbin.util import key_match

from gateway.domain.model import StoreName
from gateway.domain.permissions import (
    ADMIN_DOMAIN,
    EXTERNAL,
    PEOPLE,
    USER_PREFIX,
    Action,
    Persona,
    Resource,
)
from gateway.policies.compiler import Compiled, CompileKey, PolicyIndex
from gateway.policies.policy import parse_domain

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from gateway.domain.model import Space
    from gateway.domain.principal import Principal
    from gateway.policies.admin.impact import Subject
    from gateway.policies.policy import Policy
    from gateway.records import AuditEntry

log = logging.getLogger("gateway.policy")

# Subjects an invariant may name besides ``user:EMAIL``.
SUBJECTS: frozenset[str] = frozenset({*(p.value for p in Persona), EXTERNAL})
# Principals and targets listed per broken invariant (the count is always of all).
MAX_EXAMPLES = 50


class Kind(enum.StrEnum):
    ALWAYS = "always"
    NEVER = "never"


class InvariantError(ValueError):
    """Invariants that cannot be loaded; ``located`` holds (line number, reason) pairs."""

    def __init__(
        self, source: str, problems: list[str], located: Sequence[tuple[int, str]] = ()
    ) -> None:
        self.source = source
        self.problems = problems
        self.located = tuple(located)
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Invariant:
    kind: Kind
    subject: str
    domain: str
    obj: str
    act: str
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"{self.kind.value}, {self.subject}, {self.domain}, {self.obj}, {self.act}"

    def held_by(self, principal: Principal) -> bool:
        """Whether ``principal`` holds this invariant's subject (its own roles only)."""
        if self.subject.startswith(USER_PREFIX):
            return principal.id == self.subject
        if self.subject == EXTERNAL:
            return Persona.EMPLOYEE.value not in principal.roles
        return self.subject in principal.roles

    def objects(self) -> list[str]:
        """The resources OBJECT names (a pattern names several)."""
        return [r.value for r in Resource if key_match(r.value, self.obj)]

    def targets(self, obj: str, spaces: Iterable[str]) -> list[str]:
        """Where ``obj`` is asked about that DOMAIN matches: space keys, ``people/STORE``,
        or the gateway as a whole for ``policy``."""
        if obj == Resource.POLICY.value:
            return [ADMIN_DOMAIN] if self.domain == ADMIN_DOMAIN else []
        if obj.startswith(Resource.PERSON.value):
            people = [f"{PEOPLE}/{s.value}" for s in StoreName]
            return [d for d in people if key_match(d, self.domain)]
        return [key for key in spaces if key_match(key, self.domain)]


@dataclass(frozen=True, slots=True)
class Invariants:
    items: tuple[Invariant, ...]
    source: str = "<memory>"
    text: str = field(default="", compare=False, repr=False)

    @classmethod
    def parse(cls, text: str, source: str = "<memory>") -> Invariants:
        items: list[Invariant] = []
        located: list[tuple[int, str]] = []
        for number, fields in _rows(text):
            try:
                items.append(_parse_row(fields, number))
            except ValueError as exc:
                located.append((number, str(exc)))
        if located:
            problems = [f"line {n}: {reason}" for n, reason in located]
            raise InvariantError(source, problems, located)
        return cls(tuple(items), source, text)

    @classmethod
    def from_file(cls, path: str | Path) -> Invariants:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvariantError(str(path), [f"cannot read: {exc.strerror}"]) from exc
        return cls.parse(text, source=str(path))


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            fields = next(csv.reader(io.StringIO(stripped), skipinitialspace=True))
            yield number, [f.strip() for f in fields]


def _parse_row(fields: list[str], number: int) -> Invariant:
    if len(fields) != 5:
        raise ValueError("an invariant has 5 fields: never|always, subject, domain, object, action")
    kind, sub, dom, obj, act = fields
    if kind not in Kind.__members__.values():
        raise ValueError(f"an invariant starts with 'never' or 'always', not {kind!r}")
    if sub.startswith(USER_PREFIX):
        if "@" not in sub[len(USER_PREFIX) :]:
            raise ValueError(f"'user:' needs an email after it, not {sub!r}")
        sub = sub.lower()
    elif sub not in SUBJECTS:
        known = ", ".join(sorted(SUBJECTS))
        raise ValueError(f"unknown subject {sub!r} (a persona, external or user:EMAIL: {known})")
    parse_domain(dom)  # raises ValueError saying why
    if not any(key_match(r.value, obj) for r in Resource) or "*" in obj[:-1]:
        raise ValueError(f"object {obj!r} names no resource (known: {', '.join(Resource)})")
    if act not in Action.__members__.values():
        raise ValueError(f"unknown action {act!r} (known: {', '.join(Action)})")
    if obj == Resource.POLICY.value and dom != ADMIN_DOMAIN:
        raise ValueError(f"the policy is administered in domain {ADMIN_DOMAIN!r} only")
    return Invariant(Kind(kind), sub, dom, obj, act, number)


@dataclass(frozen=True, slots=True)
class Breach:
    """One principal allowed (never) or refused (always) the invariant's action somewhere."""

    principal: str
    target: str  # a space key, people/STORE, or * (the policy)
    obj: str


@dataclass(frozen=True, slots=True)
class Broken:
    """An invariant a policy and population break: who and where (the first examples)."""

    invariant: Invariant
    breaches: tuple[Breach, ...]

    @property
    def total(self) -> int:
        return len(self.breaches)

    @property
    def principals(self) -> list[str]:
        return sorted({b.principal for b in self.breaches})

    @property
    def targets(self) -> list[str]:
        return sorted({b.target for b in self.breaches})

    def message(self) -> str:
        """The refusal: the invariant, and one principal and space that break it."""
        first = self.breaches[0]
        verb = "would be allowed" if self.invariant.kind is Kind.NEVER else "would not be allowed"
        what = (
            self.invariant.act
            if first.obj == Resource.SPACE.value
            else (f"{self.invariant.act} {first.obj}")
        )
        where = "the policy" if first.target == ADMIN_DOMAIN else first.target
        more = f" (and {self.total - 1} more)" if self.total > 1 else ""
        return (
            f"breaks invariant '{self.invariant}' (line {self.invariant.line}): "
            f"{first.principal} {verb} {what} in {where}{more}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "invariant": str(self.invariant),
            "line": self.invariant.line,
            "breaches": self.total,
            "principals": self.principals[:MAX_EXAMPLES],
            "targets": self.targets[:MAX_EXAMPLES],
        }


def evaluate(
    policy: Policy | PolicyIndex,
    invariants: Invariants,
    subjects: Sequence[Subject],
    spaces: Sequence[Space | str],
    now: datetime | None = None,
) -> list[Broken]:
    """Every invariant ``policy`` breaks for ``subjects`` (each named once: a principal the
    gateway knows, a newcomer of a persona, a hypothetical invitee) over ``spaces`` (spaces
    or their keys).

    Each decision is :meth:`PolicyIndex.judge`'s, but not asked subject by subject and
    space by space (a population of 20,000 over 10,000 spaces would be hundreds of
    millions of questions): where a subject holds no membership, the answer depends only
    on the roles of theirs that some rule names (:meth:`PolicyIndex.deciding`), so it is
    worked out once per such set of roles; a subject's own memberships are judged one by
    one. The breaches come in the order a subject-by-subject walk finds them.
    """
    index = policy if isinstance(policy, PolicyIndex) else PolicyIndex(policy)
    keys = [s if isinstance(s, str) else s.key for s in spaces]
    at = now or datetime.now(UTC)
    compiled: dict[int, Compiled] = {}  # by position in subjects: built once each
    broken: list[Broken] = []
    for invariant in invariants.items:
        where = [(obj, t) for obj in invariant.objects() for t in invariant.targets(obj, keys)]
        if not where:
            continue
        act, breaking = invariant.act, invariant.kind is Kind.NEVER  # the answer that breaks
        at_target: dict[str, list[tuple[int, str]]] = {}  # target: (position in where, obj)
        for position, (obj, target) in enumerate(where):
            at_target.setdefault(target, []).append((position, obj))
        general: dict[frozenset[str], list[tuple[int, str, str]]] = {}
        breaches: list[Breach] = []
        for i, subject in enumerate(subjects):
            if not invariant.held_by(subject.principal):
                continue
            grants = compiled.get(i)
            if grants is None:
                active = subject.principal.active_memberships(at)
                grants = compiled[i] = Compiled(index, CompileKey.of(subject.principal, active))
            deciding = index.deciding(act, grants.roles)
            everywhere = general.get(deciding)
            if everywhere is None:  # what breaks for these roles where no membership adds one
                everywhere = general[deciding] = [
                    (position, obj, target)
                    for position, (obj, target) in enumerate(where)
                    if _allowed(index, deciding, obj, target, act) is breaking
                ]
            own = grants.space_roles
            found = [b for b in everywhere if b[2] not in own]
            mine = own.keys() & at_target.keys()
            for target in mine:
                roles = grants.roles | own[target]
                found.extend(
                    (position, obj, target)
                    for position, obj in at_target[target]
                    if _allowed(index, roles, obj, target, act) is breaking
                )
            if mine:
                found.sort()
            breaches.extend(Breach(subject.name, target, obj) for _p, obj, target in found)
        if breaches:
            broken.append(Broken(invariant, tuple(breaches)))
    return broken


def _allowed(index: PolicyIndex, roles: frozenset[str], obj: str, dom: str, act: str) -> bool:
    allowed, denied = index.judge(roles, obj, dom, act)
    return allowed and not denied


class InvariantKind(enum.StrEnum):
    INITIAL = "initial"  # the first text this history saw
    APPLY = "apply"  # gateway policy invariants FILE, applyInvariants
    ROLLBACK = "rollback"  # back to an earlier version's text
    EDIT = "edit"  # found changed on disk (the file store)


@dataclass(frozen=True, slots=True)
class InvariantVersion:
    number: int
    sha256: str
    text: str
    at: datetime
    actor: str
    kind: InvariantKind
    reason: str | None


class InvariantSource:
    """Where the invariants live (their file, or the records database), and what the last
    full check found, for ``/readyz``."""

    _checked: tuple[datetime, list[str]] | None = None

    @property
    def name(self) -> str:
        raise NotImplementedError

    def read(self) -> Invariants:
        """The invariants in force (their last good version), or :class:`InvariantError`
        when none ever loaded."""
        raise NotImplementedError

    async def refresh(self) -> None:
        """Fetch them again where they live (a no-op where :meth:`read` looks itself)."""
        raise NotImplementedError

    async def write(
        self,
        text: str,
        *,
        actor: str,
        kind: InvariantKind = InvariantKind.APPLY,
        reason: str | None = None,
        audit: AuditEntry | None = None,
    ) -> InvariantVersion | None:
        """Put ``text`` in force as the invariants (checked by the caller), as the next
        version with ``audit`` when they have a history (None: they have none)."""
        raise NotImplementedError

    async def versions(self, *, first: int = 50) -> list[InvariantVersion]:
        """Every text that has been in force, newest first (the one in force recorded
        first when it is not the latest); empty without a history."""
        return []

    async def version(self, number: int) -> InvariantVersion | None:
        """One of :meth:`versions`, or None."""
        return None

    def report(self, broken: Sequence[Broken], at: datetime | None = None) -> None:
        """Remember what a full check found (``gateway policy check``, the admin page,
        ``checkInvariants``, an edit allowed broken): what ``/readyz`` reports."""
        self._checked = (at or datetime.now(UTC), [str(b.invariant) for b in broken])

    def status(self) -> str:
        """One line for ``/readyz``: how many are declared, and what the last check found."""
        try:
            declared = self.read()
        except InvariantError as exc:
            return f"not loading (every change of access is refused): {exc}"
        head = f"{len(declared.items)} declared ({self.name})"
        if self._checked is None:
            return f"{head}; not checked since start"
        at, broken = self._checked
        when = at.strftime("%Y-%m-%d %H:%M:%S UTC")
        if not broken:
            return f"{head}; none broken at {when}"
        return f"{head}; {len(broken)} broken at {when}: " + "; ".join(broken)


class InvariantFile(InvariantSource):
    """The invariants in force, read from their file: re-read when it changes, the last
    good ones kept while it does not load (logged once), as the policy file is.

    A missing file that was not asked for by name is no invariants at all; one that was
    named (``policy.invariants_file``) and cannot be read is an error at start-up.
    """

    def __init__(self, path: Path, *, required: bool = True) -> None:
        self.path = path
        self.required = required
        self._stamp: tuple[int, int] | None = None
        self._good: Invariants | None = None
        self._last_problem: str | None = None

    @property
    def name(self) -> str:
        return str(self.path)

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def load(self) -> Invariants:
        """The invariants, or :class:`InvariantError` when the file does not load."""
        if not self.required and not self.path.exists():
            return Invariants((), source=self.name)
        return Invariants.from_file(self.path)

    def read(self) -> Invariants:
        """The invariants in force: the file's when it loads, else the last good ones."""
        stamp = self._read_stamp()
        if self._good is not None and stamp == self._stamp:
            return self._good
        try:
            found = self.load()
        except InvariantError as exc:
            if self._good is None:
                raise
            if str(exc) != self._last_problem:
                log.error("invariants not reloaded, the last good ones stay in force: %s", exc)
                self._last_problem = str(exc)
            return self._good
        self._good, self._stamp, self._last_problem = found, stamp, None
        return found

    async def refresh(self) -> None:
        """Nothing to fetch: :meth:`read` looks at the file itself."""

    async def write(
        self,
        text: str,
        *,
        actor: str,
        kind: InvariantKind = InvariantKind.APPLY,
        reason: str | None = None,
        audit: AuditEntry | None = None,
    ) -> InvariantVersion | None:
        """Replace the file atomically (what an edit of the invariants commits)."""
        self.replace(text)
        return None

    def replace(self, text: str) -> None:
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(self.path)


def worsened(before: Sequence[Broken], after: Sequence[Broken]) -> list[Broken]:
    """The invariants ``after`` breaks that ``before`` did not, each with only its new
    breaches: a change is refused for these, never for what the state already broke."""
    old = {b.invariant: set(b.breaches) for b in before}
    out = []
    for found in after:
        new = tuple(x for x in found.breaches if x not in old.get(found.invariant, ()))
        if new:
            out.append(Broken(found.invariant, new))
    return out
