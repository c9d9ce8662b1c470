"""Leak test over the whole schema: every field, generated from the schema itself.

For each persona without access, a query selecting every field reachable from
every root list (and node lookups of every hidden id) must not contain a single
string that only a privileged reader may see. A field added later is in the query
automatically, so it is covered the day it is written.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
)

from gateway.cli import demo_principal
from gateway.domain import ids
from gateway.domain.demo import PEOPLE, SPACES
from gateway.domain.demo_records import FLAGS
from gateway.domain.model import StoreName, Visibility
from gateway.records import Outcome
from gateway.schema import build_schema
from gateway.schema.context import build_context
from tests.personas import run

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend


def _unwrap(gtype: Any) -> Any:
    while isinstance(gtype, (GraphQLNonNull, GraphQLList)):
        gtype = gtype.of_type
    return gtype


def selection(schema: GraphQLSchema, gtype: Any, depth: int, prefix: str = "") -> str:
    """Every field of ``gtype`` down to ``depth`` levels (fields needing arguments skipped).

    Inside an interface's fragments every field gets a per-type alias, since GraphQL does
    not let ``Question.title: String!`` and ``Person.title: String`` share a response key.
    """
    gtype = _unwrap(gtype)
    if isinstance(gtype, GraphQLInterfaceType):
        parts = ["__typename", "id"]
        for impl in schema.get_implementations(gtype).objects:
            inner = selection(schema, impl, depth, prefix=f"{impl.name}_")
            parts.append(f"... on {impl.name} {{ {inner} }}")
        return " ".join(parts)
    parts = []
    for name, field in gtype.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            continue
        inner = _unwrap(field.type)
        if isinstance(inner, (GraphQLObjectType, GraphQLInterfaceType)):
            if depth > 0:
                parts.append(f"{prefix}{name}: {name} {{ {selection(schema, inner, depth - 1)} }}")
        else:
            parts.append(f"{prefix}{name}: {name}")
    return " ".join(parts) or "__typename"


def _secrets_for(who: str) -> set[str]:
    """Strings the persona must never receive, from the demo data set."""
    principal = demo_principal(who, ())
    employee = "employee" in principal.roles
    hidden_spaces = {
        s.slug
        for s in SPACES
        if s.visibility is Visibility.RESTRICTED
        and not any(m.handle == who.split("@")[0] for m in s.members)
    }
    if not employee:
        hidden_spaces |= {
            s.slug
            for s in SPACES
            if s.visibility in {Visibility.OPEN, Visibility.TRUSTED, Visibility.MEMBERS}
            and not ("contractor" in principal.roles and s.visibility is Visibility.OPEN)
            and not ("member" in principal.roles and s.visibility is Visibility.MEMBERS)
            and not ("trusted_customer" in principal.roles and s.visibility is Visibility.TRUSTED)
        }
    secrets: set[str] = set()
    for space in SPACES:
        if space.slug in hidden_spaces:
            secrets |= {space.name, space.description}
            for q in space.questions:
                secrets |= {q.title, q.body, *(a.body for a in q.answers)}
    # No external moderates a space: archived questions and every flag's note stay unseen.
    for space in SPACES:
        for q in space.questions:
            if q.archived:
                secrets |= {q.title, q.body, *(a.body for a in q.answers)}
    secrets |= {f.note for f in FLAGS if f.note}
    if not employee:
        for space in SPACES:
            for prototype in space.prototypes:
                secrets |= {f.internal_note for f in prototype.feedback if f.internal_note}
        me = who.lower()
        secrets |= {p.email for p in PEOPLE if "employee" in p.roles and p.email != me}
        if "contractor" not in principal.roles:
            secrets |= {p.department for p in PEOPLE if p.department}
    return {s for s in secrets if s}


def _hidden_slugs(who: str) -> set[str]:
    """Spaces whose names are among the persona's secrets."""
    secret = _secrets_for(who)
    return {s.slug for s in SPACES if s.name in secret}


async def _mention_everyone_everywhere(services: Services) -> dict[str, str]:
    """In every space, a question by an employee who may read it that @mentions every
    external persona; returns each space's probe title."""
    handles = " ".join(f"@{who.split('@')[0]}" for who in EXTERNALS if who != "guest")
    query = "{ spaces(first: 100) { edges { node { id name } } } }"
    titles: dict[str, str] = {}
    for author in ("erin@corp.example", "hana@corp.example"):
        result = await run(services, author, query)
        for edge in result.data["spaces"]["edges"]:
            slug = next(s.slug for s in SPACES if s.name == edge["node"]["name"])
            if slug in titles:
                continue
            titles[slug] = f"Mention probe in {slug}"
            asked = await run(
                services,
                author,
                """mutation($i: AskQuestionInput!) {
                     askQuestion(input: $i) { question { id } errors { code } } }""",
                {"i": {"spaceId": edge["node"]["id"], "title": titles[slug], "body": handles}},
            )
            assert asked.data["askQuestion"]["errors"] == [], asked.data
    return titles


EXTERNALS = (
    "guest",
    "mo@customer.example",
    "tara@customer.example",
    "paula@partner.example",
    "carl@contractor.example",
)


async def _hidden_ids(services: Services) -> list[str]:
    """Global ids of every space, question and answer, seen by employees who can see them."""
    query = """{ spaces(first: 100) { edges { node { id
        prototypes { edges { node { id feedback { edges { node { id } } } } } }
        questions(first: 100) { edges { node {
        id answers(first: 100) { edges { node { id author { id } } } } } } } } } } }"""
    # Archived questions, and their answers, as a moderator lists them.
    archived = """{ questions(archived: true, first: 100) { edges { node {
        id answers(first: 100) { edges { node { id } } } } } } }"""
    found: list[str] = []
    # Every id there is: far over the default cost limit, which is not what this tests.
    schema = build_schema(dataclasses.replace(services.settings, max_cost=10**9))
    for who, read in (
        ("erin@corp.example", query),
        ("hana@corp.example", query),
        ("mia@corp.example", archived),
    ):
        context = await build_context(services, demo_principal(who, ()))
        result = await schema.execute(read, context_value=context)
        assert result.errors is None, result.errors
        text = json.dumps(result.data)
        found.extend(part.split('"')[0] for part in text.split('"id": "')[1:])
    return sorted(set(found))


@pytest.mark.parametrize("who", EXTERNALS)
async def test_no_field_leaks_to_externals(services: Services, who: str) -> None:
    settings = dataclasses.replace(
        services.settings,
        max_tokens=400_000,
        max_depth=40,
        max_aliases=400_000,  # the node lookups of every hidden id, each selecting every type
        max_expanded_fields=1_000_000,
        max_cost=10**9,
    )
    schema = build_schema(settings)
    gql = schema._schema
    query_type = gql.query_type
    roots = []
    for name, field in query_type.fields.items():
        if name in {"spaces", "questions", "notifications", "experts"}:
            roots.append(f"{name}(first: 100) {{ {selection(gql, field.type, 8)} }}")
        elif name == "viewer":
            roots.append(f"viewer {{ {selection(gql, field.type, 1)} }}")
    words = ["aurora", "falcon", "salary", "calibration", "launch", "release", "sensor", "e"]
    for i, word in enumerate(words):
        roots.append(
            f'search{i}: search(text: "{word}", first: 100) '
            f"{{ {selection(gql, query_type.fields['search'].type, 6)} }}"
        )
    for i, node_id in enumerate(await _hidden_ids(services)):
        roots.append(
            f'n{i}: node(id: "{node_id}") {{ {selection(gql, query_type.fields["node"].type, 3)} }}'
        )
        if ids.decode(node_id).type_name == "Space":  # fields with a required space id
            queue = query_type.fields["moderationQueue"].type
            roots.append(
                f'q{i}: moderationQueue(spaceId: "{node_id}", first: 100) '
                f"{{ {selection(gql, queue, 4)} }}"
            )
    probes = await _mention_everyone_everywhere(services)
    context = await build_context(services, demo_principal(who, ()))
    result = await schema.execute("{ " + " ".join(roots) + " }", context_value=context)
    assert result.errors is None, result.errors[:3]
    text = json.dumps(result.data, ensure_ascii=False)
    secrets = _secrets_for(who) | {
        title for slug, title in probes.items() if slug in _hidden_slugs(who)
    }
    assert secrets, "the test must have something to look for"
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, f"{who} received: {leaked}"
    # ...and the query really did reach content: it is not passing by returning nothing.
    assert "Sensor will not pair" in text


def test_the_secrets_include_what_matters() -> None:
    secrets = _secrets_for("paula@partner.example")
    assert "Salary review calibration" in secrets
    assert "Falcon conflict resolution design" in secrets
    assert "Customer is a renewal risk; prioritise pairing." in secrets
    assert "erin@corp.example" in secrets
    assert "Aurora battery spec?" not in secrets  # paula is invited to Aurora


_DEFAULTS = {"String": "x", "Int": 3, "Boolean": False}
# Valid values for fields whose type alone does not say what is valid: the refusal must
# come from the target lookup, not from the input checks that run before it.
_BY_NAME = {
    "email": "newcomer@partner.example",
    "role": "GUEST",
    "expiresAt": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    "personId": ids.encode("Person", StoreName.INTERNAL, "1"),
    "reason": "SPAM",  # flagPost's FlagReason (and a valid reason for hidePost)
    "action": "KEEP",  # resolveFlags's FlagResolution
    "spaceId": ids.encode("Space", StoreName.INTERNAL, "1"),
}


def _mutation_inputs(
    gql: GraphQLSchema,
) -> dict[str, tuple[str, tuple[str, ...], dict[str, Any]]]:
    """Per mutation aimed at an existing object: its target id field (the first ``...Id``),
    the node type that field names, and an input where every other field is valid."""
    found = {}
    for name, field in gql.mutation_type.fields.items():
        input_type = _unwrap(field.args["input"].type)
        target = next((f for f in input_type.fields if f.endswith("Id")), None)
        if target is None:
            continue  # it creates something new (createSpace): nothing hidden to aim at
        values: dict[str, Any] = {}
        for fname, ffield in input_type.fields.items():
            if fname == target:
                continue
            if fname in _BY_NAME:
                values[fname] = _BY_NAME[fname]
            elif isinstance(ffield.type, GraphQLNonNull):
                inner = _unwrap(ffield.type)
                is_list = isinstance(ffield.type.of_type, GraphQLList)
                values[fname] = [] if is_list else _DEFAULTS[inner.name]
        kinds = {"postId": ("Question", "Answer")}.get(target, (target[0].upper() + target[1:-2],))
        found[name] = (target, kinds, values)
    return found


@pytest.mark.parametrize("who", EXTERNALS)
async def test_mutations_on_hidden_targets_answer_like_missing_ones(
    services: Services, who: str
) -> None:
    """Every mutation, aimed at every object the persona cannot see, answers exactly as for
    an id that does not exist, and writes nothing."""
    gql = build_schema(services.settings)._schema
    inputs = _mutation_inputs(gql)
    assert {
        "askQuestion",
        "answerQuestion",
        "acceptAnswer",
        "postFeedback",
        "inviteToSpace",
        "removeMember",
        "revokeInvitation",
        "hidePost",
        "featurePost",
        "flagPost",
        "resolveFlags",
        "restoreQuestion",
        "setArchiveExempt",
    } <= set(inputs)
    visible = "query($id: ID!) { node(id: $id) { id } }"
    tried = 0
    for node_id in await _hidden_ids(services):
        if (await run(services, who, visible, {"id": node_id})).data["node"] is not None:
            continue
        ref = ids.decode(node_id)
        missing = ids.encode(ref.type_name, ref.store, "999999")
        for mutation, (target, type_names, values) in inputs.items():
            if ref.type_name not in type_names:
                continue
            query = (
                f"mutation($i: {_unwrap(gql.mutation_type.fields[mutation].args['input'].type)}!)"
                f" {{ {mutation}(input: $i) {{ errors {{ code message field }} }} }}"
            )
            hidden = await run(services, who, query, {"i": {**values, target: node_id}})
            absent = await run(services, who, query, {"i": {**values, target: missing}})
            assert hidden.errors is None and absent.errors is None
            assert hidden.data == absent.data, (who, mutation, node_id)
            assert hidden.data[mutation]["errors"], (who, mutation)
            tried += 1
    assert tried > 0
    written = await services.records.entries(actor=demo_principal(who, ()).id)
    assert [e for e in written if e.outcome is not Outcome.DENIED] == []
