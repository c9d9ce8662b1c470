"""Schema extensions of our own: partial store failures reported next to the data, and an
``extensions.code`` on every error."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    SelectionSetNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)
from strawberry.extensions import MaskErrors, SchemaExtension

from gateway.domain.errors import ClientError, ErrorCode

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


def _cause(error: GraphQLError) -> BaseException | None:
    """What raised an error: the first exception under its chain of GraphQL errors
    (graphql-core wraps a variable's coercion error in another), or None for an error
    GraphQL itself made."""
    original = error.original_error
    while isinstance(original, GraphQLError):
        original = original.original_error
    return original


def _is_variable_error(error: GraphQLError) -> bool:
    """A variable's value did not fit its type: graphql-core reports it at the variable's
    definition (a custom scalar's ``ValueError`` included)."""
    nodes = error.nodes or []
    return bool(nodes) and isinstance(nodes[0], VariableDefinitionNode)


def is_client_error(error: GraphQLError) -> bool:
    """Errors meant for the client: our own (:class:`ClientError`), and what GraphQL finds
    wrong with a request before running it (syntax, validation, variable values). Anything
    else, raised while resolving a field or by a failing extension, is the server's."""
    cause = _cause(error)
    if isinstance(cause, ClientError):
        return True
    if error.path is not None:
        return False
    return cause is None or _is_variable_error(error)


def code_of(error: GraphQLError) -> dict[str, Any]:
    """The ``extensions`` that name what kind of error this is (see :class:`ErrorCode`)."""
    cause = _cause(error)
    if isinstance(cause, ClientError):
        return cause.extensions()
    if not is_client_error(error):
        return {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
    if isinstance(error, GraphQLSyntaxError):
        # graphql-core's parser limits (tokens, nesting, length) all end with these words.
        if error.message.endswith("Parsing aborted."):
            return {"code": ErrorCode.QUERY_TOO_COMPLEX.value}
        return {"code": ErrorCode.GRAPHQL_PARSE_FAILED.value}
    if _is_variable_error(error):
        return {"code": ErrorCode.BAD_USER_INPUT.value}
    return {"code": ErrorCode.GRAPHQL_VALIDATION_FAILED.value}


def _with_code(error: GraphQLError) -> None:
    if "code" not in (error.extensions or {}):
        error.extensions = {**code_of(error), **(error.extensions or {})}


class NameErrorCodes(SchemaExtension):
    """Every error of a result carries ``extensions.code``, graphql-core's own parse and
    validation errors and strawberry's limiters' included: a client matches a code, never
    a message. An error that already names its code (a limiter's) keeps it."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            _with_code(error)


class MaskInternalErrors(MaskErrors):
    """strawberry's :class:`MaskErrors` for everything but client errors; the masked error
    says ``INTERNAL_SERVER_ERROR`` (its replacement would otherwise carry no code)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_client_error(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        return masked


class _EmptySelections(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: SelectionSetNode | None = None

    def enter_selection_set(self, node: SelectionSetNode, *_args: object) -> None:
        if not node.selections and self.found is None:
            self.found = node


# What the walk found per document text, for as many as strawberry's ParserCache keeps:
# front ends send the same few documents again and again.
_WALKED: OrderedDict[str, SelectionSetNode | None] = OrderedDict()
_WALKED_SIZE = 256


def _empty_selection(query: str | None, document: DocumentNode) -> SelectionSetNode | None:
    """The first empty selection set in ``document`` (the parse of ``query``), or None."""
    if query is not None and query in _WALKED:
        _WALKED.move_to_end(query)
        return _WALKED[query]
    visitor = _EmptySelections()
    visit(document, visitor)
    if query is not None:
        _WALKED[query] = visitor.found
        if len(_WALKED) > _WALKED_SIZE:
            _WALKED.popitem(last=False)
    return visitor.found


class RejectEmptySelections(SchemaExtension):
    """``{ viewer { } }`` is invalid GraphQL, but graphql-core 3.3 parses it and strawberry's
    depth limiter then fails with an internal message; refuse it right after parsing."""

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is None:
            return
        found = _empty_selection(self.execution_context.query, document)
        if found is not None:
            raise GraphQLError(
                "Syntax Error: a selection set must select at least one field.",
                nodes=[found],
                extensions={"code": ErrorCode.GRAPHQL_PARSE_FAILED.value},
            )
