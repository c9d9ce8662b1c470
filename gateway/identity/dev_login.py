"""The demo's browser login: pick a demo persona, get a session, no external IdP needed.

It exists only while the development issuer is enabled (the zero-config demo), and
stores the same principal a development token would carry. The development issuer
appears to the session as one more provider, so switching it off ends every session
it started, exactly like removing a real provider.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.config import OidcProvider
from gateway.domain.demo import PEOPLE, find_person
from gateway.domain.permissions import Persona
from gateway.identity.dev_issuer import AUDIENCE, ISSUER, dev_principal
from gateway.identity.login import safe_next
from gateway.identity.session import store_principal

if TYPE_CHECKING:
    from starlette.requests import Request

DEV_PROVIDER = OidcProvider(
    name="dev",
    issuer=ISSUER,
    audiences=(AUDIENCE,),
    personas=frozenset(p.value for p in Persona),
    email_domains=("*",),  # it vouches only for the demo directory's own people
)


def routes() -> list[Route]:
    return [
        Route("/auth/dev", _page, methods=["GET"]),
        Route("/auth/dev", _choose, methods=["POST"]),
    ]


async def _page(request: Request) -> Response:
    """A button per demo person; each posts the choice back (a GET must not log anyone in)."""
    next_path = html.escape(safe_next(request.query_params.get("next")))
    buttons = "".join(
        '<li><form method="post" action="/auth/dev">'
        f'<input type="hidden" name="email" value="{html.escape(p.email)}">'
        f'<input type="hidden" name="next" value="{next_path}">'
        f"<button>{html.escape(p.display_name)}</button> "
        f"{html.escape(p.email)}: {html.escape(', '.join(p.roles))}</form></li>"
        for p in PEOPLE
    )
    return HTMLResponse(
        "<!doctype html><title>Demo login</title>"
        "<h1>Log in as a demo persona</h1>"
        "<p>The development issuer is enabled: anyone can be anyone here. Never in "
        "production.</p>"
        f"<ul>{buttons}</ul>"
    )


async def _choose(request: Request) -> Response:
    # Our own two fields, parsed by hand: Starlette's form parser needs python-multipart.
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    person = find_person(form.get("email", [""])[0])
    if person is None:
        return HTMLResponse("<!doctype html><p>That is not a demo person.</p>", status_code=400)
    principal = dev_principal(
        person.email,
        name=person.display_name,
        roles=person.roles,
        organisation=person.organisation,
    )
    store_principal(request.session, DEV_PROVIDER, principal)
    return RedirectResponse(safe_next(form.get("next", [None])[0]), status_code=303)
