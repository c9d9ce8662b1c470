"""Hot reload: an edited policy file is in force without a restart; a broken one never is."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING

import httpx

from gateway.config import REPO_POLICY, Settings
from gateway.http.app import create_app
from gateway.policies.admin.reload import PolicyReloader
from gateway.policies.compiler import PolicyIndex
from gateway.policies.policy import Policy
from gateway.policies.store import FileSource, PolicyStore, VersionKind
from gateway.records import Records

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    import pytest

ADMIN_LINE = "p, security_admin, *, policy, administer, allow\n"
GRANT = "\np, partner, internal/open/*, space, read, allow\n"
SPACES = "{ spaces(first: 50) { edges { node { name } } } }"


def _settings(tmp_path: Path, policy: Path) -> Settings:
    return Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}",
            "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{tmp_path / 'community.db'}",
            "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
            "GATEWAY_POLICY_FILE": str(policy),
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
        }
    )


def _touch_later(path: Path, text: str) -> None:
    """Write ``text`` so that the file's stamp surely changes (coarse mtimes)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    while path.stat().st_mtime_ns == before:
        time.sleep(0.01)
        path.write_text(text)


async def test_an_edit_is_in_force_within_a_second_and_a_broken_file_never(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = tmp_path / "policies.csv"
    shutil.copy(REPO_POLICY, policy)
    original = policy.read_text()
    app = create_app(_settings(tmp_path, policy))
    async with app.router.lifespan_context(app):
        services = app.state.services
        token = services.dev_issuer.issue(
            email="paula@partner.example", name="P", roles=["partner"]
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:

            async def paula_sees() -> set[str]:
                response = await client.post(
                    "/graphql", json={"query": SPACES}, headers={"authorization": f"Bearer {token}"}
                )
                return {e["node"]["name"] for e in response.json()["data"]["spaces"]["edges"]}

            async def within_two_seconds(check: Callable[[], Awaitable[bool]]) -> bool:
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    if await check():
                        return True
                    await asyncio.sleep(0.05)
                return False

            assert "Engineering" not in await paula_sees()
            first = services.policy.version
            _touch_later(policy, original + GRANT)
            assert await within_two_seconds(lambda: _sees(paula_sees, "Engineering"))
            granted = services.policy.version
            assert granted != first
            ready = (await client.get("/readyz")).json()["checks"]["policy"]
            assert granted[:12] in ready
            # The edit on disk is a version of its own, which a rollback can return to.
            latest = await services.policy_store.latest()
            assert (latest.number, latest.kind, latest.sha256) == (2, VersionKind.EDIT, granted)
            assert f"v{latest.number} " in ready
            # ... and audited like any change: who (the file), the diff, before and after.
            [edit] = await services.records.entries(action="policy_edit")
            assert edit.actor == str(policy) and edit.target == "policy v2"
            assert edit.detail["added"] == [GRANT.strip()] and edit.detail["removed"] == []
            assert edit.detail["before"]["version"] == 1 and edit.detail["version"] == 2

            # Broken mid-edit: the last good policy stays in force, and the problem is logged.
            with caplog.at_level(logging.ERROR, logger="gateway.policy"):
                _touch_later(policy, original + GRANT + "p, partner, internal/open/*, space, rea")
                await asyncio.sleep(1.5)
            assert services.policy.version == granted
            assert "Engineering" in await paula_sees()
            assert any("not reloaded" in r.message and "line" in r.message for r in caplog.records)

            # Saved good again (the grant taken back): in force.
            _touch_later(policy, original)
            assert await within_two_seconds(
                lambda: _sees(paula_sees, "Engineering", expected=False)
            )
            assert services.policy.version == first

            # An edit that leaves nobody able to administer the policy is not put in force.
            with caplog.at_level(logging.ERROR, logger="gateway.policy"):
                _touch_later(policy, original.replace(ADMIN_LINE, ""))
                await asyncio.sleep(1.5)
            assert services.policy.version == first
            assert any("administer" in r.message for r in caplog.records)
            assert (await services.policy_store.latest_number()) == 3


async def _sees(
    spaces: Callable[[], Awaitable[set[str]]], name: str, *, expected: bool = True
) -> bool:
    return (name in await spaces()) is expected


async def test_a_save_that_changes_only_comments_keeps_the_version(tmp_path: Path) -> None:
    policy = tmp_path / "policies.csv"
    shutil.copy(REPO_POLICY, policy)
    records = Records(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    store = PolicyStore(records.engine, FileSource(policy))
    await store.create_schema()
    try:
        first = await store.record(Policy.from_file(policy), actor="test")
        index = PolicyIndex(first.policy(), number=first.number)
        services = SimpleNamespace(policy=index, records=records)
        reloader = PolicyReloader(services, records.known_principals, store)  # type: ignore[arg-type]
        before = services.policy
        _touch_later(policy, "# a new comment\n" + policy.read_text())
        assert await reloader.check() is False
        assert services.policy is before
        assert await store.latest_number() == 1
    finally:
        await records.close()
