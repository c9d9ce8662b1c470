"""``GET /graphql/schema.graphql``: the served schema's SDL, for client code generators
that fetch it by URL, while introspection is on (the same schema introspection shows)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, PlainTextResponse, Response
from strawberry.printer import print_schema

from gateway.domain.errors import ErrorCode

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request
    from strawberry.schema.base import BaseSchema

    from gateway.config import Settings

__all__ = ["schema_file"]


def schema_file(schema: BaseSchema, settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint: the SDL while ``graphql.introspection`` is on; 404 with a JSON code
    when it is off (the schema is then no more to be read by URL than by introspection)."""

    @cache
    def sdl() -> str:
        return print_schema(schema) + "\n"

    async def endpoint(request: Request) -> Response:
        if not settings.introspection:
            body = {
                "errors": [
                    {
                        "message": "the schema is not published: introspection is off",
                        "extensions": {"code": ErrorCode.NOT_FOUND.value},
                    }
                ]
            }
            return JSONResponse(body, status_code=404)
        return PlainTextResponse(sdl())

    return endpoint
