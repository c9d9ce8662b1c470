"""A document of several operations needs an ``operationName`` saying which to run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from gateway.domain.errors import ErrorCode

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["RequireOperationName"]


class RequireOperationName(SchemaExtension):
    """GraphQL's GetOperation: with no ``operationName``, a document must hold exactly one
    operation. strawberry (0.341) falls back to the first operation's name, so the first of
    several ran; graphql-core would refuse, but never sees the name missing.

    Reported as a validation error, beside any others: it must come after ValidationCache
    in the extensions, whose hook sets the validation errors this one adds to (strawberry
    stops before execution when there are any). Raising instead would reach websocket
    clients as a silent ``complete``."""

    def on_validate(self) -> Iterator[None]:
        self._check()
        yield

    def _check(self) -> None:
        context = self.execution_context
        document = context.graphql_document
        # strawberry keeps the name the request gave only in this private attribute; its
        # public ``operation_name`` is already the fallback. A rename upstream makes every
        # multi-operation document fail here, which the tests notice.
        if document is None or getattr(context, "_provided_operation_name", None) is not None:
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1:
            error = GraphQLError(
                "Must provide operation name if query contains multiple operations.",
                nodes=operations,
                extensions={"code": ErrorCode.GRAPHQL_VALIDATION_FAILED.value},
            )
            context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
