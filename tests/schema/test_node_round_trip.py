"""Every id a caller is given, they can fetch again with ``node(id)``.

Generated from the schema: for each root field that needs no argument (and ``search``), a
selection of every field down to a depth, through every connection; each persona runs
them, every global id in their answers is asked for with ``node``, and must come back as the
same object. Every Node type must have shown up for someone, so none goes untested.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLArgument,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
)

from gateway.schema import build_schema
from tests.personas import PERSONAS, run
from tests.schema.test_invitations import invite
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

DEPTH = 3
# Roots with their arguments: those without required ones, and search with a text.
ARGUMENTS = {"search": '(text: "e")', "spaces": "(first: 50)", "questions": "(first: 50)"}
SKIP_ROOTS = {"node", "space", "question"}  # fetch by id: what is being tested
# Needs a space id; its posts are Questions and Answers, which the other roots reach, and
# tests/schema/test_flags.py fetches them again with node.
SKIP_ROOTS |= {"moderationQueue"}


def _unwrap(t: Any) -> Any:
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return t


def _required(argument: GraphQLArgument) -> bool:
    return isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined


def _selection(t: Any, depth: int) -> str:
    """Every field of ``t`` that takes no required argument, objects to ``depth``."""
    if not isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
        return ""
    parts = ["__typename"]
    for name, field in t.fields.items():
        if any(_required(a) for a in field.args.values()):
            continue
        inner = _unwrap(field.type)
        if isinstance(inner, GraphQLObjectType | GraphQLInterfaceType):
            # A connection and its edges are only the way to a node: they take no depth.
            wrapper = inner.name.endswith(("Connection", "Edge"))
            if depth == 0 and not wrapper:
                continue
            sub = _selection(inner, depth if wrapper else depth - 1)
            if sub:
                parts.append(f"{name} {{ {sub} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def queries(schema: GraphQLSchema) -> dict[str, str]:
    query = schema.query_type
    assert query is not None
    out = {}
    for name, field in query.fields.items():
        if name in SKIP_ROOTS:
            continue
        args = ARGUMENTS.get(name, "")
        required = [a for a, v in field.args.items() if _required(v)]
        assert not required or args, f"{name} needs arguments: add it to ARGUMENTS"
        sub = _selection(_unwrap(field.type), DEPTH)
        out[name] = f"query Probe {{ {name}{args} {{ {sub} }} }}" if sub else ""
    return {k: v for k, v in out.items() if v}


def _ids(value: Any, found: dict[str, str]) -> None:
    """Every (global id, __typename) in an answer."""
    if isinstance(value, dict):
        if isinstance(value.get("id"), str) and value.get("__typename") not in {"Viewer"}:
            found[value["id"]] = value.get("__typename", "?")
        for v in value.values():
            _ids(v, found)
    elif isinstance(value, list):
        for v in value:
            _ids(v, found)


NODE = "query Again($id: ID!) { node(id: $id) { __typename id } }"
ASK = """mutation($i: AskQuestionInput!) { askQuestion(input: $i) { errors { code } } }"""
SPACES = "{ spaces(first: 50) { edges { node { id name } } } }"


async def test_every_id_given_resolves_again_with_node(services: Services) -> None:
    # Its probes select every field of every root list: far over the demo's cost limit.
    services.settings = dataclasses.replace(services.settings, max_cost=10**9)
    # A notification for someone: paula is mentioned where she may read.
    spaces = await run(services, "erin@corp.example", SPACES)
    by_name = {e["node"]["name"]: e["node"]["id"] for e in spaces.data["spaces"]["edges"]}
    mention = {"spaceId": by_name["Aurora prototype feedback"], "title": "Hi", "body": "@paula"}
    asked = await run(services, "erin@corp.example", ASK, {"i": mention})
    assert asked.data["askQuestion"]["errors"] == []

    schema = build_schema(services.settings)._schema
    probes = queries(schema)
    node_types = {
        name
        for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and schema.type_map["Node"] in t.interfaces
    }
    seen_types: set[str] = set()
    broken: list[str] = []
    for who in PERSONAS:
        given: dict[str, str] = {}
        for root, probe in probes.items():
            answer = await run(services, who, probe)
            assert not answer.errors, (who, root, answer.errors)
            _ids(answer.data, given)
        for global_id, type_name in given.items():
            again = await run(services, who, NODE, {"id": global_id})
            assert not again.errors, (who, global_id, again.errors)
            if again.data["node"] != {"__typename": type_name, "id": global_id}:
                broken.append(f"{who}: {type_name} {global_id} -> {again.data['node']}")
        seen_types |= set(given.values())
    assert not broken, "ids given that node() does not answer:\n" + "\n".join(broken)
    assert node_types <= seen_types, f"never given to anyone: {node_types - seen_types}"


async def test_ids_not_given_stay_unanswered(services: Services) -> None:
    """The other way round: a notification is its recipient's, an invitation its space's
    managers', and an author only an author where the caller reads what they wrote."""
    spaces = await run(services, "erin@corp.example", SPACES)
    by_name = {e["node"]["name"]: e["node"]["id"] for e in spaces.data["spaces"]["edges"]}
    mention = {"spaceId": by_name["Aurora prototype feedback"], "title": "Hi", "body": "@paula"}
    assert (await run(services, "erin@corp.example", ASK, {"i": mention})).data
    inbox = await run(
        services, "paula@partner.example", "{ notifications { edges { node { id } } } }"
    )
    [edge] = inbox.data["notifications"]["edges"]
    mine = edge["node"]["id"]
    assert (await run(services, "paula@partner.example", NODE, {"id": mine})).data["node"]
    for who in ("erin@corp.example", "sam@corp.example", "guest"):
        assert (await run(services, who, NODE, {"id": mine})).data["node"] is None, who
    made = await invite(services, "erin@corp.example", (await space_ids(services))[AURORA])
    invitation = made["invitation"]["id"]
    assert (await run(services, "erin@corp.example", NODE, {"id": invitation})).data["node"]
    for who in ("paula@partner.example", "guest", "mo@customer.example", "tara@customer.example"):
        assert (await run(services, who, NODE, {"id": invitation})).data["node"] is None, who
