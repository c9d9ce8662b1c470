"""Public surfaces: each adapter exposes exactly one store class; the schema's knobs work."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import adapters.community
import adapters.internal
from gateway.config import Settings
from gateway.schema import build_schema
from gateway.stores.interface import Store

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("module", "name"),
    [(adapters.internal, "InternalStore"), (adapters.community, "CommunityStore")],
)
def test_adapter_exports_one_store(module: object, name: str) -> None:
    assert module.__all__ == [name]
    public = {n for n in vars(module) if not n.startswith("_")}
    assert public == {name}
    store = getattr(module, name)("sqlite+aiosqlite:///:memory:")
    assert isinstance(store, Store)


def test_introspection_is_a_setting(tmp_path: Path) -> None:
    query = "{ __schema { queryType { name } } }"
    on = build_schema(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)}))
    assert on.execute_sync(query).data == {"__schema": {"queryType": {"name": "Query"}}}
    off = build_schema(
        Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_INTROSPECTION": "0"})
    )
    result = off.execute_sync(query)
    assert result.data is None
    assert "introspection" in result.errors[0].message.lower()


async def test_unexpected_errors_are_masked(tmp_path: Path) -> None:
    schema = build_schema(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)}))
    # A context without stores makes the resolver fail in an unplanned way.
    result = await schema.execute("{ viewer { id } }", context_value=object())
    assert result.errors[0].message == "Unexpected error."


def test_validation_is_cached_across_requests(tmp_path: Path) -> None:
    """The limits are part of the cache key: built per request, every lookup would miss."""
    from strawberry.extensions.validation_cache import _get_validate_cache

    schema = build_schema(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)}))
    cache = _get_validate_cache(256)
    query = "query CacheProbe { __typename }"
    schema.execute_sync(query)
    before = cache.cache_info().hits
    schema.execute_sync(query)
    assert cache.cache_info().hits == before + 1
