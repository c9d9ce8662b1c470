"""Query limits judged in time linear in the document: expanded size, depth, aliases, cost.

strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` walk every fragment spread
afresh, so a document of N fragments that each spread the next ten times costs 10^N: an
813-byte query of ten such fragments kept the event loop busy for minutes (the fix belongs
upstream; until then these rules replace both). Here each fragment is measured once, and a
spread adds its fragment's measure times the number of times it is spread. A document that
selects more fields than ``max_expanded_fields`` once its fragments are expanded is refused
before anything walks it expanded: execution would cost as much.

Fragment cycles count as nothing here: graphql-core's ``NoFragmentCyclesRule`` reports them.

The cost (:func:`operation_cost`, enforced by :func:`query_cost`) is what the operation may
make the gateway resolve, judged before anything runs: each field costs 1, and a list
multiplies what its items select by how many it may hold. A field that takes ``first`` or
``last`` holds that many (a variable's value, the default page size when not given, at most
the largest page size); a connection's ``edges`` (or any list inside it) hold the page its
field asked for; any other list of objects counts as a default page. Page sizes may come
from variables, which validation never sees: the cost is judged per request, right after
validation (cached) and before execution. Each fragment is costed once here too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
)
from graphql.validation import ValidationRule
from strawberry.extensions import SchemaExtension

from gateway.config.limits import persona_value
from gateway.domain.errors import ErrorCode

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from graphql import (
        DocumentNode,
        GraphQLField,
        GraphQLNamedType,
        GraphQLSchema,
        SelectionSetNode,
        ValueNode,
    )
    from graphql.validation import ValidationContext

    from gateway.config.limits import ByPersona

__all__ = ["Measure", "measure_document", "operation_cost", "query_cost", "query_limits"]

# The arguments that say how many items a list or connection holds.
PAGE_ARGUMENTS = ("first", "last")


@dataclass
class Measure:
    """What one selection set costs with its fragments expanded."""

    fields: int = 0
    aliases: int = 0
    # strawberry's depth: a leaf field is 0, a field with a selection one more than its
    # deepest child; so a top-level field is at depth 0 and ``{ viewer { id } }`` is 1.
    depth: int = 0


@dataclass
class _Own:
    """A selection set's own fields, and the fragments it spreads at which nesting."""

    fields: int = 0
    aliases: int = 0
    depth: int = 0
    # (fragment name, number of fields above the spread) -> times spread there
    spreads: Counter[tuple[str, int]] = field(default_factory=Counter)


def _own(selection_set: SelectionSetNode) -> _Own:
    """One walk over a selection set that does not enter fragment spreads (iterative:
    a deeply nested document must not exhaust the interpreter's stack)."""
    own = _Own()
    stack: list[tuple[SelectionSetNode, int]] = [(selection_set, 0)]
    while stack:
        current, level = stack.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                own.fields += 1
                own.aliases += selection.alias is not None
                # Introspection fields are not counted deeper than themselves (as
                # strawberry's limiter does): the IDE's schema query is deep by nature.
                if selection.selection_set and not selection.name.value.startswith("__"):
                    own.depth = max(own.depth, level + 1)
                    stack.append((selection.selection_set, level + 1))
                else:
                    own.depth = max(own.depth, level)
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, level))
            elif isinstance(selection, FragmentSpreadNode):
                own.spreads[(selection.name.value, level)] += 1
    return own


def measure_document(document: DocumentNode) -> dict[OperationDefinitionNode, Measure]:
    """Each operation's measure, every fragment measured once (memoised)."""
    owns: dict[str, _Own] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            owns.setdefault(definition.name.value, _own(definition.selection_set))
    measures: dict[str, Measure] = {}

    def combine(own: _Own) -> Measure:
        total = Measure(own.fields, own.aliases, own.depth)
        for (name, level), times in own.spreads.items():
            # Unknown fragments are KnownFragmentNamesRule's to report; one still being
            # measured is a cycle (NoFragmentCyclesRule's): both count as nothing.
            inner = measures.get(name)
            if inner is None:
                continue
            total.fields += times * inner.fields
            total.aliases += times * inner.aliases
            total.depth = max(total.depth, level + inner.depth)
        return total

    # Post-order over the fragment graph with an explicit stack.
    visiting: set[str] = set()
    for root in owns:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            name, children_done = stack.pop()
            if name in measures:
                continue
            if children_done:
                measures[name] = combine(owns[name])
                visiting.discard(name)
                continue
            if name in visiting:
                continue
            visiting.add(name)
            stack.append((name, True))
            for child, _level in owns[name].spreads:
                if child in owns and child not in measures and child not in visiting:
                    stack.append((child, False))
    return {
        definition: combine(_own(definition.selection_set))
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    }


def query_limits(
    *, max_depth: int, max_aliases: int, max_expanded_fields: int
) -> type[ValidationRule]:
    """One validation rule for the three limits, judged in one linear pass.

    Its errors keep strawberry's messages for depth and aliases, and all carry
    ``extensions.code`` ``QUERY_TOO_COMPLEX``.
    """

    class QueryLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            measures = measure_document(context.document)
            expanded = sum(m.fields for m in measures.values())
            if expanded > max_expanded_fields:
                context.report_error(
                    _too_complex(
                        f"the document selects {expanded} fields once its fragments are "
                        f"expanded; the limit is {max_expanded_fields}",
                        list(measures),
                    )
                )
            for operation, measure in measures.items():
                if measure.depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    context.report_error(
                        _too_complex(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            [operation],
                        )
                    )
            aliases = sum(m.aliases for m in measures.values())
            if aliases > max_aliases:
                context.report_error(
                    _too_complex(f"{aliases} aliases found. Allowed: {max_aliases}", [])
                )

    return QueryLimits


def _too_complex(message: str, nodes: list[OperationDefinitionNode]) -> GraphQLError:
    return GraphQLError(
        message, nodes or None, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value}
    )


# --- cost ------------------------------------------------------------------------------
# A selection set's cost as two parts: ``fixed``, and ``per_item``, the part that is paid
# once per item of the nearest list or connection above it (its lists without a page size
# of their own: a connection's ``edges``).
_Cost = tuple[int, int]


class _CostWalk:
    """One operation's cost for one request's variables; each fragment costed once."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, object] | None,
        *,
        default_page_size: int,
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.variables = variables or {}
        self.defaults: dict[str, ValueNode | None] = {
            d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
        }
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.costed: dict[str, _Cost] = {}

    def total(self, operation: OperationDefinitionNode) -> int:
        self._cost_fragments(operation.selection_set)
        root = self.schema.get_root_type(operation.operation)
        fixed, per_item = self._selections(operation.selection_set, root)
        return fixed + self.default_page_size * per_item

    def _cost_fragments(self, top: SelectionSetNode) -> None:
        """Cost every fragment ``top`` reaches, each after the fragments it spreads (an
        explicit stack: a long chain of fragments must not exhaust the interpreter's)."""
        visiting: set[str] = set()
        stack: list[tuple[str, bool]] = [(name, False) for name in _spreads(top)]
        while stack:
            name, children_done = stack.pop()
            fragment = self.fragments.get(name)
            if fragment is None or name in self.costed:
                continue
            if children_done:
                condition = self.schema.get_type(fragment.type_condition.name.value)
                self.costed[name] = self._selections(fragment.selection_set, condition)
                continue
            if name in visiting:
                continue  # a cycle: NoFragmentCyclesRule's to report
            visiting.add(name)
            stack.append((name, True))
            stack.extend((child, False) for child in _spreads(fragment.selection_set))

    def _selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> _Cost:
        fixed = per_item = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost = self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = parent if condition is None else self.schema.get_type(condition.name.value)
                cost = self._selections(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                cost = self.costed.get(selection.name.value, (0, 0))
            else:  # pragma: no cover - GraphQL has no other selection
                continue
            fixed += cost[0]
            per_item += cost[1]
        return fixed, per_item

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> _Cost:
        name = node.name.value
        # Introspection is priced as one field, as the depth limit leaves it unmeasured:
        # the IDE's schema query is large by nature, and introspection can be turned off.
        if node.selection_set is None or name.startswith("__"):
            return 1, 0
        fields = (
            parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        )
        definition = fields.get(name)
        if definition is None:  # unknown: validation's to report
            return 1, 0
        fixed, per_item = self._selections(node.selection_set, get_named_type(definition.type))
        listed = isinstance(get_nullable_type(definition.type), GraphQLList)
        size = self._page_size(node, definition)
        if size is not None and listed:  # a list of ``size`` items (search)
            return 1 + size * (fixed + self.default_page_size * per_item), 0
        if size is not None:  # a connection: its edges hold ``size`` items
            return 1 + fixed + size * per_item, 0
        if listed:  # no size of its own: the page of the list or connection above it
            return 1, fixed + self.default_page_size * per_item
        return 1 + fixed, per_item

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int | None:
        """How many items the field may hold; None for a field that takes no page size."""
        if not any(arg in definition.args for arg in PAGE_ARGUMENTS):
            return None
        sizes = [
            self._value(argument.value)
            for argument in node.arguments or ()
            if argument.name.value in PAGE_ARGUMENTS
        ]
        asked = [s for s in sizes if s is not None]
        size = max(asked) if asked else self.default_page_size
        return min(max(size, 1), self.max_page_size)

    def _value(self, value: ValueNode | None) -> int | None:
        if isinstance(value, VariableNode):
            name = value.name.value
            if name not in self.variables:
                return self._value(self.defaults.get(name))
            given = self.variables[name]
            if given is None:
                return None
            if isinstance(given, int) and not isinstance(given, bool):
                return given
            return self.max_page_size  # not a number: coercion refuses it; never cheaper
        if isinstance(value, IntValueNode):
            return int(value.value)
        return None  # null or absent: the default page size


def _spreads(selection_set: SelectionSetNode) -> set[str]:
    """The fragments a selection set spreads, at any nesting (iterative)."""
    found: set[str] = set()
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                found.add(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)
    return found


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, object] | None,
    *,
    default_page_size: int,
    max_page_size: int,
) -> int:
    """What ``operation`` costs with these variables (see the module's docstring)."""
    walk = _CostWalk(
        schema,
        document,
        operation,
        variables,
        default_page_size=default_page_size,
        max_page_size=max_page_size,
    )
    return walk.total(operation)


def cost_limit(max_cost: int, by_persona: ByPersona, context: object) -> int:
    """The most an operation may cost for the caller of ``context``: the highest limit
    among their personas in ``by_persona``, else ``max_cost``."""
    # The caller's, not Context.principal: reading that marks the answer personal, and
    # the limit is part of the response cache's key instead.
    principal = getattr(getattr(context, "caller", None), "principal", None)
    roles = principal.roles if principal is not None else ()
    limit: int = persona_value(by_persona, roles, max_cost, rank=int)
    return limit


def query_cost(
    *,
    max_cost: int,
    default_page_size: int,
    max_page_size: int,
    max_cost_by_persona: ByPersona = (),
) -> type[SchemaExtension]:
    """The extension that refuses an operation costing more than the caller's limit
    (:func:`cost_limit`) before it runs (``QUERY_TOO_COMPLEX``, with ``cost`` and
    ``limit`` in the error's extensions), and reports a judged operation's cost in the
    response's ``extensions.cost`` when the request asks for it (its own ``extensions``
    say ``"cost": true``).

    Placed after the validation cache: it judges only documents that passed validation,
    and adds its error where validation's would be (strawberry then runs nothing)."""

    class QueryCost(SchemaExtension):
        cost: int | None = None
        limit: int = max_cost

        def on_validate(self) -> Iterator[None]:
            self._judge()
            yield

        def _judge(self) -> None:
            context = self.execution_context
            document = context.graphql_document
            if document is None or context.pre_execution_errors:
                return
            operation = get_operation_ast(document, context.operation_name)
            if operation is None:
                return
            self.cost = cost = operation_cost(
                context.schema._schema,
                document,
                operation,
                context.variables,
                default_page_size=default_page_size,
                max_page_size=max_page_size,
            )
            self.limit = limit = cost_limit(max_cost, max_cost_by_persona, context.context)
            if cost <= limit:
                return
            error = GraphQLError(
                f"the operation costs {cost}, over the limit of {limit}: ask for smaller "
                "pages (first/last) or fewer nested lists",
                [operation],
                extensions={
                    "code": ErrorCode.QUERY_TOO_COMPLEX.value,
                    "cost": cost,
                    "limit": limit,
                },
            )
            context.pre_execution_errors = [*(context.pre_execution_errors or []), error]

        def get_results(self) -> dict[str, object]:
            asked = self.execution_context.operation_extensions or {}
            if self.cost is None or asked.get("cost") is not True:
                return {}
            return {"cost": {"requested": self.cost, "limit": self.limit}}

    return QueryCost
