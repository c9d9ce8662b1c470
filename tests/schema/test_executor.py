"""The lean executor (gateway/schema/executor.py) answers exactly as graphql-core's own.

Two levels: every case the short leaf read must leave to graphql-core (None for a non-null
field, failing coercions, enums, awaitables, null list items, directives, merged fields),
on a small schema of its own, answer for answer and error for error; and generated queries
over the gateway's schema and demo data, as four personas over HTTP, each sent once with the
lean loop and once with graphql-core's, bodies compared whole.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import strawberry
from graphql import execute, parse
from hypothesis_graphql import queries
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.schema import build_schema
from gateway.schema.executor import LeanExecutor
from gateway.schema.field_plans import NOT_READ, _LeafRead, field_plans, leaf_reads
from tests.schema.test_fuzz import SCALARS, drawn

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from pathlib import Path

    from starlette.applications import Starlette


class Colour(enum.Enum):
    RED = "red"


async def _later() -> str:
    return "awaited"


@strawberry.type
class Leaves:
    text: str
    maybe: str | None
    number: int
    ratio: float
    flag: bool
    words: list[str]
    maybe_words: list[str] | None
    holes: list[str | None]
    colour: Colour
    pending: str  # holds a coroutine in one case
    loose_items: list[JSON]
    loose: JSON  # lets any value through: only the short read's own test stops an awaitable

    @strawberry.field
    def computed(self) -> str:
        return self.text.upper()


@dataclass
class Raising:
    """A source whose attribute raises when read."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name} here")


def _leaves(**changes: Any) -> Leaves:
    values: dict[str, Any] = {
        "text": "a",
        "maybe": None,
        "number": 1,
        "ratio": 0.5,
        "flag": True,
        "words": ["x", "y"],
        "maybe_words": None,
        "holes": ["z", None],
        "colour": Colour.RED,
        "pending": "p",
        "loose": "l",
        "loose_items": ["l"],
    }
    values.update(changes)
    return Leaves(**values)


class Shout(str):
    """A str subclass: graphql-core coerces it, the short read leaves it."""


# Each case a source made afresh for each run (a generator is read once).
CASES: dict[str, Callable[[], Any]] = {
    "plain": lambda: _leaves(),
    "non-null None": lambda: _leaves(text=None),
    "int for a String": lambda: _leaves(text=7),
    "too big an Int": lambda: _leaves(number=2**40),
    "a str for an Int": lambda: _leaves(number="1"),
    "an int for a Float": lambda: _leaves(ratio=2),
    "a str subclass": lambda: _leaves(text=Shout("s")),
    "an item None in a non-null list": lambda: _leaves(words=["x", None]),
    "an item of the wrong type": lambda: _leaves(words=["x", object()]),
    "a tuple for a list": lambda: _leaves(words=("x", "y")),
    "a generator for a list": lambda: _leaves(words=(w for w in "xy")),
    "a str for a list": lambda: _leaves(words="xy"),
    "a list for a nullable list": lambda: _leaves(maybe_words=["q"]),
    "an enum that is not one": lambda: _leaves(colour="blue"),
    "an awaitable attribute": lambda: _leaves(pending=_later()),
    "an awaitable for a scalar that takes anything": lambda: _leaves(loose=_later()),
    "a list for a scalar that takes anything": lambda: _leaves(loose=["a", 1]),
    "an awaitable item of a scalar that takes anything": lambda: _leaves(loose_items=[_later()]),
    "an attribute that raises": lambda: Raising(),
    "no object": lambda: None,
}

QUERIES = {
    # Each field once (under a name of its own), so each takes the short read if it can.
    "single": """
query ($skip: Boolean!) {
  leaves {
    text maybe number ratio flag words maybeWords holes colour pending loose looseItems computed
    alias: text
    skipped: number @skip(if: $skip)
    kept: ratio @include(if: $skip)
  }
}
""",
    # The same fields under one name from several selections: graphql-core merges them.
    "merged": """
query ($skip: Boolean!) {
  leaves {
    text pending loose looseItems number @skip(if: $skip)
    ... on Leaves { text words }
    ...More
  }
}
fragment More on Leaves { words number }
""",
}


def _schema_for(
    source: Callable[[], Any], root: type = Leaves, types: Sequence[type] = ()
) -> strawberry.Schema:
    """A toy schema whose one query field (``leaves`` or ``holder``) answers ``source()``
    as a nullable ``root``."""

    def resolve() -> Any:
        return source()

    resolve.__annotations__["return"] = root | None
    name = root.__name__.lower()
    query = strawberry.type(type("Query", (), {name: strawberry.field(resolver=resolve)}))
    return strawberry.Schema(query, types=list(types))


async def _run(schema: strawberry.Schema, executor: type, document: str, skip: bool) -> Any:
    result = execute(
        schema._schema,
        parse(document),
        variable_values={"skip": skip},
        executor_class=executor,
    )
    if hasattr(result, "__await__"):
        result = await result
    errors = sorted(
        (e.message, tuple(e.path or ()), tuple((loc.line, loc.column) for loc in e.locations or ()))
        for e in result.errors or []
    )
    return result.data, errors


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("query", list(QUERIES))
@pytest.mark.parametrize("skip", [True, False])
async def test_each_case_answers_as_graphql_core_does(case: str, query: str, skip: bool) -> None:
    schema = _schema_for(CASES[case])
    lean = await _run(schema, LeanExecutor, QUERIES[query], skip)
    core = await _run(schema, StrawberryGraphQLCoreExecutionContext, QUERIES[query], skip)
    assert lean == core


def test_only_default_resolved_scalar_leaves_are_read_short() -> None:
    schema = _schema_for(CASES["plain"])
    reads = leaf_reads(schema._schema.type_map["Leaves"])  # type: ignore[arg-type]
    short = {name for name, read in reads.items() if read is not None}
    # Not the enum (its own coercion), nor the list with null items, nor a resolver.
    assert short == {
        "text",
        "maybe",
        "number",
        "ratio",
        "flag",
        "words",
        "maybeWords",
        "pending",
        "loose",
        "looseItems",
    }


# --- objects, lists of them and resolvers: the short completion and the direct call ------


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Thing(Named):
    size: int


@strawberry.type
class Stranger:
    name: str


class Deny(BasePermission):
    message = "denied"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


async def _thing_later() -> Thing:
    return Thing(name="later", size=3)


@strawberry.type
class Holder:
    thing: Thing | None
    must: Thing
    things: list[Thing]
    maybe_things: list[Thing] | None
    loose_things: list[Thing | None]
    count: strawberry.Private[Any]
    secret_attr: str = strawberry.field(permission_classes=[Deny], default="hidden")

    @strawberry.field
    def made(self, info: strawberry.Info) -> Thing:
        assert info.field_name == "made"
        return self.must

    @strawberry.field
    def counted(self, root: Holder) -> int:
        return root.count

    @strawberry.field
    def parented(self, parent: strawberry.Parent[Holder]) -> Thing | None:
        return parent.thing

    @strawberry.field(permission_classes=[Deny])
    def secret(self) -> str:
        return "secret"

    @strawberry.field
    def failing(self) -> Thing | None:
        raise RuntimeError("boom")

    @strawberry.field
    async def later(self) -> Thing:
        return await _thing_later()


def _thing(**changes: Any) -> Thing:
    return Thing(**{"name": "t", "size": 1, **changes})


def _holder(**changes: Any) -> Holder:
    values: dict[str, Any] = {
        "thing": _thing(),
        "must": _thing(name="m"),
        "things": [_thing(name="a"), _thing(name="b")],
        "maybe_things": None,
        "loose_things": [_thing(), None],
        "count": 2,
    }
    values.update(changes)
    return Holder(**values)


OBJECT_CASES: dict[str, Callable[[], Any]] = {
    "plain": lambda: _holder(),
    "a nullable object None": lambda: _holder(thing=None),
    "a non-null object None": lambda: _holder(must=None),
    "an object of another type": lambda: _holder(thing=Stranger(name="s")),
    "a non-null object of another type": lambda: _holder(must=Stranger(name="s")),
    "a leaf error inside an object": lambda: _holder(thing=_thing(size="x")),
    "a non-null leaf None inside a non-null object": lambda: _holder(must=_thing(size=None)),
    "an item None in a non-null list": lambda: _holder(things=[_thing(), None]),
    "an item of another type": lambda: _holder(things=[_thing(), Stranger(name="s")]),
    "a leaf error inside an item": lambda: _holder(things=[_thing(), _thing(size="x")]),
    "a non-null leaf None inside an item": lambda: _holder(things=[_thing(size=None)]),
    "an awaitable item": lambda: _holder(things=[_thing(), _thing_later()]),
    "an awaitable object": lambda: _holder(thing=_thing_later()),
    "a tuple of objects": lambda: _holder(things=(_thing(), _thing(name="c"))),
    "a generator of objects": lambda: _holder(things=(t for t in [_thing()])),
    "an object for a list": lambda: _holder(things=_thing()),
    "a list for a nullable list": lambda: _holder(maybe_things=[_thing(name="q")]),
    "a str for a resolved Int": lambda: _holder(count="2"),
    "None for a resolved Int": lambda: _holder(count=None),
    "an exception as a value": lambda: _holder(thing=RuntimeError("a value")),
}

OBJECT_QUERIES = {
    "single": """
query ($skip: Boolean!) {
  holder {
    thing { name size } must { name size } things { name size }
    maybeThings { name } looseThings { name }
    made { name } counted parented { name size } failing { name } later { name size }
    secret secretAttr
    alias: thing { size }
    skipped: must @skip(if: $skip) { name }
    deep: things { ... on Named { name } ... on Thing { size } }
  }
}
""",
    "merged": """
query ($skip: Boolean!) {
  holder {
    thing { name } thing { size } things { name } ...Sizes
    must { name @include(if: $skip) size }
  }
}
fragment Sizes on Holder { things { size } must { name } }
""",
}


@pytest.mark.parametrize("case", list(OBJECT_CASES))
@pytest.mark.parametrize("query", list(OBJECT_QUERIES))
@pytest.mark.parametrize("skip", [True, False])
async def test_each_object_case_answers_as_graphql_core_does(
    case: str, query: str, skip: bool
) -> None:
    answers = []
    for executor in (LeanExecutor, StrawberryGraphQLCoreExecutionContext):
        # Afresh for each run: an awaitable or a generator is used once.
        schema = _schema_for(OBJECT_CASES[case], Holder, [Thing])
        answers.append(await _run(schema, executor, OBJECT_QUERIES[query], skip))
    assert answers[0] == answers[1]


def test_only_what_strawberry_would_only_wrap_is_planned() -> None:
    schema = _schema_for(OBJECT_CASES["plain"], Holder, [Thing])
    plans = field_plans(schema._schema.type_map["Holder"])  # type: ignore[arg-type]
    kinds = {
        name: ("call" if plan.call else "attribute")
        + ("/leaf" if plan.complete_leaf else "/object" if plan.complete_object else "")
        for name, plan in plans.items()
        if plan is not None
    }
    # Not a field with a permission (an extension), nor an async resolver; not the list
    # whose items may be null (an item's own error), completed the ordinary way.
    assert kinds == {
        "thing": "attribute/object",
        "must": "attribute/object",
        "things": "attribute/object",
        "maybeThings": "attribute/object",
        "looseThings": "attribute",
        "made": "call/object",
        "counted": "call/leaf",
        "parented": "call/object",
        "failing": "call/object",
    }


def test_the_page_is_planned_on_the_gateway_schema() -> None:
    """The fields of the benchmark's page take the short ways (a strawberry that named its
    resolvers otherwise would leave them all to graphql-core: slower, not wrong)."""
    schema = build_schema(Settings.load(environ={}))._schema
    planned = {
        f"{kind}.{name}"
        for kind in ("QuestionConnection", "QuestionEdge", "Question", "Person", "Space")
        for name, plan in field_plans(schema.type_map[kind]).items()  # type: ignore[arg-type]
        if plan is not None
    }
    assert {
        "QuestionConnection.edges",
        "QuestionEdge.node",
        "Question.author",
        "Question.space",
        "Question.answerCount",
    } <= planned


def test_the_gateway_schema_runs_on_the_lean_executor() -> None:
    schema = build_schema(Settings.load(environ={}))
    assert schema.execution_context_class is LeanExecutor


# --- generated queries over the gateway, both loops ------------------------------------

PERSONAS = [
    ("guest", None),
    ("mo@customer.example", ["member"]),
    ("paula@partner.example", ["partner"]),
    ("erin@corp.example", ["employee"]),
]
EXAMPLES = 30
# Pages a front end asks for, beside the generated queries (which seldom reach a page).
PAGES = [
    "{ questions(first: 20) { edges { node { title tags answerCount "
    "author { displayName } space { name } } } } }",
    "{ questions(first: 10) { edges { cursor node { id title body tags answered hidden "
    "featured archived createdAt answers(first: 3) { edges { node { id body accepted hidden "
    "createdAt kudos author { displayName handle organisation title email department } } } } "
    "acceptedAnswer { body } } } pageInfo { hasNextPage endCursor } } }",
    "{ spaces(first: 50) { edges { node { id kind store name description visibility tags "
    "archiveExempt memberCount prototypes(first: 5) { edges { node { name version description "
    "feedback(first: 5) { edges { node { rating body createdAt kudos } } } } } } } } } }",
]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "gw"),
            # Off: a cached answer would be the first loop's, whichever runs second.
            "GATEWAY_CACHE_MAX_AGE": "0",
            "GATEWAY_RATE_LIMIT": "off",
        }
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_generated_queries_answer_the_same_on_both_loops(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = build_schema(app.state.services.settings)._schema
    issuer = app.state.services.dev_issuer
    core_loop = StrawberryGraphQLCoreExecutionContext
    lean = (LeanExecutor.execute_fields, LeanExecutor.execute_field)
    core = (core_loop.execute_fields, core_loop.execute_field)
    short_reads = [0]
    read = _LeafRead.__call__

    def counted(self: _LeafRead, source: Any) -> Any:
        value = read(self, source)
        short_reads[0] += value is not NOT_READ
        return value

    monkeypatch.setattr(_LeafRead, "__call__", counted)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    compared = with_data = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        for fixed, (who, roles) in enumerate(PERSONAS):
            headers = {}
            if roles is not None:
                token = issuer.issue(email=who, name=who.split("@")[0], roles=roles)
                headers["Authorization"] = f"Bearer {token}"
            # Queries only: both loops must read the same data.
            generated = drawn(queries(schema, custom_scalars=SCALARS), EXAMPLES, 100 + fixed)
            for query in [*PAGES, *generated]:
                bodies = []
                for fields, field in (lean, core):
                    monkeypatch.setattr(LeanExecutor, "execute_fields", fields)
                    monkeypatch.setattr(LeanExecutor, "execute_field", field)
                    response = await client.post("/graphql", json={"query": query}, headers=headers)
                    bodies.append((response.status_code, response.json()))
                assert bodies[0] == bodies[1], f"{who}: {query}"
                if query in PAGES:  # valid for everyone: a page, whatever it may show
                    assert "errors" not in bodies[0][1], bodies[0][1]
                compared += 1
                with_data += bodies[0][1].get("data") is not None
    assert compared >= len(PERSONAS) * (len(PAGES) + EXAMPLES // 2)
    assert with_data >= compared // 3, "too few generated queries were answered with data"
    assert short_reads[0] >= 3 * compared, "the lean loop hardly read a leaf itself"
