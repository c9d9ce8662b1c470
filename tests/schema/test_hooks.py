"""The extension hooks found once per class (gateway/schema/hooks.py) run as strawberry's own:
the same hooks of the gateway's schemas, and on a toy schema with every kind of hook, the
same events in the same order and the same answer, errors included."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from gateway.config import Settings
from gateway.schema import build_admin_schema, build_schema
from gateway.schema.handling import Schema
from gateway.schema.hooks import LeanExtensionsRunner

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

STAGES = ("operation", "parsing", "validation", "executing")


def _hooks(runner: SchemaExtensionsRunner, stage: str) -> list[tuple[Any, bool]]:
    context = getattr(runner, stage)()
    return [(hook.extension, hook.is_async) for hook in context.hooks]


@pytest.mark.parametrize("build", [build_schema, build_admin_schema])
def test_the_gateway_schemas_hooks_are_strawberrys(build: Any) -> None:
    schema = build(Settings.load(environ={}))
    extensions = schema.get_extensions()
    context = ExecutionContext(query="{ __typename }", schema=schema, allowed_operations=())
    lean = schema.create_extensions_runner(context, extensions)
    assert isinstance(lean, LeanExtensionsRunner)
    plain = SchemaExtensionsRunner(execution_context=context, extensions=extensions)
    found = 0
    for stage in STAGES:
        hooks = _hooks(lean, stage)
        assert hooks == _hooks(plain, stage), stage
        found += len(hooks)
    assert found >= 8  # the gateway's own and strawberry's limiters and caches


EVENTS: list[str] = []


class Generator(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        EVENTS.append("generator operation in")
        yield
        EVENTS.append("generator operation out")

    def on_execute(self) -> Iterator[None]:
        EVENTS.append("generator execute in")
        yield
        EVENTS.append(f"generator execute out {self.execution_context.result is not None}")


class AsyncGenerator(SchemaExtension):
    async def on_parse(self) -> AsyncIterator[None]:
        EVENTS.append("async parse in")
        yield
        EVENTS.append("async parse out")

    async def on_execute(self) -> AsyncIterator[None]:
        EVENTS.append("async execute in")
        yield
        EVENTS.append("async execute out")


class Plain(SchemaExtension):
    def on_validate(self) -> None:  # type: ignore[override]
        EVENTS.append("plain validate")


class AsyncPlain(SchemaExtension):
    async def on_validate(self) -> None:  # type: ignore[override]
        EVENTS.append("async plain validate")


class FailsAfterExecution(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        yield
        if "fail" in (self.execution_context.query or ""):
            raise RuntimeError("failed after execution")


class Subclass(Generator):
    """Inherits both hooks: found through the class, as strawberry finds them."""


class Swallows(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        EVENTS.append("swallows in")
        try:
            yield
        except RuntimeError:
            EVENTS.append("swallowed")


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        EVENTS.append("resolver")
        return "world"

    @strawberry.field
    def fail(self) -> str:
        return "never seen: an extension fails after it"


EXTENSIONS = [Swallows, Generator, AsyncGenerator, Plain, AsyncPlain, FailsAfterExecution, Subclass]


async def _answer(schema_class: type[strawberry.Schema], query: str) -> tuple[Any, list[str]]:
    EVENTS.clear()
    schema = schema_class(Query, extensions=EXTENSIONS)
    result = await schema.execute(query)
    errors = [(e.message, e.path) for e in result.errors or []]
    return (result.data, errors, result.extensions), list(EVENTS)


@pytest.mark.parametrize("query", ["{ hello }", "{ fail }", "{ nope }", "{ hello"])
async def test_every_kind_of_hook_runs_as_strawberrys(query: str) -> None:
    lean = await _answer(Schema, query)
    # strawberry's own runner on the same schema class: only the runner differs.
    original = Schema.create_extensions_runner
    try:
        Schema.create_extensions_runner = strawberry.Schema.create_extensions_runner  # type: ignore[method-assign]
        plain = await _answer(Schema, query)
    finally:
        Schema.create_extensions_runner = original  # type: ignore[method-assign]
    assert lean == plain
    assert len(lean[1]) >= 6  # the hooks ran


async def test_a_hook_that_is_not_callable_is_refused_as_strawberry_refuses_it() -> None:
    class Broken(SchemaExtension):
        on_execute = "not a hook"  # type: ignore[assignment]

    schema = Schema(Query, extensions=[Broken])
    context = ExecutionContext(query="{ hello }", schema=schema, allowed_operations=())
    runner = schema.create_extensions_runner(context, schema.get_extensions())
    with pytest.raises(ValueError, match="must be callable"):
        runner.executing()
