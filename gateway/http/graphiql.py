"""GraphiQL served by the gateway itself: the page at ``GET /graphql`` (a browser's) and
every file it loads, from ``/graphiql/``, so it works with no internet.

strawberry's own page loads React and GraphiQL from a CDN and stays blank offline. Ours
loads GraphiQL's own npm release (``graphiql``, whose bundle carries ``graphql`` and
``graphql-ws``; ``react`` and ``react-dom``), pinned with their integrity in
``static/graphiql/assets.json`` and put into ``static/graphiql/vendor/`` by
``scripts/fetch-graphiql`` (which ``scripts/install`` runs), licences included. The page's
own script and stylesheet sit beside the manifest. Its Content-Security-Policy allows
scripts, styles and connections to this origin only (GraphiQL's editor sets inline styles;
its fonts are data: URLs).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["ASSETS", "HEADERS", "OfflineGraphiQL", "page", "routes"]

HERE = Path(__file__).resolve().parent  # gateway/http
FILES = HERE / "static" / "graphiql"
VENDOR = FILES / "vendor"
PAGE = HERE / "templates" / "graphiql.html"
PREFIX = "/graphiql/"

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _media_type(name: str) -> str:
    return _TYPES.get(Path(name).suffix, "text/plain; charset=utf-8")  # the licences


def _vendored() -> dict[str, Path]:
    manifest = json.loads((FILES / "assets.json").read_text(encoding="utf-8"))
    packages = manifest["packages"]
    return {name: VENDOR / name for package in packages for name in package["files"].values()}


# Every file under /graphiql/, by name: the fetched ones and the page's own.
ASSETS: dict[str, Path] = {
    **_vendored(),
    "gateway-graphiql.js": FILES / "gateway-graphiql.js",
    "gateway-graphiql.css": FILES / "gateway-graphiql.css",
}


def page() -> HTMLResponse:
    """The GraphiQL page, or (503) what to run when its files were never fetched."""
    missing = sorted(name for name, path in ASSETS.items() if not path.is_file())
    if missing:
        return HTMLResponse(
            "<!doctype html><title>GraphiQL is not installed</title>"
            "<p>GraphiQL's files are missing from this installation "
            f"({', '.join(missing)}). Run <code>scripts/fetch-graphiql</code> once with "
            "access to the npm registry (<code>scripts/install</code> does), then reload.",
            status_code=503,
            headers=HEADERS,
        )
    return HTMLResponse(_page_text(), headers=HEADERS)


@functools.cache
def _page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


async def asset(request: Request) -> Response:
    """One of the page's files; revalidated by ETag (a new pin replaces them)."""
    path = ASSETS.get(request.path_params["name"])
    if path is None or not path.is_file():
        return PlainTextResponse("not found", status_code=404)
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    response = FileResponse(
        path, media_type=_media_type(path.name), headers=headers, stat_result=path.stat()
    )
    etag = response.headers["etag"]
    asked = request.headers.get("if-none-match", "")
    if etag in {tag.strip().removeprefix("W/") for tag in asked.split(",")}:
        return Response(status_code=304, headers={**headers, "ETag": etag})
    return response


def routes() -> list[Route]:
    return [Route(PREFIX + "{name}", asset, methods=["GET", "HEAD"])]


class OfflineGraphiQL:
    """For strawberry's view: our page instead of its CDN one."""

    @property
    def graphql_ide_html(self) -> str:
        return _page_text()

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return page()
