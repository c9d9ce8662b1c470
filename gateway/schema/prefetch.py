"""A page's authors and spaces, loaded before graphql-core completes its nodes.

``questions(first: 20) { edges { node { author { … } space { … } } } }`` asks for 40 objects
through loaders. Resolved field by field, each is a coroutine graphql-core wraps in a task of
its own, and every node and the list then gather theirs: about 60 tasks and 20 gathers per
page, a fifth of a guest's request. When the list's resolver has the page, it asks the same
loaders for every node's author and space at once (the same batched statements, in the same
read scope), and the nodes answer those fields at once, without a coroutine. A lookup that
failed is not kept: its field resolves as before and reports the same error at its own path.
An author the list's own statement joined in (every question read does) is only linked to
its internal profile, in one statement for the page; a space it joined in (the internal
store's) needs none.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

from gateway.schema.context import context_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from graphql import FragmentDefinitionNode, SelectionSetNode
    from strawberry.types import Info

    from gateway.domain.model import Person, Question, StoreName


class _Node(Protocol):
    """A question node of the schema (gateway.schema.types, which imports this module)."""

    _question: Question
    prefetched: dict[str, object]


__all__ = ["prefetch_questions", "selected_in_nodes"]

# The paths from a connection's field to its nodes.
_NODE_PATHS = (("edges", "node"), ("nodes",))


def _fields(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> Iterable[FieldNode]:
    """The fields of a selection set, through inline fragments and fragment spreads."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments)


def selected_in_nodes(info: Info, names: frozenset[str]) -> frozenset[str]:
    """Which of ``names`` the query selects on the nodes of the connection being resolved
    (under ``edges { node }`` or ``nodes``), whatever the fragments or aliases. A field
    under a ``@skip``/``@include`` counts as selected: loading it anyway costs nothing but
    its statement."""
    raw = info._raw_info
    fragments = raw.fragments
    found: set[str] = set()
    for path in _NODE_PATHS:
        level: list[FieldNode] = list(raw.field_nodes)
        for step in path:
            level = [f for node in level for f in _fields(node.selection_set, fragments)]
            level = [f for f in level if f.name.value == step]
        for node in level:
            found.update(f.name.value for f in _fields(node.selection_set, fragments))
    return names & frozenset(found)


_PREFETCHED = frozenset({"author", "space"})


async def prefetch_questions(info: Info, nodes: Sequence[_Node]) -> None:
    """Load the authors and spaces the query selects on these question nodes, all at once,
    and hand each node its own (see the module's docstring)."""
    if not nodes:
        return
    wanted = selected_in_nodes(info, _PREFETCHED)
    if not wanted:
        return
    loaders = context_of(info).loaders
    people: list[tuple[_Node, tuple[StoreName, str]]] = []
    spaces: list[tuple[_Node, tuple[StoreName, str]]] = []
    joined: dict[tuple[StoreName, str], Person] = {}
    for node in nodes:
        q = node._question
        if "author" in wanted:
            if q.author_id is None:
                node.prefetched["author"] = None
            elif q.author is not None:  # the list's read joined it in
                joined[(q.store, q.author_id)] = q.author
            else:
                people.append((node, (q.store, q.author_id)))
        if "space" in wanted:
            if q.space is not None:  # the list's read joined it in, within the scope
                node.prefetched["space"] = q.space
                loaders.space.prime((q.store, q.space_id), q.space)
            else:
                spaces.append((node, (q.store, q.space_id)))
    # Linked to internal profiles while the spaces load: one statement, not two.
    found_people, found_spaces, linked = await asyncio.gather(
        loaders.person.load_all([ref for _, ref in people]),
        loaders.space.load_all([ref for _, ref in spaces]),
        loaders.people_joined(joined) if joined else _nobody(),
        return_exceptions=True,
    )
    for name, asked, found in (("author", people, found_people), ("space", spaces, found_spaces)):
        if isinstance(found, BaseException):
            continue  # resolved by their fields, which report the failure at their own paths
        for (node, _ref), result in zip(asked, found, strict=True):
            if not isinstance(result, BaseException):  # else left to its field, as above
                node.prefetched[name] = result
    if isinstance(linked, BaseException):
        return
    for node in nodes:
        q = node._question
        if q.author_id is not None and q.author is not None:
            ref = (q.store, q.author_id)
            if ref in linked:
                node.prefetched["author"] = linked[ref]


async def _nobody() -> dict[tuple[StoreName, str], Person]:
    return {}
