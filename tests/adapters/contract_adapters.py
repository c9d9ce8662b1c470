"""Every adapter the contract suite runs against, and parameter rows drawn from them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.adapters.contract_community import COMMUNITY_ADAPTER
from tests.adapters.contract_internal import INTERNAL_ADAPTER

if TYPE_CHECKING:
    from tests.adapters.contract import Adapter

ADAPTERS: list[Adapter] = [INTERNAL_ADAPTER, COMMUNITY_ADAPTER]


def each(rows: str) -> list[tuple[Any, ...]]:
    """One parameter row per entry of the adapters' ``rows`` lists, led by the adapter."""
    return [(adapter, *row) for adapter in ADAPTERS for row in getattr(adapter, rows)]
