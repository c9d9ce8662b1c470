from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from gateway.config import REPO_POLICY, Settings
from gateway.http.app import build_services, prepare_stores
from tests.databases import BACKENDS, DatabaseFactory, factory_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from gateway.runtime.services import Services


# Seconds a store call of a test using ``services`` may take (see that fixture).
FIXTURE_STORE_TIMEOUT = 60


@pytest.fixture(scope="session", autouse=True)
def repository_policy_untouched() -> Iterator[None]:
    """No test may change the repository's policies.csv (the gateway writes the policy file
    it is given when a change is applied: tests give it a copy)."""
    before = REPO_POLICY.read_bytes()
    yield
    assert REPO_POLICY.read_bytes() == before, "a test wrote the repository's policies.csv"


@pytest.fixture(params=BACKENDS)
async def databases(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[DatabaseFactory]:
    """Fresh empty databases on each backend: ``await databases.create("internal")``."""
    factory = await factory_for(request.param, tmp_path)
    try:
        yield factory
    finally:
        await factory.drop_all()


@pytest.fixture
async def services(
    databases: DatabaseFactory, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Services]:
    """Both stores on fresh databases of one backend, schemas created, demo data loaded.

    The stores' deadline is 60 s here, not the gateway's default 5 s: these tests are of
    what a caller sees, and on a loaded CI machine (two workers beside PostgreSQL and
    MariaDB, at half speed) one store call of a test of something else has waited past
    5 s and failed it with STORE_UNAVAILABLE. The deadline itself is tested where it is
    the subject (tests/stores/test_store_timeouts.py, with apps of their own settings).
    ``@pytest.mark.store_timeout(SECONDS)`` gives another."""
    marker = request.node.get_closest_marker("store_timeout")
    timeout = str(marker.args[0]) if marker else str(FIXTURE_STORE_TIMEOUT)
    # A copy: a test that changes the policy through the gateway writes its file.
    policy = tmp_path / "policies.csv"
    shutil.copy(REPO_POLICY, policy)
    settings = Settings.load(
        environ={
            "GATEWAY_POLICY_FILE": str(policy),
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_INTERNAL_URL": await databases.create("internal"),
            "GATEWAY_COMMUNITY_URL": await databases.create("community"),
            "GATEWAY_RECORDS_URL": await databases.create("records"),
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_ORGANISATION_DOMAINS": "corp.example",
            "GATEWAY_DEV_ISSUER": "true",
            "GATEWAY_STORE_TIMEOUT": timeout,
        }
    )
    built = build_services(settings)
    await prepare_stores(built)
    try:
        yield built
    finally:
        await built.close()
