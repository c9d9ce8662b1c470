"""The schema class both endpoints use: what happens to errors once a result is made, and
extension hooks found once per class (gateway/schema/hooks.py).

* Logging (strawberry's ``process_errors``): an error the client made (a bad id, a syntax
  error, a store named unavailable) is one INFO line without a traceback; a fault of
  ours stays at ERROR with its traceback. strawberry's default logs every error at
  ERROR with a traceback: 3,000 fuzzed requests wrote 66,000 lines.
* A last pass over every result: an exception that escapes an extension or a validation
  rule skips the extensions' own post-processing (masking and codes included), so the
  result is checked once more here: masked unless meant for the client, and coded. The
  same pass runs over every result a stream yields (subscriptions over the websocket),
  which the extensions' operation hooks do not see one by one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from strawberry.types.execution import PreExecutionError
from strawberry.utils.logging import StrawberryLogger

from gateway.schema.extensions import MaskInternalErrors, code_of, is_client_error
from gateway.schema.hooks import LeanExtensionsRunner

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from strawberry.extensions import SchemaExtension
    from strawberry.types import ExecutionContext, ExecutionResult

log = logging.getLogger("gateway.graphql")

_MASK = MaskInternalErrors()


class Schema(strawberry.Schema):
    """strawberry's schema, logging client errors as such and never answering an
    unmasked or uncoded error."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_client_error(error):
                where = ".".join(map(str, error.path)) if error.path else "request"
                log.info("client error %s at %s: %s", code_of(error)["code"], where, error.message)
            else:
                StrawberryLogger.error(error, execution_context)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> LeanExtensionsRunner:
        return LeanExtensionsRunner(execution_context=execution_context, extensions=extensions)

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [_finished(error) for error in result.errors]
        return result

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        return _finishing(await super().stream(*args, **kwargs))


async def _finishing(results: Any) -> AsyncGenerator[Any, None]:
    """The stream's results, each with its errors finished as :meth:`Schema.execute`'s.

    A syntax error raised by the parser cache's ``on_parse`` escapes strawberry's stream
    (its ``execute`` catches it): here it becomes the pre-execution error the websocket
    protocol expects, so the client hears of it instead of a bare ``complete``.
    """
    try:
        async for result in results:
            errors = getattr(result, "errors", None)
            if errors:
                result.errors = [_finished(error) for error in errors]
            yield result
    except GraphQLError as error:
        yield PreExecutionError(data=None, errors=[_finished(error)])
    finally:
        # Closing this generator (the client unsubscribed) closes the one it wraps.
        await results.aclose()


def _finished(error: GraphQLError) -> GraphQLError:
    if not is_client_error(error) and error.message != _MASK.error_message:
        return _MASK.anonymise_error(error)
    if "code" not in (error.extensions or {}):
        error.extensions = {**code_of(error), **(error.extensions or {})}
    return error
