"""Loaders shared by many fields: one field failing never takes the others' data with it."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.loaders import Loader

QUERY = "{ a: thing(key: 1) { name broken } b: thing(key: 1) { name } }"


@strawberry.type
class Thing:
    key: int

    @strawberry.field
    async def name(self, info: Info) -> str:
        return await info.context["loader"].load(self.key)

    @strawberry.field
    async def broken(self) -> int:
        raise ValueError("this field always fails")


@strawberry.type
class Query:
    @strawberry.field
    def thing(self, key: int) -> Thing | None:
        return Thing(key=key)


SCHEMA = strawberry.Schema(query=Query)


async def test_a_failing_non_null_field_does_not_cancel_a_shared_key() -> None:
    """``a.broken`` fails in a non-null field, so graphql-core cancels ``a.name`` while it
    waits on key 1; ``b.name`` waits on the same key and must still get it."""
    batches: list[list[int]] = []

    async def fetch(keys: list[int]) -> list[str]:
        batches.append(list(keys))
        await asyncio.sleep(0)  # still pending when the sibling fails
        return [f"thing {k}" for k in keys]

    result = await SCHEMA.execute(QUERY, context_value={"loader": Loader(fetch)})
    assert result.data == {"a": None, "b": {"name": "thing 1"}}
    assert [(e.message, e.path) for e in result.errors or []] == [
        ("this field always fails", ["a", "broken"])
    ]
    assert batches == [[1]], "one batch, one key: both fields shared it"


async def test_a_cancelled_caller_drops_only_its_own_view() -> None:
    release = asyncio.Event()

    async def fetch(keys: list[int]) -> list[str]:
        await release.wait()
        return [f"thing {k}" for k in keys]

    loader: Loader[Any, str] = Loader(fetch)

    async def read() -> str:
        return await loader.load(1)

    first, second = asyncio.create_task(read()), asyncio.create_task(read())
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "thing 1"
    assert first.cancelled()
    assert await loader.load(1) == "thing 1", "the cached value outlives the cancelled caller"
