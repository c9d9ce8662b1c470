from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.databases import BACKENDS, DatabaseFactory, factory_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


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
