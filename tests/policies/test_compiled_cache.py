"""Compiled grants reused across requests equal fresh ones, and are compiled afresh the
very next request after a membership changes, an expiry passes or the policy changes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli import demo_principal
from gateway.domain.model import Membership, SpaceRole, StoreName, Visibility
from gateway.domain.permissions import Action, Persona
from gateway.domain.principal import Principal
from gateway.policies.compiler import Authorizer, CompiledCache, CompileKey, PolicyIndex
from gateway.policies.policy import Policy
from gateway.runtime.caller import build_caller
from tests.policies.test_compiler_oracle import ALL_SPACES, NOW, links, rules

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.runtime.services import Services

ACTIONS = [a.value for a in Action]
PERSONAS = [p.value for p in Persona]
# Points for allows(): person domains and a few spaces, the objects the code asks about.
POINTS = [
    (obj, dom, act)
    for dom in ("people/internal", "people/community", *(s.key for s in ALL_SPACES[::3]))
    for obj in ("Person.email", "Feedback.internalNote", "space")
    for act in ("read", "ask", "accept")
]

# Expiries on a minute grid around the start, so that clock steps land on them exactly too.
expiries = st.one_of(st.none(), st.integers(-90, 90).map(lambda m: NOW + timedelta(minutes=m)))


@st.composite
def memberships(draw: st.DrawFn) -> Membership:
    space = draw(st.sampled_from(ALL_SPACES))
    return Membership(
        space.store,
        space.id,
        space.key,
        draw(st.sampled_from(list(SpaceRole))),
        draw(expiries),
        pending=draw(st.booleans()) and draw(st.booleans()),  # a quarter are invitations
    )


policies = st.builds(
    Policy, st.lists(rules, max_size=12).map(tuple), st.lists(links, max_size=5).map(tuple)
)
# What happens between two requests of the same principal.
steps = st.one_of(
    st.tuples(st.just("again")),
    st.tuples(st.just("clock"), st.integers(-20, 60)),  # minutes; a clock set back too
    st.tuples(st.just("grant"), memberships()),
    st.tuples(st.just("revoke"), st.integers(0, 7)),
    st.tuples(st.just("change"), st.integers(0, 7), st.sampled_from(list(SpaceRole)), expiries),
    st.tuples(st.just("bind"), st.integers(0, 7)),
    st.tuples(st.just("personas"), st.sets(st.sampled_from(PERSONAS), max_size=3)),
    st.tuples(st.just("policy"), policies),
)


def _principal(roles: set[str], held: list[Membership]) -> Principal:
    return Principal(
        issuer="test",
        subject="me",
        email="me@example.test",
        email_verified=True,
        display_name="Me",
        roles=frozenset(roles),
        memberships=tuple(held),
    )


def _apply(step: tuple, held: list[Membership]) -> None:
    kind = step[0]
    if kind == "grant":
        held.append(step[1])
    elif held and kind == "revoke":
        del held[step[1] % len(held)]
    elif held and kind == "change":
        at = step[1] % len(held)
        held[at] = dataclasses.replace(held[at], role=step[2], expires_at=step[3])
    elif held and kind == "bind":
        at = step[1] % len(held)
        held[at] = dataclasses.replace(held[at], pending=False)


def _inputs(index: PolicyIndex, principal: Principal, now: datetime) -> tuple:
    """What a compilation may depend on, worked out here rather than by the compiler."""
    active = frozenset(
        (m.space_key, m.role, m.expires_at)
        for m in principal.memberships
        if not m.pending and (m.expires_at is None or m.expires_at > now)
    )
    return id(index), principal.id, principal.roles, active


def _assert_same(cached: Authorizer, fresh: Authorizer) -> None:
    assert cached.roles == fresh.roles
    assert dict(cached.compiled.space_roles) == dict(fresh.compiled.space_roles)
    for action in ACTIONS:
        assert cached.scope(action) == fresh.scope(action), action
    assert cached.read_scope() == fresh.read_scope()
    for obj, dom, act in POINTS:
        for own in (False, True):
            assert cached.allows(obj, dom, act, own=own) == fresh.allows(obj, dom, act, own=own)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policies,
    st.sets(st.sampled_from(PERSONAS), max_size=3),
    st.lists(memberships(), max_size=5),
    st.lists(steps, min_size=1, max_size=12),
)
def test_reused_grants_equal_fresh_ones_and_any_change_compiles_afresh(
    policy: Policy, roles: set[str], held: list[Membership], changes: list[tuple]
) -> None:
    index, now = PolicyIndex(policy), NOW
    previous: tuple[tuple, Authorizer] | None = None
    for step in [("again",), *changes]:
        if step[0] == "clock":
            now += timedelta(minutes=step[1])
        elif step[0] == "personas":
            roles = step[1]
        elif step[0] == "policy":
            index = PolicyIndex(step[1])
        _apply(step, held)
        principal = _principal(roles, held)
        cached = Authorizer(index, principal, now, cached=True)
        _assert_same(cached, Authorizer(index, principal, now))
        inputs = _inputs(index, principal, now)
        if previous is not None:
            before, earlier = previous
            if inputs == before:
                assert cached.compiled is earlier.compiled, step  # reused, not recompiled
            else:
                # A membership granted, revoked, changed or bound, an expiry passed, the
                # personas or the policy changed: never the previous request's grants.
                assert cached.compiled is not earlier.compiled, step
        previous = inputs, cached


def test_an_expiry_passing_ends_the_grant_on_the_next_request() -> None:
    index = PolicyIndex(Policy.parse("p, space_guest, internal/*, space, read, allow\n"))
    space = ALL_SPACES[0]
    guest = Membership(space.store, space.id, space.key, SpaceRole.GUEST, NOW + timedelta(hours=1))
    principal = _principal(set(), [guest])
    before = Authorizer(index, principal, NOW + timedelta(minutes=59), cached=True)
    assert before.scope("read").admits(space)
    again = Authorizer(index, principal, NOW + timedelta(minutes=59, seconds=59), cached=True)
    assert again.compiled is before.compiled
    after = Authorizer(index, principal, NOW + timedelta(hours=1), cached=True)
    assert after.compiled is not before.compiled
    assert not after.scope("read").admits(space)


def test_a_policy_change_is_a_new_index_with_nothing_compiled() -> None:
    text = "p, employee, internal/*, space, read, allow\n"
    denied = text + "p, employee, internal/*, space, read, deny\n"
    old, new = PolicyIndex(Policy.parse(text)), PolicyIndex(Policy.parse(denied))
    principal = _principal({"employee"}, [])
    assert Authorizer(old, principal, NOW, cached=True).scope("read").admits(ALL_SPACES[0])
    assert len(new.compiled) == 0
    assert not Authorizer(new, principal, NOW, cached=True).scope("read").admits(ALL_SPACES[0])


def test_the_cache_keeps_the_most_recently_used_entries() -> None:
    index = PolicyIndex(Policy((), ()))
    cache = CompiledCache(index, size=2)
    a, b, c = (CompileKey(f"user:{n}@example.test", frozenset(), frozenset()) for n in "abc")
    first = cache.get(a)
    cache.get(b)
    assert cache.get(a) is first  # a is now the most recently used
    cache.get(c)  # b goes
    assert len(cache) == 2
    assert cache.get(a) is first
    assert (cache.hits, cache.misses) == (2, 3)
    cache.get(b)
    assert cache.misses == 4


def test_requests_share_compiled_data_never_the_authorizer() -> None:
    index = PolicyIndex(Policy.parse("p, employee, internal/*, space, read, allow\n"))
    one = _principal({"employee"}, [])
    other = dataclasses.replace(one, display_name="Someone else")
    first = Authorizer(index, one, NOW, cached=True)
    second = Authorizer(index, other, NOW + timedelta(seconds=1), cached=True)
    assert second is not first and second.compiled is first.compiled
    assert (second.principal, second.now) == (other, NOW + timedelta(seconds=1))
    first.allows("space", ALL_SPACES[0].key, "read")
    assert second._decisions == {}
    assert not hasattr(first.compiled, "principal") and not hasattr(first.compiled, "now")


PAULA = "paula@partner.example"


@pytest.mark.backend
async def test_build_caller_reuses_grants_until_a_membership_changes(services: Services) -> None:
    paula = demo_principal(PAULA, ())
    first = await build_caller(services, paula)
    second = await build_caller(services, paula)
    assert second.authorizer.compiled is first.authorizer.compiled
    feedback = next(
        m for m in first.principal.memberships if m.space_key.endswith("/aurora-feedback")
    )
    assert feedback.space_key in first.authorizer.compiled.space_roles
    assert first.read_scope.for_store(feedback.store).allow.covers(
        *_visibility_slug(feedback.space_key)
    )
    # Her guest membership expires in 180 days: the day after, it grants nothing.
    later = await build_caller(services, paula, first.now + timedelta(days=181))
    assert later.authorizer.compiled is not first.authorizer.compiled
    assert not later.read_scope.for_store(feedback.store).allow.covers(
        *_visibility_slug(feedback.space_key)
    )
    # Removed from the space: the very next request no longer holds it.
    store = services.stores[StoreName.INTERNAL]
    person = (await store.people_by_emails([PAULA]))[PAULA]
    assert await store.remove_member(feedback.space_id, person.id)
    removed = await build_caller(services, paula)
    assert removed.authorizer.compiled is not first.authorizer.compiled
    assert feedback.space_key not in removed.authorizer.compiled.space_roles
    assert not removed.read_scope.for_store(feedback.store).allow.covers(
        *_visibility_slug(feedback.space_key)
    )


def _visibility_slug(space_key: str) -> tuple[Visibility, str]:
    _store, visibility, slug = space_key.split("/", 2)
    return Visibility(visibility), slug
