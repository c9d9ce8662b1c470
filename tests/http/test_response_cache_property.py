"""Property: whatever happens, a cached answer is the answer the schema gives uncached.

Hypothesis draws plans of steps: queries by random principals (demo personas and
strangers with a persona's roles), invitations and removals in random spaces (which
change who holds which membership), policy changes (a line dropped or restored), new
questions and hidden ones. Each query goes over HTTP through the cache and is compared
with the same query run uncached through the schema for the same principal, on every
store backend.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from gateway.domain.model import SpaceRole, StoreName
from gateway.http.app import create_app
from gateway.policies.compiler import PolicyIndex
from gateway.stores.interface import NotSupported, WriteConflict
from gateway.stores.scope import Grants, StoreScope
from tests.personas import run

if TYPE_CHECKING:
    from gateway.domain.principal import Principal
    from gateway.runtime.services import Services

WHO = (
    "guest",
    "mo@customer.example",
    "tara@customer.example",
    "paula@partner.example",
    "carl@contractor.example",
    "erin@corp.example",
    "hana@corp.example",
    # Strangers with a persona's roles: the same access as each other until a membership
    # tells them apart.
    "pat@partner.example",
    "ivy@partner.example",
)
QUERIES = (
    "{ questions(first: 20) { edges { node { title tags answerCount "
    "author { displayName } space { name } } } } }",
    "{ spaces(first: 50) { edges { node { name visibility "
    "questions(first: 5) { edges { node { title answers(first: 3) { edges { node { body } } } } } }"
    " } } } }",
    '{ search(text: "a") { edges { node { title space { name } } } } }',
    "{ questions(first: 10) { edges { node { title author { displayName department } } } } }",
)
QUERY = st.tuples(st.just("query"), st.integers(0, len(WHO) - 1), st.integers(0, len(QUERIES) - 1))
# Mostly queries, so that answers are cached and asked again by others between changes.
STEPS = st.one_of(
    *[QUERY] * 8,
    st.tuples(st.just("invite"), st.integers(0, 99), st.integers(3, len(WHO) - 1)),
    st.tuples(st.just("remove"), st.integers(0, 99), st.integers(3, len(WHO) - 1)),
    st.tuples(st.just("policy"), st.integers(0, 999), st.booleans()),
    st.tuples(st.just("hide"), st.integers(0, 99), st.booleans()),
)
PLANS = 12


def _plans() -> list[list[tuple[Any, ...]]]:
    drawn: list[list[tuple[Any, ...]]] = []

    @seed(20261201)
    @settings(
        max_examples=PLANS, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.lists(STEPS, min_size=10, max_size=30))
    def collect(plan: list[tuple[Any, ...]]) -> None:
        drawn.append(plan)

    collect()
    return drawn


def _principal(who: str) -> Principal:
    from gateway.cli import demo_principal

    if who.endswith("@partner.example") and who != "paula@partner.example":
        return demo_principal(who, ("partner",))
    return demo_principal(who, ())


async def test_a_cached_answer_is_always_the_uncached_answer(services: Services) -> None:
    assert services.caches is not None
    original = services.policy.policy
    spaces = []
    for name, store in services.stores.items():
        everything = StoreScope(name, allow=Grants(everything=True))
        page = await store.list_spaces(everything, kind=None, after=None, limit=100)
        spaces.extend((name, space) for space in page.items)
    app = create_app(services.settings, services)
    issuer = services.dev_issuer
    assert issuer is not None
    compared = 0
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            for plan in _plans():
                for step in plan:
                    kind = step[0]
                    if kind == "query":
                        who, query = WHO[step[1]], QUERIES[step[2]]
                        principal = _principal(who)
                        headers = {}
                        if who != "guest":
                            token = issuer.issue(
                                email=who,
                                name=principal.display_name,
                                roles=sorted(principal.roles),
                                organisation=principal.organisation,
                            )
                            headers = {"Authorization": f"Bearer {token}"}
                            principal = issuer.verify(token) or principal
                        response = await client.post(
                            "/graphql", json={"query": query}, headers=headers
                        )
                        served = response.json()
                        uncached = await run(services, who, query, principal=principal)
                        assert served.get("errors") is None and uncached.errors is None
                        assert served["data"] == uncached.data, (who, query, plan)
                        compared += 1
                    elif kind == "invite":
                        store_name, space = spaces[step[1] % len(spaces)]
                        await _invite(services, store_name, space.id, WHO[step[2]])
                    elif kind == "remove":
                        store_name, space = spaces[step[1] % len(spaces)]
                        await _remove(services, store_name, space.id, WHO[step[2]])
                    elif kind == "policy":
                        rules = list(original.rules)
                        if step[2]:
                            del rules[step[1] % len(rules)]
                        services.policy = PolicyIndex(
                            dataclasses.replace(original, rules=tuple(rules))
                        )
                    elif kind == "hide":
                        store_name, space = spaces[step[1] % len(spaces)]
                        await _hide(services, store_name, space, hidden=step[2])
    assert compared > PLANS, "the plans asked too few queries to say anything"
    stats = services.caches.responses.stats
    assert stats.hits > 0 and stats.misses > 0, "the plans never exercised both paths"


async def _sponsor(store: Any) -> str:
    people = await store.people_by_emails(
        ["erin@corp.example", "hana@corp.example", "mo@customer.example"]
    )
    return next(iter(people.values())).id


async def _invite(services: Services, store_name: StoreName, space_id: str, email: str) -> None:
    store = services.stores[store_name]
    now = datetime.now(UTC)
    with contextlib.suppress(NotSupported, WriteConflict):
        await store.invite(
            space_id,
            email,
            SpaceRole.GUEST if not email.endswith("@corp.example") else SpaceRole.MEMBER,
            await _sponsor(store),
            expires_at=now + timedelta(days=1),
            now=now,
        )


async def _remove(services: Services, store_name: StoreName, space_id: str, email: str) -> None:
    store = services.stores[store_name]
    person = (await store.people_by_emails([email])).get(email)
    if person is not None:
        await store.remove_member(space_id, person.id)


async def _hide(services: Services, store_name: StoreName, space: Any, *, hidden: bool) -> None:
    store = services.stores[store_name]
    everything = Grants(everything=True)
    scope = StoreScope(store_name, allow=everything, reveal=StoreScope(store_name, everything))
    found = await store.list_questions(
        scope, space_ids=[space.id], unanswered=False, tag=None, after=None, limit=1
    )
    for question in found.items:
        await store.set_hidden(question.id, answer=False, hidden=hidden, now=datetime.now(UTC))
