"""Casbin as the oracle: a per-principal enforcer, and explanations of single decisions.

This is the slow, obviously-right path (``enforce()`` over every line). The
request path uses :mod:`gateway.policies.compiler`; tests hold the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import casbin
from casbin.util import key_match

from gateway.domain.permissions import SELF
from gateway.policies.policy import MODEL_PATH, Effect, Policy, Rule

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from gateway.domain.model import Membership
    from gateway.domain.principal import Principal


def build_enforcer(
    policy: Policy, principal: Principal, now: datetime, *, own: bool = False
) -> casbin.Enforcer:
    """A Casbin enforcer holding the policy plus this principal's roles and memberships."""
    enforcer = casbin.Enforcer(str(MODEL_PATH))
    # Personas and policy role links hold in domain "*": the role manager must treat
    # link domains as patterns. Only the oracle pays this quadratic build, never a request.
    enforcer.add_named_domain_matching_func("g", key_match)
    model = enforcer.get_model()
    for rule in policy.rules:
        model.add_policy("p", "p", rule.casbin())
    links = [link.casbin() for link in policy.links]
    links += [[principal.id, role, "*"] for role in sorted(principal.roles)]
    links += [[principal.id, m.role.value, m.space_key] for m in principal.active_memberships(now)]
    if own:
        links.append([principal.id, SELF, "*"])
    for link in links:
        model.add_policy("g", "g", link)
    enforcer.build_role_links()
    return enforcer


@dataclass(frozen=True, slots=True)
class Explanation:
    """A decision and the policy line behind it (None: nothing granted it, default deny).

    ``ended``: when denied, the access the principal had in that space and no longer has
    ("membership as space_guest in internal/shared/aurora expired on 2026-11-20"), an
    invitation that grants nothing yet (see :func:`ended_text`), or one that was revoked
    ("invitation as space_guest in ... revoked on 2026-11-20 by user:erin@corp.example").
    """

    allowed: bool
    rule: Rule | None
    via: Membership | None
    source: str
    ended: str | None = None

    def __str__(self) -> str:
        verdict = "ALLOW" if self.allowed else "DENY"
        if self.rule is None and self.ended is not None:
            return f"{verdict}: {self.ended}; no other line of {self.source} grants it"
        if self.rule is None:
            return f"{verdict}: no line of {self.source} grants it (default deny)"
        how = ""
        if self.via is not None:
            expiry = f", expires {self.via.expires_at:%Y-%m-%d}" if self.via.expires_at else ""
            how = f" via membership {self.via.role.value} in {self.via.space_key}{expiry}"
        effect = "allowed by" if self.rule.eft is Effect.ALLOW else "denied by"
        if not how and self.ended is not None:
            how = f" ({self.ended})"
        return f"{verdict}: {effect} {self.source}:{self.rule.line}: {self.rule}{how}"


def explain(
    policy: Policy,
    principal: Principal,
    dom: str,
    obj: str,
    act: str,
    now: datetime,
    *,
    own: bool = False,
    revoked: Sequence[Revocation] = (),
) -> Explanation:
    """Ask Casbin for one decision and map the line it names back to the policy file;
    ``revoked``: the principal's revoked invitations (``population.revocations``), which a
    denial in their space names."""
    return Explainer(policy, principal, now, own=own, revoked=revoked).explain(dom, obj, act)


class Explainer:
    """Casbin's explanations of one principal's decisions: the enforcer (milliseconds to
    build) is built once, then asked per space::

        oracle = Explainer(policy, principal, now)
        reasons = [oracle.explain(space.key, "space", "read") for space in spaces]
    """

    def __init__(
        self,
        policy: Policy,
        principal: Principal,
        now: datetime,
        *,
        own: bool = False,
        revoked: Sequence[Revocation] = (),
    ) -> None:
        self.policy = policy
        self.revoked = tuple(revoked)
        self.principal = principal
        self.enforcer = build_enforcer(policy, principal, now, own=own)
        self.now = now
        self._memberships = principal.active_memberships(now)
        self._global_roles = {
            principal.id,
            *self.enforcer.get_implicit_roles_for_user(principal.id, "*"),
        }

    def explain(self, dom: str, obj: str, act: str) -> Explanation:
        """The decision on ``act`` of ``obj`` in ``dom``, the line behind it and the
        membership that line applies through."""
        allowed, line = self.enforcer.enforce_ex(self.principal.id, dom, obj, act)
        rule = _find(self.policy, line)
        via = None
        if rule is not None and rule.sub not in self._global_roles:
            via = next(
                (
                    m
                    for m in self._memberships
                    if m.space_key == dom
                    and rule.sub
                    in {m.role.value, *self.enforcer.get_implicit_roles_for_user(m.role.value, dom)}
                ),
                None,
            )
        ended = None
        if not allowed:
            ended = ended_text(
                (m for m in self.principal.memberships if m.space_key == dom), self.now
            )
            # As who-can says it: a revoked invitation, unless they hold access there again.
            if not any(m.space_key == dom for m in self._memberships):
                for revocation in (r for r in self.revoked if r.space_key == dom):
                    ended = f"{ended}; {revocation}" if ended else str(revocation)
        return Explanation(bool(allowed), rule, via, self.policy.source, ended)


@dataclass(frozen=True, slots=True)
class Revocation:
    """An invitation of someone's to a space that was revoked (an accepted one's membership
    ended with it), and who revoked it when the audit log says so."""

    space_key: str
    role: str
    at: datetime
    by: str | None = None  # the audited actor (user:EMAIL), None when no entry names one

    def __str__(self) -> str:
        by = f" by {self.by}" if self.by else ""
        return f"invitation as {self.role} in {self.space_key} revoked on {self.at:%Y-%m-%d}{by}"


def ended_text(memberships: Iterable[Membership], now: datetime) -> str | None:
    """What became of the access these memberships (of one space, expired and pending
    included) gave, when none of them is active at ``now``; None when one is, or there
    are none. ``membership space_guest in internal/shared/aurora expired on 2026-11-20``."""
    found = list(memberships)
    if not found or any(m.active(now) for m in found):
        return None
    texts = []
    for m in found:
        expired = m.expires_at is not None and m.expires_at <= now
        what = "invitation" if m.pending else "membership"
        where = f"{what} as {m.role.value} in {m.space_key}"
        if expired:
            assert m.expires_at is not None
            texts.append(f"{where} expired on {m.expires_at:%Y-%m-%d}")
        else:
            texts.append(f"{where} is pending: it grants nothing until they log in")
    return "; ".join(texts)


def _find(policy: Policy, line: list[str]) -> Rule | None:
    if not line:
        return None
    return next((r for r in policy.rules if r.casbin() == list(line)), None)
