"""Compiling a principal's grants into scopes and field decisions, once per request.

Casbin's ``enforce()`` evaluates every policy line per call and so cannot sit on
a per-row path. The compiler gives the same answers from the other side: it
walks only the lines whose subject the principal holds (a persona, a role
inherited from one, their own ``user:`` subject, or a role from a membership)
and turns their domain patterns into a :class:`Scope` that adapters apply in
SQL. Its cost grows with the principal's roles and memberships, never with the
number of spaces or rows. ``tests/policies/test_compiler_oracle.py`` holds it
equal to ``enforce()``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from casbin.util import key_match

from gateway.domain.model import StoreName, Visibility
from gateway.domain.permissions import SELF, Action, Resource
from gateway.policies.export import digest
from gateway.policies.policy import Effect, Policy, Rule, parse_domain, role_closure
from gateway.stores.scope import Grants, Scope, StoreScope

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from gateway.domain.model import Membership
    from gateway.domain.principal import Principal


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
        for rule in policy.rules:
            self._by_act_sub[(rule.act, rule.sub)].append(rule)
        self._closures: dict[frozenset[str], frozenset[str]] = {}

    def describe(self) -> str:
        """``v7 (sha256 0123456789ab)``: how decisions name the policy they were made under."""
        number = f"v{self.number} " if self.number is not None else ""
        return f"{number}(sha256 {self.version[:12]})"

    def closure(self, roles: Iterable[str]) -> frozenset[str]:
        key = frozenset(roles)
        found = self._closures.get(key)
        if found is None:
            found = self._closures[key] = role_closure(self.policy.links, key)
        return found

    def rules(self, act: str, subjects: Iterable[str]) -> list[Rule]:
        out: list[Rule] = []
        for sub in subjects:
            out.extend(self._by_act_sub.get((act, sub), ()))
        return out


@dataclass
class _GrantsBuilder:
    everything: bool = False
    visibilities: set[Visibility] = field(default_factory=set)
    spaces: set[tuple[Visibility, str]] = field(default_factory=set)

    def build(self) -> Grants:
        return Grants(self.everything, frozenset(self.visibilities), frozenset(self.spaces))


def _split_key(space_key: str) -> tuple[StoreName, Visibility, str]:
    store, visibility, slug = space_key.split("/", 2)
    return StoreName(store), Visibility(visibility), slug


class Authorizer:
    """One principal's decisions for one request; every answer is computed once."""

    def __init__(self, index: PolicyIndex, principal: Principal, now: datetime) -> None:
        self.index = index
        self.principal = principal
        self.now = now
        self.roles = index.closure({principal.id, *principal.roles})
        self.memberships: tuple[Membership, ...] = principal.active_memberships(now)
        self._space_roles: dict[str, frozenset[str]] = {}
        for m in self.memberships:
            held = self._space_roles.get(m.space_key, frozenset())
            self._space_roles[m.space_key] = held | index.closure({m.role.value})
        self._scopes: dict[str, Scope] = {}
        self._decisions: dict[tuple[str, str, str, bool], bool] = {}

    def scope(self, action: str) -> Scope:
        """Which spaces of each store this principal may ``action``."""
        found = self._scopes.get(action)
        if found is None:
            found = self._scopes[action] = self._compile(action)
        return found

    def read_scope(self) -> Scope:
        """The read scope, each store's carrying where hidden content is shown (the
        spaces this principal may moderate)."""
        found = self._scopes.get("read+reveal")
        if found is None:
            read, moderate = self.scope(Action.READ.value), self.scope(Action.MODERATE.value)
            found = self._scopes["read+reveal"] = Scope(
                read.action,
                {
                    store: dataclasses.replace(scope, reveal=moderate.for_store(store))
                    for store, scope in read.stores.items()
                },
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
        for space_key, roles in self._space_roles.items():
            for rule in self.index.rules(action, roles - self.roles):
                if key_match(Resource.SPACE.value, rule.obj) and key_match(space_key, rule.dom):
                    store, visibility, slug = _split_key(space_key)
                    target = allow if rule.eft is Effect.ALLOW else deny
                    target[store].spaces.add((visibility, slug))
        return Scope(
            action,
            {s: StoreScope(s, allow[s].build(), deny[s].build()) for s in StoreName},
        )

    def allows(self, obj: str, dom: str, act: str, *, own: bool = False) -> bool:
        """Whether a rule allows ``act`` on ``obj`` in ``dom`` and none denies it.

        ``dom`` is a space key, or ``people/STORE`` for person checks; ``own`` adds
        the ``self`` role (the object is the principal's own profile).
        """
        key = (obj, dom, act, own)
        found = self._decisions.get(key)
        if found is None:
            roles = self.roles | self._space_roles.get(dom, frozenset())
            if own:
                roles = roles | self.index.closure({SELF})
            allowed = denied = False
            for rule in self.index.rules(act, roles):
                if key_match(obj, rule.obj) and key_match(dom, rule.dom):
                    if rule.eft is Effect.ALLOW:
                        allowed = True
                    else:
                        denied = True
            found = self._decisions[key] = allowed and not denied
        return found
