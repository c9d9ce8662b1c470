"""Compiling a principal's grants into scopes and field decisions, once per request.

Casbin's ``enforce()`` evaluates every policy line per call and so cannot sit on
a per-row path. The compiler gives the same answers from the other side: it
walks only the lines whose subject the principal holds (a persona, a role
inherited from one, their own ``user:`` subject, or a role from a membership)
and turns their domain patterns into a :class:`Scope` that adapters apply in
SQL. Its cost grows with the principal's roles and memberships, never with the
number of spaces or rows. ``tests/policies/test_compiler_oracle.py`` holds it
equal to ``enforce()``.

A request need not pay even that: what is compiled for a principal depends only on the
policy and a :class:`CompileKey` (their subject, roles and active memberships), so each
policy's index keeps the compiled grants of the principals seen lately
(:class:`CompiledCache`) and a request whose key is unchanged reuses them. A changed
membership, an expiry passing or a new policy is another key or another index: it is
compiled afresh on the very next request. ``tests/policies/test_compiled_cache.py``
holds the reused grants equal to fresh ones.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from casbin.util import key_match

from gateway.domain.model import StoreName, Visibility
from gateway.domain.permissions import SELF, Action, Resource
from gateway.policies.export import digest
from gateway.policies.policy import Effect, Policy, Rule, parse_domain, role_closure
from gateway.stores.scope import Grants, Scope, StoreScope

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable, Mapping
    from datetime import datetime

    from gateway.domain.model import Membership
    from gateway.domain.principal import Principal


# The key of the read scope with where hidden content shows (Compiled.read_scope).
READ_AND_REVEAL = "read+reveal"


class PolicyIndex:
    """A policy indexed for compilation: rules by (action, subject), role closures memoised."""

    def __init__(self, policy: Policy, number: int | None = None) -> None:
        self.policy = policy
        # The content hash of the canonical policy: what every decision is made under.
        self.version = digest(policy)
        # Its number in the policy history (None: not recorded, e.g. the history's database
        # was down when it was loaded).
        self.number = number
        self._by_act_sub: dict[tuple[str, str], list[Rule]] = defaultdict(list)
        subjects: dict[str, set[str]] = defaultdict(set)
        for rule in policy.rules:
            self._by_act_sub[(rule.act, rule.sub)].append(rule)
            subjects[rule.act].add(rule.sub)
        # The subjects some rule for each action names: the only roles a decision reads.
        self._subjects_of: dict[str, frozenset[str]] = {
            act: frozenset(subs) for act, subs in subjects.items()
        }
        self._closures: dict[frozenset[str], frozenset[str]] = {}
        self._closure_of: dict[str, frozenset[str]] = {}
        self._inherits = frozenset(link.role for link in policy.links)  # roles with parents
        # The grants compiled under this policy for the principals seen lately.
        self.compiled = CompiledCache(self)

    def describe(self) -> str:
        """``v7 (sha256 0123456789ab)``: how decisions name the policy they were made under."""
        number = f"v{self.number} " if self.number is not None else ""
        return f"{number}(sha256 {self.version[:12]})"

    def closure(self, roles: Iterable[str]) -> frozenset[str]:
        """Every role reachable from ``roles``: the union of each one's (memoised per set,
        so keep ``roles`` to what many principals share, as their personas)."""
        key = roles if isinstance(roles, frozenset) else frozenset(roles)
        found = self._closures.get(key)
        if found is None:
            found = self._closures[key] = frozenset().union(*map(self.closure_of, key))
        return found

    def closure_of(self, role: str) -> frozenset[str]:
        """Every role reachable from one role."""
        found = self._closure_of.get(role)
        if found is None:
            if role not in self._inherits:  # a person's own subject, mostly: not kept
                return frozenset((role,))
            found = self._closure_of[role] = role_closure(self.policy.links, (role,))
        return found

    def rules(self, act: str, subjects: Iterable[str]) -> list[Rule]:
        out: list[Rule] = []
        for sub in subjects:
            out.extend(self._by_act_sub.get((act, sub), ()))
        return out

    def deciding(self, act: str, roles: frozenset[str]) -> frozenset[str]:
        """The part of ``roles`` that can decide ``act``: the roles some rule for it names.
        Principals whose deciding roles are equal get the same answer wherever no
        membership adds a role."""
        return roles & self._subjects_of.get(act, frozenset())

    def judge(self, roles: Iterable[str], obj: str, dom: str, act: str) -> tuple[bool, bool]:
        """(allowed, denied): whether a rule for ``roles`` allows ``act`` on ``obj`` in
        ``dom``, and whether one denies it."""
        allowed = denied = False
        for rule in self.rules(act, roles):
            if key_match(obj, rule.obj) and key_match(dom, rule.dom):
                if rule.eft is Effect.ALLOW:
                    allowed = True
                else:
                    denied = True
        return allowed, denied


@dataclass
class _GrantsBuilder:
    everything: bool = False
    visibilities: set[Visibility] = field(default_factory=set)
    spaces: set[tuple[Visibility, str]] = field(default_factory=set)

    def build(self) -> Grants:
        return Grants(self.everything, frozenset(self.visibilities), frozenset(self.spaces))


def _first(item: tuple[str, StoreScope]) -> str:
    return item[0]


def _split_key(space_key: str) -> tuple[StoreName, Visibility, str]:
    store, visibility, slug = space_key.split("/", 2)
    return StoreName(store), Visibility(visibility), slug


@dataclass(frozen=True, slots=True)
class CompileKey:
    """Everything a principal's compiled grants depend on, besides the policy: their own
    subject, their roles (trust-level personas included), and their active memberships.

    The clock enters the compilation only through which memberships are active
    (:meth:`Membership.active`: bound, and not expired). The key holds just the active
    ones, with their expiry: an expiry passing, a membership granted, changed or revoked,
    an invitation bound, all make another key. So an entry never outlives what it was
    compiled from and needs no time to live, and a clock set back (a ``now`` passed in)
    gets the memberships that are active then.
    """

    subject: str
    roles: frozenset[str]
    # (space key, role, expiry) of each active membership.
    memberships: frozenset[tuple[str, str, datetime | None]]

    @classmethod
    def of(cls, principal: Principal, active: Iterable[Membership]) -> CompileKey:
        return cls(
            principal.id,
            frozenset(principal.roles),
            frozenset(m.grant for m in active),
        )


class Compiled:
    """One principal's grants compiled under one policy, from their :class:`CompileKey`
    alone: the roles they hold everywhere, the roles each membership adds in its space,
    and the scopes, each compiled on first use.

    Shared by every request with the same key (:class:`CompiledCache`), so it holds
    nothing of a request's: no principal, no clock, no decisions. What it hands out is
    immutable; the memo of scopes only ever gains values that depend on the key alone,
    so a request that fills it changes nothing another request sees.
    """

    __slots__ = ("_fingerprints", "_scopes", "index", "key", "roles", "space_roles")

    def __init__(self, index: PolicyIndex, key: CompileKey) -> None:
        self.index = index
        self.key = key
        # The personas' closure is shared by everyone holding them; the subject's own is
        # kept per role (a set with the subject in it would be one more entry per person).
        self.roles = index.closure(key.roles) | index.closure_of(key.subject)
        space_roles: dict[str, frozenset[str]] = {}
        for space_key, role, _expires_at in key.memberships:
            held = space_roles.get(space_key)
            closed = index.closure_of(role)
            space_roles[space_key] = closed if held is None else held | closed
        self.space_roles: Mapping[str, frozenset[str]] = MappingProxyType(space_roles)
        self._scopes: dict[str, Scope] = {}
        self._fingerprints: dict[str, Hashable] = {}

    def scope(self, action: str) -> Scope:
        found = self._scopes.get(action)
        if found is None:
            found = self._scopes[action] = self._compile(action)
        return found

    def read_scope(self) -> Scope:
        found = self._scopes.get(READ_AND_REVEAL)
        if found is None:
            read, moderate = self.scope(Action.READ.value), self.scope(Action.MODERATE.value)
            found = self._scopes[READ_AND_REVEAL] = Scope(
                read.action,
                {
                    store: dataclasses.replace(scope, reveal=moderate.for_store(store))
                    for store, scope in read.stores.items()
                },
            )
        return found

    def fingerprint(self, action: str) -> Hashable:
        """What the scope of ``action`` (``"read+reveal"``: :meth:`read_scope`) decides, as a
        hashable value: two principals whose fingerprints are equal are shown the same
        spaces, whatever their roles or memberships (the response cache's key)."""
        found = self._fingerprints.get(action)
        if found is None:
            scope = self.read_scope() if action == READ_AND_REVEAL else self.scope(action)
            found = self._fingerprints[action] = tuple(
                sorted(((store.value, s) for store, s in scope.stores.items()), key=_first)
            )
        return found

    def _compile(self, action: str) -> Scope:
        allow: dict[StoreName, _GrantsBuilder] = {s: _GrantsBuilder() for s in StoreName}
        deny: dict[StoreName, _GrantsBuilder] = {s: _GrantsBuilder() for s in StoreName}
        for rule in self.index.rules(action, self.roles):
            if not key_match(Resource.SPACE.value, rule.obj):
                continue
            pattern = parse_domain(rule.dom)
            if pattern.people:
                continue
            target = allow if rule.eft is Effect.ALLOW else deny
            for store in [pattern.store] if pattern.store else list(StoreName):
                grants = target[store]
                if pattern.visibility is None:
                    grants.everything = True
                elif pattern.slug is None:
                    grants.visibilities.add(pattern.visibility)
                else:
                    grants.spaces.add((pattern.visibility, pattern.slug))
        # Memberships grant (or deny) single spaces: only those their own roles reach.
        for space_key, roles in self.space_roles.items():
            for rule in self.index.rules(action, roles - self.roles):
                if key_match(Resource.SPACE.value, rule.obj) and key_match(space_key, rule.dom):
                    store, visibility, slug = _split_key(space_key)
                    target = allow if rule.eft is Effect.ALLOW else deny
                    target[store].spaces.add((visibility, slug))
        return Scope(
            action,
            {s: StoreScope(s, allow[s].build(), deny[s].build()) for s in StoreName},
        )


# Entries are small (a few scopes, each growing with one principal's grants): a thousand
# covers the principals active at once on a replica many times over.
COMPILED_CACHE_SIZE = 1024


class CompiledCache:
    """The grants compiled under one policy for the principals seen lately, by key: the
    least recently used goes first once there are ``size``.

    Each :class:`PolicyIndex` holds its own, so a policy change (always a new index)
    starts from an empty one and nothing compiled under the old policy is served again.
    Requests take their grants from it (:func:`gateway.runtime.caller.build_caller`), so
    a request's cost does not grow with the caller's memberships once they were compiled.
    """

    def __init__(self, index: PolicyIndex, size: int = COMPILED_CACHE_SIZE) -> None:
        self.index = index
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[CompileKey, Compiled] = OrderedDict()
        # Requests run on one event loop, but a thread (a job, a command) may ask too.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CompileKey) -> Compiled:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
            # Cheap: the role closures are the index's, and the scopes compile on first use.
            found = self._entries[key] = Compiled(self.index, key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
            return found


@dataclass
class DecisionLog:
    """What one execution's answer was decided by, as the response cache needs to know
    before it may serve that answer to someone else (:mod:`gateway.runtime.response_cache`).

    Filled while an :class:`Authorizer` carries it: the fingerprint of every scope used
    besides the read scope (which is always in the cache's key), every decision made, and
    whether anything depended on who the caller is rather than on what they may do
    (``personal``: their memberships, their own profile, their notifications). A personal
    answer is never shared. ``guest_only``: ownership was asked of a caller with no
    verified email, who owns nothing; the answer holds for such callers only.
    """

    scopes: dict[str, Hashable] = field(default_factory=dict)
    decisions: dict[tuple[str, str, str], bool] = field(default_factory=dict)
    personal: bool = False
    guest_only: bool = False


class Authorizer:
    """One principal's decisions for one request; every answer is computed once.

    Its scopes come from a :class:`Compiled`: a fresh one, or with ``cached`` the one the
    index's :class:`CompiledCache` holds for the same key (what a request uses). The
    decisions of :meth:`allows` stay this request's. While ``log`` is set, what it hands
    out is written down there (:class:`DecisionLog`).
    """

    def __init__(
        self, index: PolicyIndex, principal: Principal, now: datetime, *, cached: bool = False
    ) -> None:
        self.index = index
        self.principal = principal
        self.now = now
        self._memberships: tuple[Membership, ...] = principal.active_memberships(now)
        key = CompileKey.of(principal, self._memberships)
        self.compiled = index.compiled.get(key) if cached else Compiled(index, key)
        self.roles = self.compiled.roles
        self._decisions: dict[tuple[str, str, str, bool], bool] = {}
        self.log: DecisionLog | None = None
        # (reason, object, action) of each denial decided for this principal, once per
        # distinct check: what the request's metrics count (gateway/http/metrics.py).
        self.denials: list[tuple[str, str, str]] = []

    def note_denial(self, reason: str, obj: str, act: str) -> None:
        """Write down a denial made on this principal's behalf outside :meth:`allows`
        (a write's target outside their read scope)."""
        self.denials.append((reason, obj, act))

    @property
    def memberships(self) -> tuple[Membership, ...]:
        """The principal's active memberships: an answer built from them is theirs alone."""
        if self.log is not None:
            self.log.personal = True
        return self._memberships

    def scope(self, action: str) -> Scope:
        """Which spaces of each store this principal may ``action``."""
        if self.log is not None:
            self.log.scopes[action] = self.compiled.fingerprint(action)
        return self.compiled.scope(action)

    def read_scope(self) -> Scope:
        """The read scope, each store's carrying where hidden content is shown (the
        spaces this principal may moderate)."""
        return self.compiled.read_scope()

    def allows(self, obj: str, dom: str, act: str, *, own: bool = False) -> bool:
        """Whether a rule allows ``act`` on ``obj`` in ``dom`` and none denies it.

        ``dom`` is a space key, or ``people/STORE`` for person checks; ``own`` adds
        the ``self`` role (the object is the principal's own profile).
        """
        key = (obj, dom, act, own)
        found = self._decisions.get(key)
        if found is None:
            roles = self.roles | self.compiled.space_roles.get(dom, frozenset())
            if own:
                roles = roles | self.index.closure({SELF})
            allowed, denied = self.index.judge(roles, obj, dom, act)
            found = self._decisions[key] = allowed and not denied
            if not found:
                self.denials.append(("deny_rule" if denied else "no_grant", obj, act))
        if self.log is not None:
            if own:
                self.log.personal = True
            else:
                self.log.decisions[(obj, dom, act)] = found
        return found
