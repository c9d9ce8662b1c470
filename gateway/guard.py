"""Turning a store's failures into :class:`StoreDown`, so one dead store never hides the other."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import StoreDown
from gateway.stores import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from gateway.domain import StoreName

log = logging.getLogger("gateway.stores")
T = TypeVar("T")

STORE_FAILURES = (SQLAlchemyError, OSError, StoreUnavailable, asyncio.TimeoutError)


async def guarded(store: StoreName, call: Awaitable[T]) -> T:
    """Await a store call; a connection or database failure becomes StoreDown(store)."""
    try:
        return await call
    except STORE_FAILURES as exc:
        log.warning("%s store failed: %s", store.value, exc.__class__.__name__, exc_info=exc)
        raise StoreDown(store.value) from exc
