"""Refuse requests larger than ``graphql.max_body_bytes`` before reading them whole.

* HTTP bodies: 413 when ``Content-Length`` says too much, before a byte is read; a body
  without one (chunked) is counted as it streams, and refused with 413 the moment it passes.
* Query strings (GraphQL over GET): 414, the status for a request target too long; a
  client sends such a query with POST instead.
* Websocket messages: the connection is closed with 1009 (message too big, RFC 6455).

Every refusal is a JSON GraphQL error with ``extensions.code`` ``REQUEST_TOO_LARGE``. The
connection is not closed on the client mid-upload: the server discards the rest of the
body unread (it is never buffered), so a client that sends it all still gets its 413
instead of a reset connection.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from gateway.domain.errors import ErrorCode
from gateway.http.graphql_http import error_body

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimit"]

log = logging.getLogger("gateway")
MESSAGE_TOO_BIG = 1009


class _TooLarge(Exception):
    """Raised out of ``receive`` into the app, caught again by the middleware."""


class BodySizeLimit:
    """Pure ASGI middleware: it must see ``receive`` before any other layer reads it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_bytes
        if len(scope.get("query_string", b"")) > limit:
            return await _refuse(send, 414, f"The query string is over {limit} bytes; use POST.")
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _refuse(send, 413, f"The request body is over {limit} bytes.")
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if started:  # nothing an answer could still say; the connection just ends
                log.info("a request body passed %d bytes after its answer began", limit)
                return
            await _refuse(send, 413, f"The request body is over {limit} bytes.")

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_bytes
        closed = False

        async def limited_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive" and _over(message, limit):
                closed = True
                await send(
                    {
                        "type": "websocket.close",
                        "code": MESSAGE_TOO_BIG,
                        "reason": f"message over {limit} bytes",
                    }
                )
                # The app sees the peer gone and ends its handlers.
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        async def guarded_send(message: Message) -> None:
            # After our close, the server would refuse whatever else the app sends.
            if not closed:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server's HTTP parser refuses it
    return None


def _over(message: Message, limit: int) -> bool:
    text = message.get("text")
    if text is None:
        return len(message.get("bytes") or b"") > limit
    # A character is one to four bytes in UTF-8: encode only when the count could matter.
    if len(text) > limit or len(text) * 4 <= limit:
        return len(text) > limit
    return len(text.encode()) > limit


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps(
        error_body(message, ErrorCode.REQUEST_TOO_LARGE.value), separators=(",", ":")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
