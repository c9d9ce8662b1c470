"""A schema clients can read: every public type, field, argument, input field and enum value
has a description (what a code generator and GraphiQL show a front-end developer), ids are
``ID``s, and every object with an id is a ``Node``."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)

from gateway.config import Settings
from gateway.schema import build_schema

# GraphQL's own scalars: graphql-core describes them.
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
# Objects with an id that are not Nodes, and why: the viewer is who asks (its id is the
# principal's, as the policy and the audit log name it), not an object to fetch again.
NOT_NODES = {"Viewer": "who asks, not an object: its id is the principal id"}


def _public() -> GraphQLSchema:
    return build_schema(Settings.load(environ={}))._schema


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Everything a client sees that says nothing about itself."""
    missing: list[str] = []
    for name, named in schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not (named.description or "").strip():
            missing.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not (arg.description or "").strip():
                        missing.append(f"{name}.{field_name}({arg_name}:)")
        if isinstance(named, GraphQLEnumType):
            missing.extend(
                f"{name}.{value_name}"
                for value_name, value in named.values.items()
                if not (value.description or "").strip()
            )
    return missing


def test_every_public_type_field_argument_and_value_has_a_description() -> None:
    missing = undescribed(_public())
    assert not missing, f"no description (add description=...): {', '.join(missing)}"


def test_the_walk_finds_what_lacks_a_description() -> None:
    """The walk above is no walk that passes anything: a bare type, field, argument and
    enum value are each found."""
    from graphql import build_schema as parse_sdl

    sdl = """
    "Described." type Query { "Described." ok(a: Int): Bare, bare: Int }
    type Bare { "Described." x: E }
    "Described." enum E { "Described." A B }
    """
    assert undescribed(parse_sdl(sdl)) == ["Query.ok(a:)", "Query.bare", "Bare", "E.B"]


def _named(t: object) -> GraphQLNamedType:
    while hasattr(t, "of_type"):
        t = t.of_type  # type: ignore[attr-defined]
    assert isinstance(t, GraphQLNamedType)
    return t


def test_every_id_is_an_id_and_every_object_with_one_is_a_node() -> None:
    schema = _public()
    node = schema.type_map["Node"]
    for name, named in schema.type_map.items():
        if name.startswith("__") or not isinstance(named, GraphQLObjectType):
            continue
        for field_name, field in named.fields.items():
            if field_name == "id" or field_name.endswith("Id"):
                assert _named(field.type).name == "ID", f"{name}.{field_name} is not an ID"
        if "id" in named.fields and name not in NOT_NODES:
            assert node in named.interfaces, f"{name} has an id but is not a Node"
            assert isinstance(named.fields["id"].type, GraphQLNonNull)


def test_one_enum_per_closed_set() -> None:
    schema = _public()
    values: dict[frozenset[str], list[str]] = {}
    for name, named in schema.type_map.items():
        if isinstance(named, GraphQLEnumType) and not name.startswith("__"):
            values.setdefault(frozenset(named.values), []).append(name)
    assert [names for names in values.values() if len(names) > 1] == []
    visibility = schema.type_map["Space"].fields["visibility"].type  # type: ignore[attr-defined]
    assert _named(visibility).name == "Visibility"
    assert isinstance(schema.type_map["Visibility"], GraphQLEnumType)


def test_custom_scalars_say_what_they_are() -> None:
    for name, named in _public().type_map.items():
        if isinstance(named, GraphQLScalarType) and name not in BUILT_IN:
            assert named.specified_by_url, f"{name} has no @specifiedBy"
