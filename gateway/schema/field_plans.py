"""How :class:`gateway.schema.executor.LeanExecutor` gets and completes a field short.

Worked out once per object type of the schema (it does not change) and kept on graphql-core's
type: for each field, whether it is read as an attribute or through a resolver strawberry
would only wrap, and whether its values complete as plain scalars or as objects. Every
value short of a sure one answers ``NOT_READ``, before anything below it ran: the executor
then goes graphql-core's way. The executor's module says why and how this is held equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.pyutils import Path, Undefined
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = ["NOT_READ", "ObjectCompletion", "field_plans", "leaf_reads"]

# What strawberry names the resolvers it makes (GraphQLCoreConverter.from_resolver): one for
# a field with neither a resolver, extensions nor exception handlers, one for a sync resolver.
_BASIC_RESOLVER = "GraphQLCoreConverter.from_resolver.<locals>._get_basic_result"
_SYNC_RESOLVER = "GraphQLCoreConverter.from_resolver.<locals>._resolver"
# The is_type_of strawberry makes for an object type with interfaces: an isinstance check
# that never reads its resolve info.
_STRAWBERRY_IS_TYPE_OF = (
    "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of"
)
# Values whose coercion cannot be an awaitable's: no is_awaitable check needed.
_PLAIN = frozenset({str, int, float, bool})
# Where strawberry keeps a field's definition on graphql-core's.
_BACKREF = "strawberry-definition"
NOT_READ = object()


class _LeafCompletion:
    """How to complete a value of a scalar type (or a list of them) without
    ``complete_value``: the scalar's own coercion, when the value is a plain one."""

    __slots__ = ("coerce", "is_list", "nullable")

    def __init__(self, coerce: Callable[[Any], Any], *, nullable: bool, is_list: bool) -> None:
        self.coerce, self.nullable, self.is_list = coerce, nullable, is_list

    def __call__(self, value: Any) -> Any:
        """The completed value, or ``NOT_READ`` for graphql-core to work out."""
        try:
            if value is None:
                return None if self.nullable else NOT_READ
            coerce = self.coerce
            if not self.is_list:
                if value.__class__ not in _PLAIN:
                    return NOT_READ  # an enum, a time, an awaitable...: the ordinary way
                coerced = coerce(value)
                return NOT_READ if coerced is None or coerced is Undefined else coerced
            if value.__class__ is not list and value.__class__ is not tuple:
                return NOT_READ
            completed = []
            for item in value:
                if item.__class__ not in _PLAIN:
                    return NOT_READ
                coerced = coerce(item)
                if coerced is None or coerced is Undefined:
                    return NOT_READ
                completed.append(coerced)
            return completed
        except Exception:  # graphql-core reports it, with its path
            return NOT_READ


def _leaf_completion(kind: Any) -> _LeafCompletion | None:
    """The short completion of values of a field's type, when it is a scalar (not an enum)
    or a list of non-null ones; None for every other type."""
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
    return _LeafCompletion(kind.coerce_output_value, nullable=nullable, is_list=is_list)


class _LeafRead:
    """How to read one leaf field of one object type without graphql-core's machinery."""

    __slots__ = ("attribute", "complete")

    def __init__(self, attribute: str, complete: _LeafCompletion) -> None:
        self.attribute, self.complete = attribute, complete

    def __call__(self, source: Any) -> Any:
        """The field's completed value, or ``NOT_READ`` for graphql-core to work out."""
        try:
            value = getattr(source, self.attribute)
        except Exception:  # graphql-core reports it, with its path
            return NOT_READ
        return self.complete(value)


def _closure(function: Any, name: str) -> Any:
    """A value ``function`` closes over, by name (``NOT_READ`` when it has none such)."""
    names = getattr(getattr(function, "__code__", None), "co_freevars", ())
    if name not in names:
        return NOT_READ
    return function.__closure__[names.index(name)].cell_contents


def _strawberry_field(field_def: Any, resolver_name: str) -> StrawberryField | None:
    """strawberry's field behind graphql-core's, when strawberry resolves it with the
    wrapper named ``resolver_name`` and the field's ``get_result`` is strawberry's own;
    else None."""
    resolve = field_def.resolve
    strawberry_field = (field_def.extensions or {}).get(_BACKREF)
    if (
        resolve is None
        or getattr(resolve, "__qualname__", None) != resolver_name
        or not isinstance(strawberry_field, StrawberryField)
        or type(strawberry_field).get_result is not StrawberryField.get_result
    ):
        return None
    return strawberry_field


def _attribute_field(field_def: Any) -> Any:
    """strawberry's field when graphql-core's field is read as an attribute of its source
    (strawberry's basic resolver, the default getattr, no arguments); else None."""
    strawberry_field = _strawberry_field(field_def, _BASIC_RESOLVER)
    if (
        strawberry_field is None
        or strawberry_field.base_resolver is not None
        or strawberry_field.extensions
        or strawberry_field.default_resolver is not getattr
        or field_def.args
    ):
        return None
    return strawberry_field


def _leaf_read(field_def: Any) -> _LeafRead | None:
    """The short read of a field, when it is a leaf (or a list of them) read as an attribute;
    None for every other field."""
    strawberry_field = _attribute_field(field_def)
    complete = _leaf_completion(field_def.type) if strawberry_field is not None else None
    if complete is None:
        return None
    return _LeafRead(strawberry_field.python_name, complete)


def leaf_reads(object_type: GraphQLObjectType) -> dict[str, _LeafRead | None]:
    """The short reads of an object type's fields, by field name (worked out once per
    type: the schema does not change)."""
    found: dict[str, _LeafRead | None] | None = object_type.__dict__.get("_gateway_leaf_reads")
    if found is None:
        found = {name: _leaf_read(field) for name, field in object_type.fields.items()}
        object_type._gateway_leaf_reads = found  # type: ignore[attr-defined]
    return found


class _Call:
    """A strawberry resolver of a sync function whose only parameters are ``self``,
    ``root``/``parent`` and ``info``, called as strawberry's own ``_resolver`` would (its
    ``get_arguments`` has nothing to convert, and no extension to chain)."""

    __slots__ = ("field", "func", "info_class", "info_name", "pass_self", "source_names")

    def __init__(self, field: StrawberryField, info_class: type) -> None:
        resolver = field.base_resolver
        assert resolver is not None
        self.field, self.info_class = field, info_class
        self.func = cast("Callable[..., Any]", resolver.wrapped_func)  # checked callable
        self.pass_self = resolver.self_parameter is not None
        self.source_names = tuple(
            parameter.name
            for parameter in (resolver.parent_parameter, resolver.root_parameter)
            if parameter is not None
        )
        info_parameter = resolver.info_parameter
        self.info_name = info_parameter.name if info_parameter is not None else None

    def __call__(self, source: Any, info: Any) -> Any:
        kwargs = dict.fromkeys(self.source_names, source)
        if self.info_name is not None:
            kwargs[self.info_name] = self.info_class(_raw_info=info, _field=self.field)
        if self.pass_self:
            return self.func(source, **kwargs)
        return self.func(**kwargs)


def _call(field_def: Any) -> _Call | None:
    """The direct call of a field's resolver, when strawberry's wrapper around it would
    only build its Info and pass it on; None for every other field."""
    resolve = field_def.resolve
    strawberry_field = _strawberry_field(field_def, _SYNC_RESOLVER)
    if (
        strawberry_field is None
        or strawberry_field.extensions
        or strawberry_field.is_async
        or field_def.args
        or _closure(resolve, "field_exception_handlers") != ()
    ):
        return None
    resolver = strawberry_field.base_resolver
    if (
        resolver is None
        or type(resolver).__call__ is not StrawberryResolver.__call__
        or not callable(resolver.wrapped_func)
        or resolver.arguments
        or strawberry_field.arguments
    ):
        return None
    make_info = _closure(resolve, "_strawberry_info_from_graphql")
    converter = _closure(make_info, "self")
    if _closure(make_info, "field") is not strawberry_field or converter is NOT_READ:
        return None
    # Every parameter must be one get_arguments fills from the source or the info.
    reserved = {
        parameter
        for parameter in (
            resolver.self_parameter,
            resolver.parent_parameter,
            resolver.root_parameter,
            resolver.info_parameter,
        )
        if parameter is not None
    }
    if set(resolver.signature.parameters.values()) != reserved:
        return None
    return _Call(strawberry_field, converter.config.info_class)


class _Completes(Protocol):
    """What an object's completion asks of the executor (LeanExecutor, which imports this
    module)."""

    def is_awaitable(self, value: Any) -> bool: ...

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any: ...

    def complete_objects(
        self,
        completion: ObjectCompletion,
        items: list[Any] | tuple[Any, ...],
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any: ...


class ObjectCompletion:
    """How to complete a value of an object type (or a list of them, each non-null) without
    ``complete_value``'s levels: the type check, then the object's own fields."""

    __slots__ = ("is_list", "is_type_of", "item_type", "nullable", "object_type")

    def __init__(
        self, object_type: GraphQLObjectType, item_type: Any, *, nullable: bool, is_list: bool
    ) -> None:
        self.object_type, self.item_type = object_type, item_type
        self.nullable, self.is_list = nullable, is_list
        self.is_type_of = object_type.is_type_of

    def sure(self, value: Any, is_awaitable: Callable[[Any], bool]) -> bool:
        """Whether ``value`` is one the short completion answers as graphql-core would."""
        if value is None or is_awaitable(value) or isinstance(value, Exception):
            return False
        is_type_of = self.is_type_of
        # strawberry's own check, which never reads its info (see _object_completion)
        return is_type_of is None or is_type_of(value, None) is True  # type: ignore[arg-type]

    def __call__(
        self,
        executor: _Completes,
        value: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """The completed value, or ``NOT_READ`` (before anything ran) for graphql-core to
        complete."""
        if value is None:
            return None if self.nullable else NOT_READ
        is_awaitable = executor.is_awaitable
        if not self.is_list:
            if not self.sure(value, is_awaitable):
                return NOT_READ
            return executor.collect_and_execute_subfields(
                self.object_type, field_details_list, path, value, position_context
            )
        if value.__class__ is not list and value.__class__ is not tuple:
            return NOT_READ
        for item in value:
            if not self.sure(item, is_awaitable):
                return NOT_READ
        return executor.complete_objects(self, value, field_details_list, path, position_context)


def _object_completion(field_def: Any) -> ObjectCompletion | None:
    kind = field_def.type
    nullable = not isinstance(kind, GraphQLNonNull)
    if not nullable:
        kind = kind.of_type
    is_list = isinstance(kind, GraphQLList)
    item_type = None
    if is_list:
        item_type = kind.of_type
        if not isinstance(item_type, GraphQLNonNull):
            return None  # a null item is an error of its own: graphql-core's to report
        kind = item_type.of_type
    if not isinstance(kind, GraphQLObjectType):
        return None
    is_type_of = kind.is_type_of
    if is_type_of is not None and is_type_of.__qualname__ != _STRAWBERRY_IS_TYPE_OF:
        return None  # the schema's own check, which may read its resolve info
    return ObjectCompletion(kind, item_type, nullable=nullable, is_list=is_list)


class _FieldPlan:
    """How :meth:`LeanExecutor.execute_field` gets and completes one field."""

    __slots__ = ("attribute", "call", "complete_leaf", "complete_object")

    def __init__(
        self,
        attribute: str | None,
        call: _Call | None,
        complete_leaf: _LeafCompletion | None,
        complete_object: ObjectCompletion | None,
    ) -> None:
        self.attribute, self.call = attribute, call
        self.complete_leaf, self.complete_object = complete_leaf, complete_object


def _field_plan(field_def: Any) -> _FieldPlan | None:
    attribute_field = _attribute_field(field_def)
    call = None if attribute_field is not None else _call(field_def)
    if attribute_field is None and call is None:
        return None
    complete_leaf = _leaf_completion(field_def.type)
    complete_object = None if complete_leaf is not None else _object_completion(field_def)
    attribute = attribute_field.python_name if attribute_field is not None else None
    return _FieldPlan(attribute, call, complete_leaf, complete_object)


def field_plans(object_type: GraphQLObjectType) -> dict[str, _FieldPlan | None]:
    """How to get and complete each field of an object type, by field name (worked out once
    per type)."""
    found: dict[str, _FieldPlan | None] | None = object_type.__dict__.get("_gateway_field_plans")
    if found is None:
        found = {name: _field_plan(field) for name, field in object_type.fields.items()}
        object_type._gateway_field_plans = found  # type: ignore[attr-defined]
    return found
