"""The response cache in front of GraphQL execution (:mod:`gateway.runtime.response_cache`).

A query is looked up before strawberry runs it: a hit is answered with no parse, no
validation, no resolver and no store statement (the caller's memberships come from the
same generations). A miss runs as usual with a
:class:`~gateway.policies.compiler.DecisionLog` on the caller's authorizer, and its answer
is kept when it has no error and nothing in it depended on who asked. Mutations,
subscriptions, batches and requests whose caller lacks a store are never cached.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLError
from strawberry.types import ExecutionResult

from gateway.http.metrics import count_cached_answer
from gateway.policies.compiler import DecisionLog
from gateway.runtime.response_cache import ResponseCache
from gateway.schema.context import Context
from gateway.schema.limits import cost_limit

if TYPE_CHECKING:
    from strawberry.http import GraphQLRequestData

    from gateway.runtime.services import Services

__all__ = ["CachedExecution", "Encoded", "encode_response", "is_query"]


@lru_cache(maxsize=512)
def _operation(document: str, operation: str | None) -> OperationDefinitionNode | None:
    """The operation ``operation`` names in ``document`` (the only one when None); None
    for what does not parse or names no single operation: GraphQL explains those."""
    try:
        parsed = parse(document)
    except GraphQLError:
        return None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if operation is None:
        chosen = operations if len(operations) == 1 else []
    else:
        chosen = [d for d in operations if d.name is not None and d.name.value == operation]
    return chosen[0] if len(chosen) == 1 else None


def is_query(document: str, operation: str | None) -> bool:
    """Whether ``operation`` in ``document`` is a query (not a mutation or subscription)."""
    found = _operation(document, operation)
    return found is not None and found.operation is OperationType.QUERY


def operation_name(document: str, operation: str | None) -> str | None:
    """The name of the operation that runs (the document's own when none was sent)."""
    found = _operation(document, operation)
    return found.name.value if found is not None and found.name is not None else operation


class Encoded(dict[str, Any]):
    """A cached answer's ``data``, with its JSON as strawberry writes it (compact)."""

    __slots__ = ("json",)

    def __init__(self, data: dict[str, Any], encoded: str) -> None:
        super().__init__(data)
        self.json = encoded


def encode_response(response: object) -> str | None:
    """The JSON of a response whose ``data`` is :class:`Encoded` (and which has nothing
    but ``extensions`` besides), byte for byte what ``json.dumps(response, separators=(",",
    ":"))`` writes; None for any other response."""
    if not isinstance(response, dict) or not isinstance(response.get("data"), Encoded):
        return None
    if list(response) not in (["data"], ["data", "extensions"]):
        return None
    data: Encoded = response["data"]
    if "extensions" not in response:
        return f'{{"data":{data.json}}}'
    extensions = json.dumps(response["extensions"], separators=(",", ":"))
    return f'{{"data":{data.json},"extensions":{extensions}}}'


class CachedExecution:
    """Mixed into a strawberry ``GraphQL`` view (before it in the bases) that has
    ``services``."""

    services: Services

    async def execute_single(  # strawberry's signature
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        view = super()

        async def run() -> ExecutionResult:
            return await view.execute_single(  # type: ignore[attr-defined]
                request, request_adapter, sub_response, context, root_value, request_data
            )

        caches = self.services.caches
        query = request_data.query
        if (
            caches is None
            or not isinstance(context, Context)
            or not isinstance(query, str)
            # Not a name: GraphQL says what is wrong with it.
            or not isinstance(request_data.operation_name, str | None)
            or context.partial_failures  # a store is missing: the answer carries its error
            or (request_adapter.method == "GET" and not self.allow_queries_via_get)  # type: ignore[attr-defined]
            or not is_query(query, request_data.operation_name)
        ):
            return await run()
        cache = caches.responses
        authorizer = context.authorizer
        # The request's own extensions may change the answer's (a cost asked for, say);
        # a persisted query's hash names the query, which is in the key already.
        extensions = {
            k: v for k, v in (request_data.extensions or {}).items() if k != "persistedQuery"
        }
        # So does the caller's cost limit (per persona): an answer built for a caller with
        # a higher one is never served to a caller who would have been refused.
        settings = context.settings
        limit = cost_limit(settings.max_cost, settings.max_cost_by_persona, context)
        key = ResponseCache.key(
            authorizer,
            query,
            request_data.operation_name,
            [request_data.variables, extensions, limit],
        )
        if key is None:
            cache.count_uncacheable()
            return await run()
        found = cache.lookup(key, authorizer)
        if found is not None:
            data, extensions = found
            name = operation_name(query, request_data.operation_name)
            count_cached_answer(self.schema, name, context)  # type: ignore[attr-defined]
            return ExecutionResult(data=data, errors=None, extensions=extensions)
        decided = DecisionLog()
        # Taken before it runs: a write while it runs leaves the answer stale at once.
        generations, born = caches.board.current(), cache.clock()
        authorizer.log = decided
        try:
            result = await run()
        finally:
            authorizer.log = None
        if (
            isinstance(result, ExecutionResult)
            and not result.errors
            and result.data is not None
            and not context.partial_failures
        ):
            try:  # kept encoded too, as strawberry encodes it: a hit sends these bytes
                data = Encoded(result.data, json.dumps(result.data, separators=(",", ":")))
                more = json.dumps(result.extensions, separators=(",", ":"))
            except (TypeError, ValueError):  # strawberry will say what cannot be encoded
                cache.count_uncacheable()
                return result
            # Its size: the dict and its encoding, both held.
            size = 2 * len(data.json) + len(more)
            cache.store(key, decided, generations, born, (data, result.extensions), size)
        else:
            cache.count_uncacheable()
        return result
