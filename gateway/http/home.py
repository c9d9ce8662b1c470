"""``/``: where a browser lands (a login's or logout's ``next`` is "/" unless it names a page).

A short page: what this gateway is, who the browser is signed in as, and links to what
it may use: GraphiQL (when on), the admin page (security admins), a login per configured
provider, the persona picker while the development issuer is trusted (it returns here),
and logging out. A client that does not ask for HTML gets one line naming the API.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, PlainTextResponse

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request
    from starlette.responses import Response

    from gateway.config import Settings

__all__ = ["home_page"]

# Nothing on the page runs: no script at all, styles from the page itself.
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;"
    "color:#1d2433}h1{font-size:1.6rem}li{margin:.4rem 0}.who{color:#555}"
    "a{color:#0b57d0}"
)


def home_page(settings: Settings, *, dev_issuer: bool) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint for ``/``."""

    async def home(request: Request) -> Response:
        if "text/html" not in request.headers.get("accept", ""):
            return PlainTextResponse("Collaboration Access Gateway: GraphQL at /graphql\n")
        principal = request.user
        if principal.is_guest:
            who = "You are not signed in: you see what guests see."
        else:
            roles = ", ".join(sorted(principal.roles)) or "no persona"
            who = f"Signed in as {principal.display_name} ({roles})."
        links: list[tuple[str, str, str]] = []
        if settings.graphiql:
            links.append(("/graphql", "GraphiQL", "explore and query the API in the browser"))
        if settings.introspection:
            links.append(
                ("/graphql/schema.graphql", "The schema", "SDL, for client code generators")
            )
        links.append(("/admin", "Admin page", "policies and offboarding, for security admins"))
        for provider in settings.providers:
            links.append(
                (f"/auth/login/{provider.name}", f"Log in with {provider.name}", provider.issuer)
            )
        if dev_issuer:
            links.append(
                ("/auth/dev?next=/", "Choose a demo persona", "development issuer; returns here")
            )
        if not principal.is_guest:
            links.append(("/auth/logout", "Log out", "ends this browser session everywhere"))
        items = "".join(
            f'<li><a href="{html.escape(href)}">{html.escape(label)}</a>'
            f" &mdash; {html.escape(note)}</li>"
            for href, label, note in links
        )
        page = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>Collaboration Access Gateway</title><style>{STYLE}</style></head><body>"
            "<h1>Collaboration Access Gateway</h1>"
            "<p>One GraphQL API over the internal employee network and the public customer "
            "community. Every answer is scoped by policy to what the caller may see: guests, "
            "members, trusted customers, partners, contractors and employees each get exactly "
            "their view of groups, questions and prototype feedback.</p>"
            f"<p class=who>{html.escape(who)}</p><ul>{items}</ul>"
            "<p>API: <code>POST /graphql</code> (and <code>GET</code> for queries), "
            "subscriptions over <code>graphql-transport-ws</code> at the same path.</p>"
            "</body></html>"
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": CSP})

    return home
