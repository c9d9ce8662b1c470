"""graphql-core's executor with shorter paths for the commonest fields.

A page of 20 questions is 162 fields. graphql-core runs each one through ``execute_field``:
a ``Path``, a resolve info (strawberry's, 15 values), strawberry's resolver wrapper (its own
Info, ``get_arguments``, the extension chain) and ``complete_value`` several levels deep,
about 25 calls to read one attribute and more for an object. :class:`LeanExecutor` cuts
three of those ways short:

* a leaf read as an attribute (``title``, ``tags``, ``displayName``): read inside
  ``execute_fields``, then the scalar's ``coerce_output_value``, for each item when it is a
  list of them;
* a resolver strawberry would only wrap (a sync function whose only parameters are
  ``self``, ``root``/``parent`` and ``info``; no arguments, extensions, permissions or
  exception handlers): called directly with strawberry's Info;
* an object, or a list of non-null objects: checked (strawberry's ``is_type_of``, an
  isinstance) and its own fields executed, without ``complete_value``'s levels.

It takes a short way only when the answer is sure to be the one graphql-core would give:
a plain value that coerces, an object that is one. Anything else (None for a non-null field,
an exception, a coercion that fails, an awaitable, an item that is None or of another type, a
field with directives, middleware on the schema) is decided before anything below it runs,
and goes the ordinary way, which reports the error exactly as graphql-core does (an
attribute is read again: strawberry's default resolver is a pure ``getattr``).
``tests/schema/test_executor.py`` holds the two executors to the same answers and errors,
for generated queries over the gateway's schema and for each of those cases.

Not a public API of graphql-core: ``execute_fields`` below is its 3.3 body with the leaf
read added, ``execute_field`` and ``complete_objects`` follow its 3.3 ``execute_field`` and
``complete_iterable_value``, and strawberry pins graphql-core to 3.3. The resolvers are
recognised by the names strawberry gives them: one it names otherwise is left to
graphql-core, slower but the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLObjectType,
)
from graphql.execution.executor import gather_with_cancel, to_nodes
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.schema.field_plans import NOT_READ, field_plans, leaf_reads

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
    from graphql.pyutils import AwaitableOrValue
    from graphql.pyutils.undefined import UndefinedType

    from gateway.schema.field_plans import ObjectCompletion

__all__ = ["LeanExecutor"]


class LeanExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, with the short ways of the module."""

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
                        if value is not NOT_READ:
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

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any] | UndefinedType:
        """graphql-core's ``execute_field``, with a resolver strawberry would only wrap
        called directly and an object (or a list of them) completed without
        ``complete_value``; every other field, and every value short of a sure one, the
        ordinary way."""
        plan = field_plans(parent_type).get(field_details_list[0].node.name.value)
        manager = self.middleware_manager
        if (
            plan is None
            or (manager is not None and manager.middlewares)
            or any(details.node.directives for details in field_details_list)
        ):
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        field_def = parent_type.fields[field_details_list[0].node.name.value]
        return_type = field_def.type
        is_awaitable = self.is_awaitable
        info = None
        try:
            call = plan.call
            if call is not None:
                info = self.build_resolve_info(
                    field_def, to_nodes(field_details_list), parent_type, path
                )
                result = call(source, info)
            else:
                result = getattr(source, plan.attribute)  # type: ignore[arg-type]
            completed: Any = NOT_READ
            if not is_awaitable(result):
                if plan.complete_leaf is not None:
                    completed = plan.complete_leaf(result)
                elif plan.complete_object is not None:
                    completed = plan.complete_object(
                        self, result, field_details_list, path, position_context
                    )
            if completed is NOT_READ:  # graphql-core's own way from here
                if info is None:
                    info = self.build_resolve_info(
                        field_def, to_nodes(field_details_list), parent_type, path
                    )
                if is_awaitable(result):
                    return self.complete_awaitable_value(
                        return_type, field_details_list, info, path, result, position_context
                    )
                completed = self.complete_value(
                    return_type, field_details_list, info, path, result, position_context
                )
            if is_awaitable(completed):
                return self._settled(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _settled(
        self,
        completed: Awaitable[Any],
        return_type: Any,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        """An awaited completion, its error reported as graphql-core's execute_field does."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def complete_objects(
        self,
        completion: ObjectCompletion,
        items: list[Any] | tuple[Any, ...],
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        """A list of objects, each checked sure beforehand, completed as graphql-core's
        ``complete_iterable_value`` does: an item's error is the item's (it is non-null, so
        the list's), awaitable items gathered."""
        object_type, item_type = completion.object_type, completion.item_type
        is_awaitable = self.is_awaitable
        execute = self.collect_and_execute_subfields
        completed_results: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                try:
                    completed = execute(
                        object_type, field_details_list, item_path, item, position_context
                    )
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    completed = None
                if is_awaitable(completed):
                    completed = self._settled(completed, item_type, field_details_list, item_path)
                    awaitable_indices.append(index)
                completed_results.append(completed)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed_results[i] for i in awaitable_indices])
            raise

        if not awaitable_indices:
            return completed_results

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                index = awaitable_indices[0]
                completed_results[index] = await completed_results[index]
            else:
                awaited = await gather_with_cancel(
                    *(completed_results[index] for index in awaitable_indices)
                )
                for index, sub_result in zip(awaitable_indices, awaited, strict=True):
                    completed_results[index] = sub_result
            return completed_results

        return get_completed_results()
