"""Query limits judged in time linear in the document: expanded size, depth and aliases.

strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` walk every fragment spread
afresh, so a document of N fragments that each spread the next ten times costs 10^N: an
813-byte query of ten such fragments kept the event loop busy for minutes (the fix belongs
upstream; until then these rules replace both). Here each fragment is measured once, and a
spread adds its fragment's measure times the number of times it is spread. A document that
selects more fields than ``max_expanded_fields`` once its fragments are expanded is refused
before anything walks it expanded: execution would cost as much.

Fragment cycles count as nothing here: graphql-core's ``NoFragmentCyclesRule`` reports them.
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
    InlineFragmentNode,
    OperationDefinitionNode,
)
from graphql.validation import ValidationRule

from gateway.domain.errors import ErrorCode

if TYPE_CHECKING:
    from graphql import DocumentNode, SelectionSetNode
    from graphql.validation import ValidationContext

__all__ = ["Measure", "measure_document", "query_limits"]


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
