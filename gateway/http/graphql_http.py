"""GraphQL over HTTP as the spec asks, on top of strawberry's ASGI view.

* ``application/graphql-response+json`` to clients that prefer it, with 400 and no ``data``
  for requests that never reached execution (parse, validation, variable coercion);
  ``application/json`` clients keep strawberry's 200.
* A body (or GET ``variables``) that is not UTF-8 or JSON, or nests too deeply for the
  decoder, is a 400 with a code, never a 500.
* Every refusal strawberry raises as an ``HTTPException`` (plain text there) is a JSON
  GraphQL response with ``extensions.code``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway.domain.errors import ErrorCode

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send
    from starlette.websockets import WebSocket
    from strawberry.http import GraphQLHTTPResponse
    from strawberry.types import ExecutionResult

__all__ = [
    "GRAPHQL_RESPONSE",
    "JSON",
    "GraphQLOverHTTP",
    "error_body",
    "is_request_error",
    "preferred_media_type",
    "refusal",
    "with_media_type",
]

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Codes of refusals before GraphQL runs, by HTTP status.
HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.REQUEST_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


class UnreadableJson(json.JSONDecodeError):
    """A body that json.loads cannot read for reasons other than syntax; a JSONDecodeError
    so strawberry's websocket reader treats it as any other non-JSON message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason


def preferred_media_type(accept: str | None) -> str:
    """The response media type for an ``Accept`` header: ``application/graphql-response+json``
    when the client rates it higher than ``application/json``, or as high and names it
    first; ``application/json`` otherwise (no header, ``*/*``, or neither acceptable).

    A hand-written negotiation of two types: python-mimeparse breaks ties by the server's
    list, where the spec's clients mean their own order.
    """
    if not accept:
        return JSON
    best: dict[str, tuple[int, float, int]] = {}  # (specificity, quality, -position)
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        for candidate in (GRAPHQL_RESPONSE, JSON):
            if media == candidate:
                specificity = 2
            elif media in {"application/*", "*/*"}:
                specificity = 1 if media == "application/*" else 0
            else:
                continue
            # The most specific range that matches decides (RFC 9110 12.5.1).
            rank = (specificity, quality, -position)
            if candidate not in best or rank[0] > best[candidate][0]:
                best[candidate] = rank
    graphql = best.get(GRAPHQL_RESPONSE)
    if graphql is None or graphql[1] <= 0:
        return JSON
    plain = best.get(JSON)
    if plain is None or plain[1] <= 0:
        return GRAPHQL_RESPONSE
    # Higher quality wins; on a tie, the one the client named itself, then named first.
    if (graphql[1], graphql[0], graphql[2]) > (plain[1], plain[0], plain[2]):
        return GRAPHQL_RESPONSE
    return JSON


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never executed: parse, validation or variable-coercion
    errors (and our pre-execution refusals). Those have no data and no error with a
    path; an executed operation whose root field failed has a path on its error."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class GraphQLOverHTTP:
    """Mixed into a strawberry ``GraphQL`` view (before it in the bases)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)  # type: ignore[misc]
        request = Request(scope, receive)
        try:
            response = await self.run(request)  # type: ignore[attr-defined]
        except HTTPException as exc:
            response = refusal(request, exc.status_code, exc.reason)
        return await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UnreadableJson(f"not UTF-8 (byte {exc.start})") from None
        try:
            return json.loads(data)
        except RecursionError:
            raise UnreadableJson("nested too deeply") from None

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except UnreadableJson as exc:
            raise HTTPException(400, f"The request is not JSON: {exc.reason}.") from None
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"The request is not JSON: {exc.msg}.") from None

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub = await super().get_sub_response(request)  # type: ignore[misc]
        # The view hands process_result the request and create_response this object only:
        # the request carries it from one to the other.
        sub.media_type = preferred_media_type(request.headers.get("accept"))
        request.state.graphql_sub_response = sub
        return sub

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        processed: GraphQLHTTPResponse = await super().process_result(request, result)  # type: ignore[misc]
        sub: Response | None = getattr(request.state, "graphql_sub_response", None)
        if sub is not None and sub.media_type == GRAPHQL_RESPONSE and is_request_error(result):
            processed.pop("data", None)
            sub.status_code = 400
        return processed

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response: Response = super().create_response(response_data, sub_response)  # type: ignore[misc]
        return with_media_type(response, sub_response.media_type)


def with_media_type(response: Response, media: str | None) -> Response:
    """A response strawberry wrote as ``application/json``, in the negotiated media type."""
    if media == GRAPHQL_RESPONSE:
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
    return response


def refusal(request: Request, status: int, message: str) -> Response:
    """A refusal before GraphQL ran, as a GraphQL response in the negotiated media type."""
    media = preferred_media_type(request.headers.get("accept"))
    code = HTTP_CODES.get(status, ErrorCode.BAD_REQUEST).value
    return Response(
        json.dumps(error_body(message, code), separators=(",", ":")),
        status_code=status,
        media_type=media,
    )
