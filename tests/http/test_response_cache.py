"""The response cache as a front end meets it: over HTTP, on every store backend.

A repeated query is answered without a store statement; callers with the same access
share an answer, callers with different access never do; a write through the gateway
shows at once, on this process and on another one over the same data directory; a change
made in a store behind the gateway's back shows once ``cache.max_age`` has passed; an
answer that depended on who asked is never kept.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import event

from gateway.cli import demo_principal
from gateway.config import REPO_POLICY, Settings
from gateway.domain import ids
from gateway.http.app import build_services, create_app, prepare_stores
from gateway.policies.compiler import DecisionLog, PolicyIndex
from gateway.policies.policy import Policy
from gateway.records.listen import listens
from gateway.runtime.response_cache import GenerationBoard, ResponseCache
from tests.personas import PERSONAS, run

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from gateway.runtime.services import Services
    from tests.databases import DatabaseFactory

PAGE = (
    "{ questions(first: 20) { edges { node { title tags answerCount "
    "author { displayName } space { name } } } } }"
)
SPACES = "{ spaces(first: 50) { edges { node { id name store visibility } } } }"


class Gateway:
    """One running app over the test's services, with a client and a statement counter."""

    def __init__(self, services: Services, client: httpx.AsyncClient) -> None:
        self.services = services
        self.client = client
        self.statements = 0
        for store in services.stores.values():
            engine = store.store.engine  # type: ignore[attr-defined]  # the guarded adapter's
            event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.statements += 1

    def persona(self, email: str) -> dict[str, str]:
        """The bearer header of a demo persona, with the roles the directory gives them."""
        principal = demo_principal(email, ())
        return self.token(email, sorted(principal.roles), principal.display_name)

    def token(self, email: str, roles: list[str], name: str = "Someone") -> dict[str, str]:
        issuer = self.services.dev_issuer
        assert issuer is not None
        return {"Authorization": f"Bearer {issuer.issue(email=email, name=name, roles=roles)}"}

    async def ask(
        self, query: str, headers: dict[str, str] | None = None, **variables: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
        )
        assert response.status_code == 200, response.text
        return response.json()

    @property
    def stats(self) -> Any:
        assert self.services.caches is not None
        return self.services.caches.responses.stats


@asynccontextmanager
async def serving(services: Services) -> AsyncIterator[Gateway]:
    app = create_app(services.settings, services)
    async with app.router.lifespan_context(app):
        if listens(services.settings.records_url) and services.caches is not None:
            # Once the listener connects, everything cached before is stale (it may have
            # missed other replicas' writes): wait for that, so tests see a steady cache.
            for _ in range(250):
                if services.caches.board.connections:
                    break
                await asyncio.sleep(0.02)
        if services.caches is not None:
            # The cache's clock stands still: on a loaded CI machine two requests of one
            # test came more than max_age (2 s) apart, and a hit the test expects was a
            # miss. Expiry has its own test, which moves this clock itself.
            now = services.caches.responses.clock()
            services.caches.responses.clock = services.caches.reads.clock = lambda: now
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield Gateway(services, c)


@pytest.fixture
async def gateway(services: Services) -> AsyncIterator[Gateway]:
    async with serving(services) as served:
        yield served


async def test_a_repeated_page_costs_no_store_statement(gateway: Gateway) -> None:
    erin = gateway.persona("erin@corp.example")
    for headers in ({}, erin):
        first = await gateway.ask(PAGE, headers)
        assert "errors" not in first and first["data"]["questions"]["edges"]
        before, hits = gateway.statements, gateway.stats.hits
        again = await gateway.ask(PAGE, headers)
        assert again == first
        assert gateway.stats.hits == hits + 1
        assert gateway.statements == before, "a cache hit ran a store statement"


async def test_a_hit_sends_the_very_bytes_of_the_answer_it_keeps(gateway: Gateway) -> None:
    """A hit goes out as the JSON kept with the entry, not encoded again: byte for byte
    the first answer's body, with its extensions (the policy, a cost asked for) too."""
    for body in ({"query": PAGE}, {"query": PAGE, "extensions": {"cost": True}}):
        first = await gateway.client.post("/graphql", json=body)
        hits = gateway.stats.hits
        again = await gateway.client.post("/graphql", json=body)
        assert gateway.stats.hits == hits + 1
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        assert ("cost" in again.json()["extensions"]) is ("extensions" in body)


async def test_callers_with_the_same_access_share_an_answer(gateway: Gateway) -> None:
    one = gateway.token("first.partner@partner.example", ["partner"])
    other = gateway.token("second.partner@partner.example", ["partner"])
    answer = await gateway.ask(PAGE, one)
    hits = gateway.stats.hits
    assert await gateway.ask(PAGE, other) == answer
    assert gateway.stats.hits == hits + 1, "two partners with the same access share an answer"


async def test_callers_with_other_access_are_never_served_anothers_answer(
    gateway: Gateway,
) -> None:
    """Each persona asks after every other persona warmed the cache: each gets exactly what
    the schema answers them uncached (which the leak tests hold leak-free)."""
    queries = [PAGE, SPACES, '{ search(text: "a") { edges { node { title space { name } } } } }']
    for query in queries:
        for who in PERSONAS:
            headers = {} if who == "guest" else gateway.persona(who)
            served = await gateway.ask(query, headers)
            uncached = await run(gateway.services, who, query)
            assert uncached.errors is None
            assert served["data"] == uncached.data, (who, query)
    # Answers differed between personas, so entries were kept per access, not shared.
    assert len(gateway.services.caches.responses) > len(queries)  # type: ignore[union-attr]


async def _guest_space(gateway: Gateway) -> str:
    spaces = (await gateway.ask(SPACES))["data"]["spaces"]["edges"]
    public = [e["node"] for e in spaces if e["node"]["store"] == "COMMUNITY"]
    assert public, "the demo has public community spaces"
    return public[0]["id"]


ASK = """mutation($i: AskQuestionInput!) {
  askQuestion(input: $i) { question { id } errors { code message } } }"""
SEARCH = "query($t: String!) { search(text: $t) { edges { node { title } } } }"


async def test_a_write_through_the_gateway_shows_at_once(gateway: Gateway) -> None:
    space = await _guest_space(gateway)
    title = "Cache probe: does a new question show at once"
    assert (await gateway.ask(SEARCH, t="Cache probe"))["data"]["search"]["edges"] == []
    assert (await gateway.ask(SEARCH, t="Cache probe"))["data"]["search"][
        "edges"
    ] == []  # now cached
    mo = gateway.persona("mo@customer.example")
    asked = await gateway.ask(ASK, mo, i={"spaceId": space, "title": title, "body": "?"})
    assert asked["data"]["askQuestion"]["errors"] == [], asked
    found = (await gateway.ask(SEARCH, t="Cache probe"))["data"]["search"]["edges"]
    assert found == [{"node": {"title": title}}]


async def test_a_change_behind_the_gateways_back_shows_within_max_age(gateway: Gateway) -> None:
    caches = gateway.services.caches
    assert caches is not None
    clock = [1000.0]
    caches.responses.clock = caches.reads.clock = lambda: clock[0]
    found = (await gateway.ask(SEARCH, t="a"))["data"]["search"]["edges"]
    assert found
    page = await gateway.ask(PAGE)
    first = await gateway.ask("{ questions(first: 1) { edges { node { id title } } } }")
    node = first["data"]["questions"]["edges"][0]["node"]
    question = node["title"]
    # Hidden by another system, straight in the store: the gateway is not told.
    ref = ids.decode(node["id"], "Question")
    adapter = gateway.services.stores[ref.store].store  # type: ignore[attr-defined]
    await adapter.set_hidden(ref.native_id, answer=False, hidden=True, now=datetime.now(UTC))
    assert await gateway.ask(PAGE) == page, "within max_age, the cached answer stands"
    clock[0] += gateway.services.settings.cache_max_age
    fresh = await gateway.ask(PAGE)
    titles = [e["node"]["title"] for e in fresh["data"]["questions"]["edges"]]
    assert question not in titles, "past max_age, the change shows"


async def test_answers_about_who_asks_are_never_kept(gateway: Gateway) -> None:
    paula = gateway.persona("paula@partner.example")
    personal = [
        "{ viewer { id roles memberships { space { name } role } } }",
        "{ spaces(first: 50) { edges { node { name viewerRole } } } }",
        "{ questions(first: 5) { edges { node { author { displayName email } } } } }",
    ]
    for query in personal:
        kept = len(gateway.services.caches.responses)  # type: ignore[union-attr]
        for _ in range(2):
            body = await gateway.ask(query, paula)
            assert "errors" not in body, body
        assert len(gateway.services.caches.responses) == kept, query  # type: ignore[union-attr]
    # A guest owns no profile: the same answer for every guest, so it is kept.
    kept = len(gateway.services.caches.responses)  # type: ignore[union-attr]
    await gateway.ask(personal[2])
    assert len(gateway.services.caches.responses) == kept + 1  # type: ignore[union-attr]
    hits = gateway.stats.hits
    await gateway.ask(personal[2], paula)
    assert gateway.stats.hits == hits, "a guest's answer about profiles is not a partner's"


async def test_mutations_are_never_cached(gateway: Gateway) -> None:
    space = await _guest_space(gateway)
    mo = gateway.persona("mo@customer.example")
    variables = {"spaceId": space, "title": "Asked twice", "body": "twice"}
    first = await gateway.ask(ASK, mo, i=variables)
    second = await gateway.ask(ASK, mo, i=variables)
    assert (
        first["data"]["askQuestion"]["question"]["id"]
        != (second["data"]["askQuestion"]["question"]["id"])
    )


@pytest.fixture
def shared_settings(tmp_path: Path) -> Iterator[Settings]:
    policy = tmp_path / "policies.csv"
    shutil.copy(REPO_POLICY, policy)
    yield Settings.load(
        environ={
            "GATEWAY_POLICY_FILE": str(policy),
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}",
            "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{tmp_path / 'community.db'}",
            "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
        }
    )


async def test_a_write_on_one_worker_shows_on_another(shared_settings: Settings) -> None:
    """Two processes' worth of services over the same databases and data directory (as
    ``gateway serve --workers 2`` runs them): a write through one is seen by the other's
    cache at once."""
    one, other = build_services(shared_settings), build_services(shared_settings)
    await prepare_stores(one)
    async with serving(one) as first, serving(other) as second:
        space = await _guest_space(first)
        assert (await second.ask(SEARCH, t="Worker probe"))["data"]["search"]["edges"] == []
        assert (await second.ask(SEARCH, t="Worker probe"))["data"]["search"]["edges"] == []
        mo = first.persona("mo@customer.example")
        title = "Worker probe: seen by the other worker"
        asked = await first.ask(ASK, mo, i={"spaceId": space, "title": title, "body": "?"})
        assert asked["data"]["askQuestion"]["errors"] == [], asked
        found = (await second.ask(SEARCH, t="Worker probe"))["data"]["search"]["edges"]
        assert found == [{"node": {"title": title}}]


async def test_max_age_zero_turns_the_cache_off(databases: DatabaseFactory, tmp_path: Path) -> None:
    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_INTERNAL_URL": await databases.create("internal"),
            "GATEWAY_COMMUNITY_URL": await databases.create("community"),
            "GATEWAY_RECORDS_URL": await databases.create("records"),
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_CACHE_MAX_AGE": "0",
        }
    )
    services = build_services(settings)
    assert services.caches is None
    await prepare_stores(services)
    async with serving(services) as served:
        before = served.statements
        first = await served.ask(PAGE)
        cost = served.statements - before
        assert cost > 0
        assert await served.ask(PAGE) == first
        assert served.statements - before == 2 * cost, "with the cache off, every page is read"


def test_memory_is_bounded_by_bytes_least_recently_used_first(tmp_path: Path) -> None:
    from gateway.domain.principal import Principal
    from gateway.policies.compiler import Authorizer

    index = PolicyIndex(Policy.from_file(REPO_POLICY))
    guest = Authorizer(index, Principal.guest(), datetime.now(UTC), cached=True)
    board = GenerationBoard(tmp_path / "generations")
    cache = ResponseCache(board, max_age=60, max_bytes=40_000)
    answer = {"data": "x" * 1000}
    size = len(json.dumps(answer))
    keys = [ResponseCache.key(guest, f"{{ q{i} }}", None, None) for i in range(100)]
    for i, key in enumerate(keys):
        assert cache.store(key, DecisionLog(), board.current(), cache.clock(), answer, size)
        if i < 50:  # used lately, so kept while older unused ones go
            assert cache.lookup(keys[0], guest) is answer
    assert cache.bytes <= cache.max_bytes
    assert cache.stats.evicted > 0
    assert cache.lookup(keys[0], guest) is None  # unused for the last 50: gone
    assert cache.lookup(keys[1], guest) is None
    assert cache.lookup(keys[60], guest) is None
    assert cache.lookup(keys[-1], guest) is answer
    assert cache.bytes == sum(v.size for vs in cache._entries.values() for v in vs)
    # Too large for the cache: never kept.
    huge = "x" * 20_000
    assert not cache.store(keys[0], DecisionLog(), board.current(), 0.0, huge, len(huge))
    board.close()


async def test_an_answer_is_not_shared_where_a_field_decision_differs(gateway: Gateway) -> None:
    """Two partners with the same spaces, one of whom a ``user:`` line lets look people up:
    the same read scope, another answer, never the other's."""
    pat = gateway.token("pat@partner.example", ["partner"])
    ivy = gateway.token("ivy@partner.example", ["partner"])
    # Someone an employee sees as an author, and pat does not (node answers the authors of
    # what the caller can read, whatever the person policy says).
    erin = gateway.token("erin@corp.example", ["employee"])
    authors = "{ questions(first: 50) { edges { node { author { id displayName } } } } }"
    seen = (await gateway.ask(authors, erin))["data"]["questions"]["edges"]
    services = gateway.services
    extra = "p, user:ivy@partner.example, people/*, Person, read, allow\n"
    services.policy = PolicyIndex(Policy.parse(services.policy.policy.text + extra))
    query = "query($id: ID!) { node(id: $id) { ... on Person { displayName } } }"
    for edge in seen:
        author = edge["node"]["author"]
        first = await gateway.ask(query, pat, id=author["id"])
        if first["data"]["node"] is None:  # partners may not look people up
            break
    assert first["data"]["node"] is None, "every author is one pat reads"
    hits = gateway.stats.hits
    second = await gateway.ask(query, ivy, id=author["id"])
    assert second["data"]["node"] == {"displayName": author["displayName"]}, (
        "ivy may look people up: pat's answer is not hers"
    )
    assert gateway.stats.hits == hits
    # A third partner decides like pat: pat's answer is theirs too.
    lee = gateway.token("lee@partner.example", ["partner"])
    assert await gateway.ask(query, lee, id=author["id"]) == first
    assert gateway.stats.hits == hits + 1


async def test_a_write_on_one_replica_shows_on_another(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    """Replicas on different machines (no shared data directory) over PostgreSQL records:
    the write's NOTIFY reaches the other replica's cache."""
    if databases.backend != "postgresql":
        pytest.skip("replicas hear each other's writes through PostgreSQL's NOTIFY")
    urls = {
        "GATEWAY_INTERNAL_URL": await databases.create("internal"),
        "GATEWAY_COMMUNITY_URL": await databases.create("community"),
        "GATEWAY_RECORDS_URL": await databases.create("records"),
    }
    policy = tmp_path / "policies.csv"
    shutil.copy(REPO_POLICY, policy)

    def settings(name: str) -> Settings:
        return Settings.load(
            environ={
                **urls,
                "GATEWAY_POLICY_FILE": str(policy),
                "GATEWAY_DATA_DIR": str(tmp_path / name),
                "GATEWAY_DEMO_DATA": "true",
                "GATEWAY_DEV_ISSUER": "true",
                # Far longer than the test waits: only the notice can refresh the answer.
                "GATEWAY_CACHE_MAX_AGE": "60",
            }
        )

    one, other = build_services(settings("one")), build_services(settings("other"))
    async with serving(one) as first, serving(other) as second:
        assert other.caches.board.connections, "the other replica never listened"  # type: ignore[union-attr]
        space = await _guest_space(first)
        assert (await second.ask(SEARCH, t="Replica probe"))["data"]["search"]["edges"] == []
        assert (await second.ask(SEARCH, t="Replica probe"))["data"]["search"]["edges"] == []
        mo = first.persona("mo@customer.example")
        title = "Replica probe: seen by the other replica"
        asked = await first.ask(ASK, mo, i={"spaceId": space, "title": title, "body": "?"})
        assert asked["data"]["askQuestion"]["errors"] == [], asked
        for _ in range(25):  # the notice travels through PostgreSQL, within milliseconds
            found = (await second.ask(SEARCH, t="Replica probe"))["data"]["search"]["edges"]
            if found:
                break
            await asyncio.sleep(0.02)
        assert found == [{"node": {"title": title}}], (
            "the other replica kept serving its stale answer"
        )


async def test_a_requests_own_extensions_are_part_of_the_key(gateway: Gateway) -> None:
    """What a client asks for in ``extensions`` may change the answer's extensions: an
    answer to one such request is not another's."""
    plain = {"query": PAGE}
    asking = {"query": PAGE, "extensions": {"cost": True}}
    for body in (plain, asking):
        assert (await gateway.client.post("/graphql", json=body)).status_code == 200
    hits = gateway.stats.hits
    assert (await gateway.client.post("/graphql", json=asking)).status_code == 200
    assert gateway.stats.hits == hits + 1
    assert len(gateway.services.caches.responses) == 2  # type: ignore[union-attr]
