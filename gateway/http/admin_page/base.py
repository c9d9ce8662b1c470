"""What every handler of the admin page shares: the door, and the rendering.

Every request is checked, not only the page's GET: a guest is sent to log in, anyone
the policy does not let ``administer`` it gets a 403 that says nothing of the policy,
and a POST without this session's CSRF token (:mod:`gateway.identity.csrf`) is refused
before it is looked at.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.formparsers import MultiPartException
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from gateway.http.admin_page.rendering import HEADERS, templates
from gateway.identity import csrf
from gateway.policies.admin.changes import is_administrator
from gateway.stores.guard import STORE_FAILURES

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.datastructures import FormData
    from starlette.requests import Request

    from gateway.domain.principal import Principal
    from gateway.runtime.services import Services

log = logging.getLogger("gateway.admin")

DEV_LOGIN = "/auth/dev"  # the demo's persona picker (gateway.identity.dev_login)


class AdminPageBase:
    """The door every handler goes through, and the pages it renders, over the services
    the app built."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # --- rendering ---------------------------------------------------------------
    def _page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """A page for an administrator: it carries the session's CSRF token."""
        context.setdefault("message", None)
        return self._render(
            request,
            name,
            status,
            csrf=csrf.issue(request.session),
            describe=self.services.policy.describe(),
            **context,
        )

    def _notice(self, request: Request, status: int, title: str, text: str) -> Response:
        """A short page that shows nothing of the policy (refusals, errors)."""
        return self._render(request, "notice.html", status, csrf=None, title=title, text=text)

    def _render(self, request: Request, name: str, status: int, **context: Any) -> Response:
        body = templates.get_template(name).render(principal=request.user, **context)
        return HTMLResponse(body, status_code=status, headers=HEADERS)

    # --- the door ----------------------------------------------------------------
    async def _guarded(
        self,
        request: Request,
        handler: Callable[[Request, FormData | None], Awaitable[Response]],
        *,
        json: bool = False,
    ) -> Response:
        """Run ``handler`` for an administrator (with the form, for a POST, once its CSRF
        token is checked); anyone else gets a refusal that changes and shows nothing."""
        refusal = self._refusal(request, json=json)
        if refusal is not None:
            return refusal
        try:
            await self._saw(request.user)
            if request.method != "POST":
                return await handler(request, None)
            try:
                data = await request.form(max_files=0, max_fields=20)
            except MultiPartException as exc:
                return self._refuse(request, 400, "Bad request", str(exc), json=json)
            token = data.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
            if not csrf.valid(request.session, token):
                log.warning("admin page: %s posted without this session's token", request.user.id)
                text = (
                    "This form's security token is missing or is not this session's: "
                    "nothing was changed. Reload the page and try again."
                )
                return self._refuse(request, 403, "Refused", text, json=json)
            return await handler(request, data)
        except STORE_FAILURES as exc:
            log.warning("admin page: the records database failed: %s", exc.__class__.__name__)
            text = "The gateway's records database cannot be reached; nothing was changed."
            return self._refuse(request, 503, "Unavailable", text, json=json)

    async def _saw(self, principal: Principal) -> None:
        """Remember the administrator, as a GraphQL request would: a change that would take
        administer from every security admin the gateway knows is refused, so it must know
        those who only ever use this page."""
        await self.services.records.remember(principal, datetime.now(UTC))

    def _refusal(self, request: Request, *, json: bool) -> Response | None:
        principal: Principal = request.user
        if principal.is_guest:
            if request.method == "GET":
                return self._login(request)
            return self._refuse(
                request, 401, "Log in first", "Log in as a security admin.", json=json
            )
        if not is_administrator(self.services.policy, principal):
            log.warning("admin page refused to %s: may not administer the policy", principal.id)
            text = "This page is for security admins. Log out to log in as someone else."
            return self._refuse(request, 403, "Not for you", text, json=json)
        return None

    def _refuse(
        self, request: Request, status: int, title: str, text: str, *, json: bool
    ) -> Response:
        if json:
            return JSONResponse({"error": text}, status_code=status, headers=HEADERS)
        return self._notice(request, status, title, text)

    def _login(self, request: Request) -> Response:
        """To the login: the only way there, or a choice of them."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        settings = self.services.settings
        ways: list[tuple[str, str]] = []
        if settings.dev_issuer:
            ways.append(("a demo persona", f"{DEV_LOGIN}?{urlencode({'next': here})}"))
        for provider in settings.providers:
            if provider.client_id:
                path = request.app.url_path_for("auth_login", provider=provider.name)
                ways.append((provider.name, f"{path}?{urlencode({'next': here})}"))
        if len(ways) == 1:
            return RedirectResponse(ways[0][1], status_code=303)
        return self._render(request, "login.html", 401, csrf=None, ways=ways)
