"""The two stores may run on different engines: the matrix holds across the mix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.config import Settings
from gateway.http.app import build_services, prepare_stores
from tests.databases import factory_for
from tests.personas import run
from tests.schema.test_read_matrix import MATRIX, SPACES

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.backend
@pytest.mark.parametrize(
    ("internal", "community"),
    [("postgresql", "mariadb"), ("mariadb", "sqlite"), ("sqlite", "postgresql")],
)
async def test_stores_on_different_engines(tmp_path: Path, internal: str, community: str) -> None:
    internal_db = await factory_for(internal, tmp_path / "i")
    community_db = await factory_for(community, tmp_path / "c")
    (tmp_path / "i").mkdir()
    (tmp_path / "c").mkdir()
    try:
        settings = Settings.load(
            environ={
                "GATEWAY_DATA_DIR": str(tmp_path / "data"),
                "GATEWAY_INTERNAL_URL": await internal_db.create("internal"),
                "GATEWAY_COMMUNITY_URL": await community_db.create("community"),
                "GATEWAY_DEMO_DATA": "true",
            }
        )
        services = build_services(settings)
        await prepare_stores(services)
        try:
            for who in ("guest", "paula@partner.example", "hana@corp.example"):
                result = await run(services, who, SPACES)
                assert result.errors is None
                names = {e["node"]["name"] for e in result.data["spaces"]["edges"]}
                assert names == MATRIX[who], (who, internal, community)
        finally:
            await services.close()
    finally:
        await internal_db.drop_all()
        await community_db.drop_all()
