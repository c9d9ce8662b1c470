"""The HTTP/1.1 protocol the gateway is served with: uvicorn's httptools protocol (the C
parser of Node's llhttp), which answers a request target it cannot hold as the gateway
answers an over-long query string.

uvicorn picks httptools over h11 (pure Python) when it is installed: on this project's
2-core machines it serves a trivial app 1.5 times as fast (7,400 against 5,000 requests a
second, 2 workers), and with uvloop's event loop nearly twice (9,400), which is most of
what a cached answer costs. One difference had to be closed: httptools parses a URL into
16-bit offsets, so a target over 65,535 bytes fails to parse and uvicorn sends a plain-text
400 ("Invalid HTTP request received."). h11 handed such a request to the app, whose
:class:`~gateway.http.body_limit.BodySizeLimit` answers 414 with a JSON GraphQL error
(``REQUEST_TOO_LARGE``): this protocol counts the target as it arrives and gives that
same answer once the target is longer than the parser can take.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.domain.errors import ErrorCode
from gateway.http.graphql_http import error_body

__all__ = ["MAX_TARGET_BYTES", "GatewayHttpProtocol"]

# The longest request target httptools' URL parser accepts (its offsets are 16-bit).
MAX_TARGET_BYTES = 65_535


class _TargetTooLong(Exception):
    """Raised from the parser's URL callback: the parser stops, and so does the request."""


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a 414 for a target longer than it can parse."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._target_too_long = False

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            self._target_too_long = True
            raise _TargetTooLong

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to whatever the parser refused, ours to a target too long.
        if not getattr(self, "_target_too_long", False):
            return super().send_400_response(msg)
        body = json.dumps(
            error_body(
                f"The request target is over {MAX_TARGET_BYTES} bytes; send the query with POST.",
                ErrorCode.REQUEST_TOO_LARGE.value,
            ),
            separators=(",", ":"),
        ).encode()
        head = [b"HTTP/1.1 414 URI Too Long\r\n"]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.transport.close()
