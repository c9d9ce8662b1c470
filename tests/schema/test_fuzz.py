"""Generated queries (hypothesis-graphql) over the public and the admin schema, as several
personas, over HTTP in-process against the demo data on SQLite.

Whatever a generated query asks, the answer is never a 5xx, never a masked server fault
("Unexpected error." is one), and every error names its ``extensions.code``. The examples
are drawn first (derandomized: the same queries every run) and then sent, so the run is
bounded: about 300 requests. The slowest answer is printed, not asserted.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import hypothesis_graphql
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

from gateway.config import REPO_POLICY, Settings
from gateway.http.app import create_app
from gateway.schema import build_admin_schema, build_schema

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import graphql
    from starlette.applications import Starlette

# (persona, roles its dev token carries, schema, examples)
RUNS = [
    ("guest", None, "public", 60),
    ("mo@customer.example", ["member"], "public", 60),
    ("paula@partner.example", ["partner"], "public", 60),
    ("erin@corp.example", ["employee"], "public", 60),
    ("sam@corp.example", ["employee", "security_admin"], "admin", 60),
]

SCALARS = {
    "DateTime": st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: nodes.String(d.isoformat())),
    "JSON": st.just(nodes.String("{}")),
}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    # A copy of the policy: a generated applyPolicyChange may well apply.
    policy = tmp_path / "policies.csv"
    shutil.copy(REPO_POLICY, policy)
    settings = Settings.load(
        environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_POLICY_FILE": str(policy)}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def _draw(schema: graphql.GraphQLSchema, count: int, fixed: int) -> list[str]:
    """``count`` generated operations (half valid queries, a quarter mutations, a quarter
    invalid queries), the same every run
    (a fixed seed per persona, so that each persona gets queries of its own)."""
    strategy = st.one_of(
        from_schema(schema, custom_scalars=SCALARS),
        from_schema(schema, custom_scalars=SCALARS),
        hypothesis_graphql.mutations(schema, custom_scalars=SCALARS),
        # Negative mode: one violation each (a wrong type, a missing argument...).
        from_schema(schema, custom_scalars=SCALARS, mode=hypothesis_graphql.Mode.NEGATIVE),
    )
    return drawn(strategy, count, fixed)


def drawn(strategy: st.SearchStrategy[str], count: int, fixed: int) -> list[str]:
    """Up to ``count`` examples of ``strategy``, the same every run for the same ``fixed``
    seed (at least half as many: hypothesis may stop early)."""
    found: list[str] = []

    @seed(fixed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(query: str) -> None:
        found.append(query)

    collect()
    assert len(found) >= count // 2, "hypothesis drew too few examples"
    return found


def _faults(body: Any) -> list[str]:
    """What is wrong with an answer: an error without a code, or a server fault."""
    problems = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code is None:
            problems.append(f"no code: {error}")
        elif code == "INTERNAL_SERVER_ERROR" or error.get("message") == "Unexpected error.":
            problems.append(f"server fault: {error}")
    return problems


async def test_generated_queries_never_fault(app: Starlette) -> None:
    schemas = {
        "public": build_schema(app.state.services.settings)._schema,
        "admin": build_admin_schema(app.state.services.settings)._schema,
    }
    issuer = app.state.services.dev_issuer
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    failures: list[str] = []
    slowest = (0.0, "")
    sent = 0
    codes: Counter[str] = Counter()
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        for fixed, (who, roles, which, count) in enumerate(RUNS):
            headers = {}
            if roles is not None:
                token = issuer.issue(email=who, name=who.split("@")[0], roles=roles)
                headers["Authorization"] = f"Bearer {token}"
            path = "/graphql" if which == "public" else "/admin/graphql"
            for query in _draw(schemas[which], count, fixed):
                started = time.perf_counter()
                response = await client.post(path, json={"query": query}, headers=headers)
                took = time.perf_counter() - started
                sent += 1
                slowest = max(slowest, (took, f"{who}: {query[:200]}"))
                if response.status_code >= 500:
                    failures.append(f"{who} {response.status_code}: {query}")
                    continue
                body = response.json()
                codes.update(
                    (e.get("extensions") or {}).get("code", "?") for e in body.get("errors") or []
                )
                codes["answered with data"] += body.get("data") is not None
                failures += [f"{who}: {p}\n  {query}" for p in _faults(body)]
    print(f"\n{sent} generated requests; slowest {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    print("errors by code:", dict(codes.most_common()))
    assert not failures, "\n".join(failures[:10])
