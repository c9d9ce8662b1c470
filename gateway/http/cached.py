"""The response cache in front of GraphQL execution (:mod:`gateway.runtime.response_cache`).

A query is looked up before strawberry runs it: a hit is answered with no parse, no
validation, no resolver and no store statement (the caller's memberships come from the
same generations). A miss runs as usual with a
:class:`~gateway.policies.compiler.DecisionLog` on the caller's authorizer, and its answer
is kept when it has no error and nothing in it depended on who asked. Mutations,
subscriptions, batches and requests whose caller lacks a store are never cached.

A hit is answered before strawberry's view, too (:meth:`CachedExecution.__call__`): a plain
JSON POST is read, its caller built and its key looked up in front of the view, and a hit
goes out as the same bytes with the same headers the view would send; anything else, and
every miss, goes on to the view with its body replayed (and its caller and the lookup's
outcome handed over, not made twice). About two thirds of a hit's cost in the app was the
view's own request handling.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLError
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult

from gateway.http.graphql_http import GRAPHQL_RESPONSE, JSON, preferred_media_type
from gateway.http.metrics import count_cached_answer
from gateway.http.persisted import restricted_to_trusted
from gateway.policies.compiler import DecisionLog
from gateway.runtime.response_cache import ResponseCache
from gateway.schema.context import Context, build_context
from gateway.schema.limits import cost_limit

if TYPE_CHECKING:
    from collections.abc import Hashable

    from starlette.requests import Request
    from starlette.types import Message, Receive, Scope, Send
    from starlette.websockets import WebSocket
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


# Where the door in front of the view hands the view what it already did (the request's
# ASGI state): the caller's context, and the key it looked up and missed.
CONTEXT_HANDED = "gateway.context"
MISSED_HANDED = "gateway.cache_missed"
# The content-type a hit is sent with, by the negotiated media type (as with_media_type
# writes it over starlette's for JSON).
_MEDIA_HEADER = {
    JSON: JSON.encode(),
    GRAPHQL_RESPONSE: f"{GRAPHQL_RESPONSE}; charset=utf-8".encode(),
}
# Media types in Accept that ask for an incremental or streamed answer: the view's to serve.
_STREAMED = ("multipart/", "text/event-stream")


@lru_cache(maxsize=64)
def _json_body(content_type: bytes | None) -> bool:
    """Whether the view reads a body of this type as JSON (strawberry's own test)."""
    if content_type is None:
        return False
    media, _ = parse_content_type(content_type.decode("latin-1"))
    return "application/json" in media


def request_key(
    context: Context,
    query: str,
    operation: str | None,
    variables: object,
    extensions: object,
) -> Hashable | None:
    """The cache key of this request for its caller (see ResponseCache.key), or None."""
    # The request's own extensions may change the answer's (a cost asked for, say); a
    # persisted query's hash names the query, which is in the key already.
    asked = {k: v for k, v in (extensions or {}).items() if k != "persistedQuery"}  # type: ignore[attr-defined]
    # So does the caller's cost limit (per persona): an answer built for a caller with a
    # higher one is never served to a caller who would have been refused.
    settings = context.settings
    limit = cost_limit(settings.max_cost, settings.max_cost_by_persona, context)
    # No variables and an empty object of them are the same request.
    return ResponseCache.key(context.authorizer, query, operation, [variables or {}, asked, limit])


class Hit(NamedTuple):
    """What the cache keeps of an answer: its ``data`` and ``extensions`` for the view,
    and the body the door sends, encoded once when it was stored."""

    data: Encoded
    extensions: dict[str, Any] | None
    body: bytes


def _answer(data: Encoded, extensions: object) -> str:
    """A hit's body, as the view would write it (strawberry leaves out empty extensions)."""
    response: dict[str, Any] = {"data": data}
    if extensions:
        response["extensions"] = extensions
    encoded = encode_response(response)
    assert encoded is not None  # its data is Encoded and it has nothing else
    return encoded


class CachedExecution:
    """Mixed into a strawberry ``GraphQL`` view (before it in the bases) that has
    ``services``."""

    services: Services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        view = super()
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and self.services.caches is not None
            and not scope.get("query_string")
        ):
            left = await self._answer_at_the_door(scope, receive, send)
            if left is None:
                return
            receive = left
        await view.__call__(scope, receive, send)  # type: ignore[operator]

    async def get_context(self, request: Request | WebSocket, response: object) -> Context:
        """The caller of this request, as GraphQL serves it (the door built it already
        when it looked the request up and missed)."""
        handed = request.scope.get("state", {}).get(CONTEXT_HANDED)
        if isinstance(handed, Context):
            return handed
        return await build_context(self.services, request.user)

    async def _answer_at_the_door(
        self, scope: Scope, receive: Receive, send: Send
    ) -> Receive | None:
        """Answer a hit here and return None; else the ``receive`` the view reads from."""
        headers = dict(scope["headers"])
        accept = headers.get(b"accept", b"").decode("latin-1")
        if not _json_body(headers.get(b"content-type")) or any(s in accept for s in _STREAMED):
            return receive
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # gone: the view meets the same
                return _replay(chunks, receive, message)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replay = _replay(chunks, receive)
        try:  # as the view decodes it: UTF-8 only, too deep a nesting refused
            request = self.decode_json(b"".join(chunks))  # type: ignore[attr-defined]
        except json.JSONDecodeError:  # the view says what is wrong with it
            return replay
        if not isinstance(request, dict):
            return replay
        query, operation = request.get("query"), request.get("operationName")
        variables, extensions = request.get("variables"), request.get("extensions")
        if (
            not isinstance(query, str)
            or not isinstance(operation, str | None)
            or not isinstance(variables, dict | None)
            or not isinstance(extensions, dict | None)
            or "persistedQuery" in (extensions or {})
            or not is_query(query, operation)
        ):
            return replay
        services = self.services
        caches = services.caches
        assert caches is not None
        context = await build_context(services, scope["user"])
        handed = scope.setdefault("state", {})
        handed[CONTEXT_HANDED] = context
        if context.partial_failures or restricted_to_trusted(services, context):
            return replay
        key = request_key(context, query, operation, variables, extensions)
        if key is None:
            return replay
        found = caches.responses.lookup(key, context.authorizer)
        if found is None:
            handed[MISSED_HANDED] = key
            return replay
        count_cached_answer(self.schema, operation_name(query, operation), context)  # type: ignore[attr-defined]
        # The headers strawberry's create_response writes (a starlette Response), then
        # GraphQLOverHTTP's media type; the body as stored.
        body = found.body
        media = _MEDIA_HEADER[preferred_media_type(accept)]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", media)],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return None

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
        key = request_key(
            context,
            query,
            request_data.operation_name,
            request_data.variables,
            request_data.extensions,
        )
        if key is None:
            cache.count_uncacheable()
            return await run()
        # The door looked this key up already (and missed): once is one miss.
        missed = request.scope.get("state", {}).get(MISSED_HANDED)
        found = None if missed == key else cache.lookup(key, authorizer)
        if found is not None:
            name = operation_name(query, request_data.operation_name)
            count_cached_answer(self.schema, name, context)  # type: ignore[attr-defined]
            return ExecutionResult(data=found.data, errors=None, extensions=found.extensions)
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
                hit = Hit(data, result.extensions, _answer(data, result.extensions).encode())
            except (TypeError, ValueError):  # strawberry will say what cannot be encoded
                cache.count_uncacheable()
                return result
            # Its size: the dict, its encoding and the body (the encoding again, with the
            # extensions), all held.
            size = 2 * len(data.json) + len(hit.body)
            cache.store(key, decided, generations, born, hit, size)
        else:
            cache.count_uncacheable()
        return result


def _replay(chunks: list[bytes], receive: Receive, last: Message | None = None) -> Receive:
    """A ``receive`` that gives the body read so far once more (then ``last``, if the
    reading ended on it), then whatever ``receive`` gives."""
    pending: list[Message] = [
        {"type": "http.request", "body": b"".join(chunks), "more_body": False}
    ]
    if last is not None:
        pending = [{**pending[0], "more_body": True}, last] if chunks else [last]

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
