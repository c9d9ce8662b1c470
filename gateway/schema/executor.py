"""graphql-core's executor with a shorter path for the commonest field: an attribute read.

A page of 20 questions is 162 fields, and half of them are leaves with no resolver of their
own (``title``, ``tags``, ``displayName``, ``name``). graphql-core runs each one through
``execute_field``: a ``Path``, a resolve info (strawberry's, 15 values), strawberry's
``_get_basic_result`` and ``get_result``, ``complete_value`` three levels deep and the leaf's
coercion, about 25 calls to read one attribute. :class:`LeanExecutor` reads such a leaf
itself inside ``execute_fields``: the attribute, then the scalar's ``coerce_output_value``,
for each item when it is a list of them.

It takes that path only when the answer is sure to be the one graphql-core would give: a
plain value that coerces to a value (or None for a nullable field). Anything else (None for
a non-null field, an exception, a coercion that fails or returns nothing, an awaitable, an
item that is None, a field with directives or middleware on the schema) goes the ordinary
way, which reads the attribute again (a pure read: strawberry's default resolver is
``getattr``) and reports the error exactly as graphql-core does. ``tests/schema/test_executor.py``
holds the two executors to the same answers and errors, for generated queries over the
gateway's schema and for each of those cases.

Not a public API of graphql-core: ``execute_fields`` below is its 3.3 body with the leaf
read added, and strawberry pins graphql-core to 3.3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.execution.executor import gather_with_cancel
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql.execution.collect_fields import GroupedFieldSet
    from graphql.pyutils import AwaitableOrValue

__all__ = ["LeanExecutor", "leaf_reads"]

# How strawberry marks the resolver of a field with none of its own.
_DEFAULT_MARK = "_is_default"
# Values whose coercion cannot be an awaitable's: no is_awaitable check needed.
_PLAIN = frozenset({str, int, float, bool})
# Where strawberry keeps a field's definition on graphql-core's.
_BACKREF = "strawberry-definition"
_NOT_READ = object()


class _LeafRead:
    """How to read one leaf field of one object type without graphql-core's machinery."""

    __slots__ = ("attribute", "coerce", "is_list", "nullable", "read")

    def __init__(
        self,
        read: Callable[[Any, str], Any],
        attribute: str,
        coerce: Callable[[Any], Any],
        *,
        nullable: bool,
        is_list: bool,
    ) -> None:
        self.read, self.attribute, self.coerce = read, attribute, coerce
        self.nullable, self.is_list = nullable, is_list

    def __call__(self, source: Any) -> Any:
        """The field's completed value, or ``_NOT_READ`` for graphql-core to work out."""
        try:
            value = self.read(source, self.attribute)
            if value is None:
                return None if self.nullable else _NOT_READ
            coerce = self.coerce
            if not self.is_list:
                if value.__class__ not in _PLAIN:
                    return _NOT_READ  # an enum, a time, an awaitable...: the ordinary way
                coerced = coerce(value)
                return _NOT_READ if coerced is None or coerced is Undefined else coerced
            if value.__class__ is not list and value.__class__ is not tuple:
                return _NOT_READ
            completed = []
            for item in value:
                if item.__class__ not in _PLAIN:
                    return _NOT_READ
                coerced = coerce(item)
                if coerced is None or coerced is Undefined:
                    return _NOT_READ
                completed.append(coerced)
            return completed
        except Exception:  # graphql-core reports it, with its path
            return _NOT_READ


def _leaf_read(field_def: Any) -> _LeafRead | None:
    """The short read of a field, when it is a leaf (or a list of them) with strawberry's
    default resolver; None for every other field."""
    resolve = field_def.resolve
    strawberry_field = (field_def.extensions or {}).get(_BACKREF)
    if (
        resolve is None
        or not getattr(resolve, _DEFAULT_MARK, False)
        or strawberry_field is None
        or strawberry_field.default_resolver is not getattr
        or field_def.args
    ):
        return None
    kind = field_def.type
    nullable = not isinstance(kind, GraphQLNonNull)
    if not nullable:
        kind = kind.of_type
    is_list = isinstance(kind, GraphQLList)
    if is_list:
        kind = kind.of_type
        if not isinstance(kind, GraphQLNonNull):
            return None  # a null item has an error of its own: graphql-core's to report
        kind = kind.of_type
    if not isinstance(kind, GraphQLScalarType) or isinstance(kind, GraphQLEnumType):
        return None
    return _LeafRead(
        getattr,
        strawberry_field.python_name,
        kind.coerce_output_value,
        nullable=nullable,
        is_list=is_list,
    )


def leaf_reads(object_type: GraphQLObjectType) -> dict[str, _LeafRead | None]:
    """The short reads of an object type's fields, by field name (worked out once per
    type: the schema does not change)."""
    found: dict[str, _LeafRead | None] | None = object_type.__dict__.get("_gateway_leaf_reads")
    if found is None:
        found = {name: _leaf_read(field) for name, field in object_type.fields.items()}
        object_type._gateway_leaf_reads = found  # type: ignore[attr-defined]
    return found


class LeanExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, reading leaf attributes directly (see the module)."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        manager = self.middleware_manager
        # Middleware wraps every resolver: none skipped. (strawberry always hands over a
        # manager, with no middleware unless an extension resolves.)
        if manager is not None and manager.middlewares:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        reads = leaf_reads(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        append_awaitable = awaitable_fields.append
        try:
            for response_name, field_details_list in grouped_field_set.items():
                if len(field_details_list) == 1:
                    node = field_details_list[0].node
                    read = reads.get(node.name.value)
                    if read is not None and not node.directives:
                        value = read(source_value)
                        if value is not _NOT_READ:
                            results[response_name] = value
                            continue
                # graphql-core's own loop from here (Executor.execute_fields).
                field_path = Path(path, response_name, parent_type.name)
                result = self.execute_field(
                    parent_type, source_value, field_details_list, field_path, position_context
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        append_awaitable(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited_results = await gather_with_cancel(
                    *(results[field] for field in awaitable_fields)
                )
                results.update(zip(awaitable_fields, awaited_results, strict=True))
            return results

        return get_results()
