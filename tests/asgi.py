"""The gateway app in the test's own process, its lifespan run, behind httpx's ASGI transport."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette


@contextlib.asynccontextmanager
async def lifespan_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` between its start-up and its shutdown."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield c
