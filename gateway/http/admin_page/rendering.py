"""The admin page's templates, the headers every response of it carries, and its
stylesheet and script.

Plain server-rendered HTML (Jinja2, autoescaped) and one small script for inline
validation; the templates and static files live beside this package, in
``gateway/http/templates/admin`` and ``gateway/http/static/admin``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from starlette.responses import Response

if TYPE_CHECKING:
    from starlette.requests import Request

HERE = Path(__file__).resolve().parent.parent  # gateway/http, which holds the files
templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates" / "admin"),
    autoescape=True,  # every value, policy lines and audit details included, is text
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_STATIC = {
    "admin.css": "text/css; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
}
# Served to every response of the page: scripts and styles only from our own files (so a
# line that slipped past escaping still could not run), no framing (an Apply button in
# someone else's frame), nothing cached (the page shows the policy and the audit log).
# No form-action: browsers hold a form's redirects to it too, and "Log out" ends at an
# identity provider's login page when one is configured.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@functools.cache
def _static_file(name: str) -> bytes:
    return (HERE / "static" / "admin" / name).read_bytes()


async def static(request: Request) -> Response:
    """The page's stylesheet and script (anyone may have them: they hold no policy)."""
    name = request.path_params["name"]
    media_type = _STATIC.get(name)
    if media_type is None:
        return Response("not found", status_code=404, media_type="text/plain")
    body = _static_file(name)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    return Response(body, media_type=media_type, headers=headers)
