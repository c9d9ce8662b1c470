"""Fixtures of the store contract suite: each adapter, on each reachable backend.

``adapter`` is one of :data:`tests.adapters.contract_adapters.ADAPTERS`; a test that needs
per-adapter parameters parametrizes ``adapter`` itself (its rows lead with the adapter),
which overrides this fixture. ``store`` is that adapter's store on a fresh database of one
backend, schema created and demo data loaded. The adapter files define their own ``store``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain.demo import demo_data
from tests.adapters.contract_adapters import ADAPTERS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.adapters.contract import Adapter
    from tests.databases import DatabaseFactory


@pytest.fixture(params=ADAPTERS, ids=str)
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return request.param


@pytest.fixture
async def store(adapter: Adapter, databases: DatabaseFactory) -> AsyncIterator[Any]:
    store = adapter.make(await databases.create(adapter.name))
    try:
        await store.create_schema()
        await store.load_demo(demo_data(adapter.loaded_at))
        yield store
    finally:
        await store.close()
