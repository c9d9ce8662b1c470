"""Schema extensions of our own: partial store failures reported next to the data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphql import GraphQLError, SelectionSetNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from gateway.errors import ClientError

if TYPE_CHECKING:
    from collections.abc import Iterator


class ReportPartialFailures(SchemaExtension):
    """A list served by one store while the other failed carries an error naming the other."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        context = self.execution_context.context
        failures = getattr(context, "partial_failures", None)
        if result is None or not failures:
            return
        extra = [GraphQLError(str(exc), path=path, original_error=exc) for exc, path in failures]
        result.errors = [*(result.errors or []), *extra]


class NamePolicyVersion(SchemaExtension):
    """Every response says which policy its decisions were made under:
    ``extensions.policy`` = ``"v3 (sha256 0123456789ab)"``. A client comparing two answers
    (or an admin reading a report of one) can tell a policy change from a bug."""

    def get_results(self) -> dict[str, object]:
        authorizer = getattr(self.execution_context.context, "authorizer", None)
        if authorizer is None:  # the admin API: its answers are about the policy itself
            return {}
        return {"policy": authorizer.index.describe()}


def is_client_error(error: GraphQLError) -> bool:
    """Errors meant for the client: our own, and GraphQL's syntax and validation errors."""
    original = error.original_error
    return original is None or isinstance(original, ClientError)


class _EmptySelections(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: SelectionSetNode | None = None

    def enter_selection_set(self, node: SelectionSetNode, *_args: object) -> None:
        if not node.selections and self.found is None:
            self.found = node


class RejectEmptySelections(SchemaExtension):
    """``{ viewer { } }`` is invalid GraphQL, but graphql-core 3.3 parses it and strawberry's
    depth limiter then fails with an internal message; refuse it right after parsing."""

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is None:
            return
        visitor = _EmptySelections()
        visit(document, visitor)
        if visitor.found is not None:
            raise GraphQLError(
                "Syntax Error: a selection set must select at least one field.",
                nodes=[visitor.found],
            )
