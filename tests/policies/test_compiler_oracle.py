"""The compiled scope and field decisions equal Casbin's enforce() for random worlds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, MetaData, String, Table, create_engine, select

from gateway.domain.model import Membership, Space, SpaceKind, SpaceRole, StoreName, Visibility
from gateway.domain.permissions import KNOWN_ROLES, Persona
from gateway.domain.principal import Principal
from gateway.policies.compiler import Authorizer, PolicyIndex
from gateway.policies.explain import build_enforcer
from gateway.policies.policy import Effect, Policy, RoleLink, Rule

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
SLUGS = ("a", "b", "c")
VISIBILITIES = {
    StoreName.INTERNAL: (Visibility.OPEN, Visibility.RESTRICTED, Visibility.SHARED),
    StoreName.COMMUNITY: (Visibility.PUBLIC, Visibility.MEMBERS, Visibility.TRUSTED),
}
ALL_SPACES = [
    Space(store, f"{store}-{vis}-{slug}", slug, SpaceKind.GROUP, slug, "", vis)
    for store, visibilities in VISIBILITIES.items()
    for vis in visibilities
    for slug in SLUGS
]
ME = "user:me@example.test"
# Reads plus two writes: scopes are compiled per action, and "accept" is granted to "self".
ACTIONS = ("read", "ask", "accept")
ROLES = sorted(KNOWN_ROLES)

domains = st.sampled_from(
    [
        "*",
        "internal/*",
        "community/*",
        *(f"{s}/{v}/*" for s, vs in VISIBILITIES.items() for v in vs),
        *(space.key for space in ALL_SPACES[::2]),
        "people/*",
        "people/internal",
    ]
)
rules = st.builds(
    Rule,
    sub=st.sampled_from([*ROLES, ME, "user:other@example.test"]),
    dom=domains,
    obj=st.sampled_from(["space", "*", "Person.email", "Person.*", "Feedback.internalNote"]),
    act=st.sampled_from(ACTIONS),
    eft=st.sampled_from(list(Effect)),
)
links = st.builds(
    RoleLink,
    role=st.sampled_from([*ROLES, ME]),
    parent=st.sampled_from(ROLES),
)
memberships = st.builds(
    Membership,
    store=st.just(StoreName.INTERNAL),  # store is not part of the decision; the key is
    space_id=st.just("0"),
    space_key=st.sampled_from([s.key for s in ALL_SPACES]),
    role=st.sampled_from(list(SpaceRole)),
    expires_at=st.one_of(
        st.none(), st.sampled_from([NOW - timedelta(hours=1), NOW + timedelta(hours=1)])
    ),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Policy, Principal]:
    policy = Policy(
        tuple(draw(st.lists(rules, max_size=12))),
        # Casbin stops walking the hierarchy at 10 levels; a handful of links stays below.
        tuple(draw(st.lists(links, max_size=5))),
    )
    principal = Principal(
        issuer="test",
        subject="me",
        email="me@example.test",
        email_verified=True,
        display_name="Me",
        roles=frozenset(draw(st.sets(st.sampled_from([p.value for p in Persona]), max_size=3))),
        memberships=tuple(draw(st.lists(memberships, max_size=4))),
    )
    return policy, principal


def _fix_membership_stores(principal: Principal) -> Principal:
    fixed = tuple(
        Membership(
            StoreName(m.space_key.split("/")[0]), m.space_id, m.space_key, m.role, m.expires_at
        )
        for m in principal.memberships
    )
    return principal.with_memberships(fixed)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_compiled_scope_equals_enforce(world: tuple[Policy, Principal]) -> None:
    policy, principal = world
    principal = _fix_membership_stores(principal)
    enforcer = build_enforcer(policy, principal, NOW)
    authorizer = Authorizer(PolicyIndex(policy), principal, NOW)
    for action in ACTIONS:
        scope = authorizer.scope(action)
        for space in ALL_SPACES:
            expected = enforcer.enforce(principal.id, space.key, "space", action)
            assert scope.admits(space) == expected, (action, space.key, policy.lines())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.booleans())
def test_decisions_equal_enforce(world: tuple[Policy, Principal], own: bool) -> None:
    policy, principal = world
    principal = _fix_membership_stores(principal)
    enforcer = build_enforcer(policy, principal, NOW, own=own)
    authorizer = Authorizer(PolicyIndex(policy), principal, NOW)
    for dom in ("people/internal", "people/community", *(s.key for s in ALL_SPACES[:6])):
        for obj in ("Person.email", "Feedback.internalNote", "Person", "space"):
            for action in ACTIONS:
                expected = enforcer.enforce(principal.id, dom, obj, action)
                assert authorizer.allows(obj, dom, action, own=own) == expected, (
                    dom,
                    obj,
                    action,
                    policy.lines(),
                )


_metadata = MetaData()
_spaces = Table(
    "spaces",
    _metadata,
    Column("store", String),
    Column("visibility", String),
    Column("slug", String),
)
_engine = create_engine("sqlite://")
_metadata.create_all(_engine)
with _engine.begin() as _conn:
    _conn.execute(
        _spaces.insert(),
        [
            {"store": s.store.value, "visibility": s.visibility.value, "slug": s.slug}
            for s in ALL_SPACES
        ],
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_sql_predicate_equals_enforce(world: tuple[Policy, Principal]) -> None:
    policy, principal = world
    principal = _fix_membership_stores(principal)
    enforcer = build_enforcer(policy, principal, NOW)
    scope = Authorizer(PolicyIndex(policy), principal, NOW).scope("read")
    with _engine.connect() as conn:
        for store in StoreName:
            predicate = scope.for_store(store).predicate(_spaces.c.visibility, _spaces.c.slug)
            rows = conn.execute(
                select(_spaces.c.visibility, _spaces.c.slug).where(
                    _spaces.c.store == store.value, predicate
                )
            )
            got = {(v, s) for v, s in rows}
            expected = {
                (sp.visibility.value, sp.slug)
                for sp in ALL_SPACES
                if sp.store == store and enforcer.enforce(principal.id, sp.key, "space", "read")
            }
            assert got == expected, (store, policy.lines())
