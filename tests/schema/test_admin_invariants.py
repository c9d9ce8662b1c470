"""The admin API with declared invariants: a change breaking one is refused with INVARIANT
naming it (and previewed so before), checkInvariants lists those broken now, and /readyz
says what the last check found: re-checked in the background, at once when the policy or the
invariants change and every policy.invariants_check_seconds."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import pytest

from gateway.cli import demo_principal
from gateway.config import REPO_POLICY
from gateway.http.app import create_app
from gateway.policies.admin.watch import InvariantWatch
from tests.schema.test_admin_api import APPLY, _admin, app, client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

    from gateway.policies.invariants import Broken
    from gateway.runtime.services import Services

__all__ = ["app", "client"]  # the fixtures, used by name

NOW = datetime.now(UTC)
SHARED = "never, partner, internal/shared/*, space, read"
PARTNER = "never, partner, internal/restricted/*, space, read"
BREACH = "p, partner, internal/restricted/*, space, read, allow"
CHECK = "{ checkInvariants { invariant line message breaches principals targets } }"
SIMULATE = """query($add: [String!]) { simulatePolicyChange(add: $add) {
  acceptable brokenInvariants { invariant message principals targets } } }"""


@pytest.fixture(autouse=True)
def _declared(services: Services) -> None:
    services.settings.policy_invariants_file.write_text(
        REPO_POLICY.with_name("policy-invariants.csv").read_text()
    )


@pytest.mark.backend
async def test_a_change_breaking_an_invariant_is_previewed_and_refused_with_its_name(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    simulated = (await _admin(client, app, SIMULATE, add=[BREACH]))["simulatePolicyChange"]
    assert simulated["acceptable"] is False
    [broken] = simulated["brokenInvariants"]
    assert broken["invariant"] == PARTNER and "persona:partner" in broken["principals"]
    assert "internal/restricted/project-falcon" in broken["targets"]

    data = await _admin(client, app, APPLY, add=[BREACH], remove=[], v=1, why="oops")
    payload = data["applyPolicyChange"]
    assert payload["version"] is None
    [error] = payload["errors"]
    assert error["code"] == "INVARIANT"
    assert f"breaks invariant '{PARTNER}'" in error["message"]
    assert "persona:partner" in error["message"] and "internal/restricted/" in error["message"]
    assert services.policy.number == 1
    [entry] = await services.records.entries(action="policy_apply")
    assert entry.outcome.value == "denied" and entry.detail["invariants"][0]["invariant"] == PARTNER


@pytest.mark.backend
async def test_check_invariants_lists_what_is_broken_now_and_readyz_says_so(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    assert (await _admin(client, app, CHECK))["checkInvariants"] == []
    assert "none broken at" in (await client.get("/readyz")).json()["checks"]["invariants"]

    # An invariant the state breaks (paula is Aurora's guest), added to the file by hand.
    await services.records.remember(demo_principal("paula@partner.example", ()), NOW)
    path = services.settings.policy_invariants_file
    path.write_text(path.read_text() + SHARED + "\n")
    [broken] = (await _admin(client, app, CHECK))["checkInvariants"]
    assert broken["invariant"] == SHARED and broken["line"] > 0
    assert broken["principals"] == ["user:paula@partner.example"]
    assert broken["targets"] == ["internal/shared/aurora-feedback"]
    ready = (await client.get("/readyz")).json()["checks"]["invariants"]
    assert "1 broken at" in ready and SHARED in ready


EDIT = """mutation($text: String!, $allow: Boolean!) {
  applyInvariants(input: {text: $text, allowBroken: $allow, reason: "r"}) {
    applied preview { acceptable added removed brokenNow { invariant principals } }
    errors { code message field }
  }
}"""


@pytest.mark.backend
async def test_an_invariant_broken_now_is_added_only_when_allowed_and_audited(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    await services.records.remember(demo_principal("paula@partner.example", ()), NOW)
    path = services.settings.policy_invariants_file
    before = path.read_text()
    text = before + SHARED + "\n"
    refused = (await _admin(client, app, EDIT, text=text, allow=False))["applyInvariants"]
    assert refused["applied"] is False and refused["preview"]["added"] == [SHARED]
    assert refused["preview"]["brokenNow"] == [
        {"invariant": SHARED, "principals": ["user:paula@partner.example"]}
    ]
    assert [e["code"] for e in refused["errors"]] == ["INVARIANT"]
    assert path.read_text() == before

    bad = await _admin(client, app, EDIT, text="never, x, *, space, read", allow=True)
    assert [e["code"] for e in bad["applyInvariants"]["errors"]] == ["INVALID"]

    applied = (await _admin(client, app, EDIT, text=text, allow=True))["applyInvariants"]
    assert applied["applied"] is True and applied["errors"] == []
    assert path.read_text() == text
    ready = (await client.get("/readyz")).json()["checks"]["invariants"]
    assert "1 broken at" in ready and SHARED in ready
    entries = await services.records.entries(action="invariants_apply")
    assert [e.outcome.value for e in entries] == ["ok", "denied", "denied"]
    assert entries[0].actor == "user:sam@corp.example"


VERSIONS = "{ invariantVersions(first: 5) { number kind actor reason sha256 text } }"
ROLLBACK = """mutation($to: Int!, $allow: Boolean!) {
  rollbackInvariants(input: {toVersion: $to, allowBroken: $allow, reason: "back"}) {
    applied version preview { added removed brokenNow { invariant } } errors { code field }
  }
}"""


@pytest.mark.backend
async def test_the_invariants_versions_are_listed_and_rolled_back_through_the_api(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    await services.records.remember(demo_principal("paula@partner.example", ()), NOW)
    path = services.settings.policy_invariants_file
    shipped = path.read_text()
    await _admin(client, app, EDIT, text=shipped + SHARED + "\n", allow=True)  # v2, broken
    versions = (await _admin(client, app, VERSIONS))["invariantVersions"]
    assert [(v["number"], v["kind"]) for v in versions] == [(2, "apply"), (1, "initial")]
    assert versions[0]["actor"] == "user:sam@corp.example" and versions[1]["text"] == shipped

    back = (await _admin(client, app, ROLLBACK, to=1, allow=False))["rollbackInvariants"]
    assert back["applied"] is True and back["version"] == 3 and back["errors"] == []
    assert back["preview"]["removed"] == [SHARED]
    assert path.read_text() == shipped

    refused = (await _admin(client, app, ROLLBACK, to=2, allow=False))["rollbackInvariants"]
    assert refused["applied"] is False and refused["version"] is None
    assert refused["errors"] == [{"code": "INVARIANT", "field": "toVersion"}]
    assert refused["preview"]["brokenNow"] == [{"invariant": SHARED}]
    assert path.read_text() == shipped
    missing = (await _admin(client, app, ROLLBACK, to=9, allow=True))["rollbackInvariants"]
    assert missing["errors"] == [{"code": "NOT_FOUND", "field": "toVersion"}]

    entries = await services.records.entries(action="invariants_rollback")
    assert [(e.outcome.value, e.detail["reason"]) for e in entries] == [
        ("denied", "back"),
        ("ok", "back"),
    ]


async def _ready_until(client: httpx.AsyncClient, *wanted: str) -> str:
    """/readyz's invariants line once it contains each of ``wanted`` (the background check
    runs within a second or so); the last line seen when it never does."""
    line = ""
    for _ in range(300):
        line = (await client.get("/readyz")).json()["checks"]["invariants"]
        if all(w in line for w in wanted):
            break
        await asyncio.sleep(0.1)
    return line


@contextlib.asynccontextmanager
async def _serving(services: Services, every: int) -> AsyncIterator[httpx.AsyncClient]:
    """The app running (its background tasks too), re-checking every ``every`` seconds."""
    settings = dataclasses.replace(services.settings, policy_invariants_check=every)
    application = create_app(settings, services)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield c


@pytest.mark.backend
async def test_readyz_rechecks_at_once_when_the_invariants_change(services: Services) -> None:
    # Paula, a partner, is Aurora's guest: SHARED is broken as soon as it is declared.
    await services.records.remember(demo_principal("paula@partner.example", ()), NOW)
    async with _serving(services, every=3600) as client:  # no periodic check meanwhile
        ready = await _ready_until(client, "7 declared", "none broken at")
        assert "7 declared" in ready and "none broken at" in ready
        path = services.settings.policy_invariants_file
        shipped = path.read_text()
        path.write_text(shipped + SHARED + "\n")  # by hand: nobody runs a check
        ready = await _ready_until(client, "8 declared", "1 broken at")
        assert "1 broken at" in ready and SHARED in ready
        path.write_text(shipped)
        ready = await _ready_until(client, "7 declared", "none broken at")
        assert "7 declared" in ready and "none broken at" in ready


@pytest.mark.backend
async def test_readyz_rechecks_periodically_when_only_the_population_changes(
    services: Services,
) -> None:
    path = services.settings.policy_invariants_file
    path.write_text(path.read_text() + SHARED + "\n")
    async with _serving(services, every=1) as client:
        ready = await _ready_until(client, "8 declared", "none broken at")
        assert "8 declared" in ready and "none broken at" in ready
        # Neither the policy nor the invariants change: paula logs in as a partner.
        await services.records.remember(demo_principal("paula@partner.example", ()), NOW)
        ready = await _ready_until(client, "1 broken at")
        assert "1 broken at" in ready and SHARED in ready


class _SlowWatch(InvariantWatch):
    """A watch whose every check takes ``took`` seconds and finds nothing."""

    took = 0.1
    checks = 0

    async def check(self) -> list[Broken]:
        self.checks += 1
        await asyncio.sleep(self.took)
        return []


async def test_a_check_that_took_long_is_not_repeated_before_twenty_times_as_long(
    services: Services,
) -> None:
    """Every 10 ms was asked for; a check of 0.1 s waits 2 s before the next, so in 0.8 s
    of watching nothing changed there is the one at start only (not seven)."""
    watch = _SlowWatch.of(services, every=0.01)
    watch.look = 0.01
    await watch.start()
    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0.8)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert watch.checks == 1
