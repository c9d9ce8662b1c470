"""The admin web page (``/admin``): the policy, changes to it, the audit log, who can see a space.

Plain server-rendered HTML (Jinja2, autoescaped) and one small script for inline
validation. Like the admin API and ``gateway policy``, it is a client of
:class:`gateway.policies.admin.changes.PolicyAdmin`: a change is previewed (findings, impact,
refusals) against the version in force, then applied against that version, or refused
when another change landed in between.

Every request is checked, not only the page's GET: a guest is sent to log in, anyone
the policy does not let ``administer`` it gets a 403 that says nothing of the policy,
and a POST without this session's CSRF token (:mod:`gateway.identity.csrf`) is refused
before it is looked at.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jinja2
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.domain.permissions import Action
from gateway.identity import csrf
from gateway.identity.offboarding import Offboarding, OffboardingRefused, principal_key
from gateway.policies.admin import population, whocan
from gateway.policies.admin.changes import ChangeRefused, Proposal, is_administrator
from gateway.policies.admin.edit_check import EditCheck, check_edit
from gateway.policies.admin.lines import FIELDS, matching, policy_lines
from gateway.policies.store import StaleVersion, VersionKind
from gateway.records import Outcome
from gateway.stores.guard import STORE_FAILURES

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from gateway.domain.model import Space
    from gateway.domain.principal import Principal
    from gateway.policies.validate import Problem
    from gateway.runtime.services import Services

log = logging.getLogger("gateway.admin")

HERE = Path(__file__).resolve().parent
_templates = jinja2.Environment(
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
DEV_LOGIN = "/auth/dev"  # the demo's persona picker (gateway.identity.dev_login)

AUDIT_PAGE = 50
VERSIONS_SHOWN = 20
TURNS_SHOWN = 300  # impact details listed in a preview (the summary counts them all)
MAX_BOX_LINES = 1000
MAX_REASON = 500  # what the version history keeps
# The actions "who can" asks about: those asked of a space itself.
WHO_ACTIONS = tuple(
    sorted(a.value for a in Action if a not in {Action.ADMINISTER, Action.INVITE, Action.JOIN})
)


def routes(services: Services) -> list[Route]:
    """The page's routes, for the app's route list."""
    page = AdminPage(services)
    return [
        Route("/admin", page.index, methods=["GET"], name="admin"),
        Route("/admin/who", page.who, methods=["GET"], name="admin_who"),
        Route("/admin/validate", page.validate, methods=["POST"]),
        Route("/admin/preview", page.preview, methods=["POST"]),
        Route("/admin/apply", page.apply, methods=["POST"]),
        Route("/admin/access", page.access, methods=["GET"], name="admin_access"),
        Route("/admin/access/revoke", page.revoke, methods=["POST"]),
        Route("/admin/access/restore", page.restore, methods=["POST"]),
        Route("/admin/static/{name}", _static, methods=["GET"]),
    ]


@dataclass(frozen=True, slots=True)
class Access:
    """One principal's answer to "may they do this to that space", and why."""

    subject: str  # user:EMAIL, or persona:NAME for a newcomer of that persona
    roles: str
    allowed: bool
    why: str


async def who_can(services: Services, space: Space, action: str, now: datetime) -> list[Access]:
    """Everyone the gateway has seen, and a newcomer of each persona: whether they may
    ``action`` ``space``, with the line (and membership) that decides it; allowed first.
    The decisions are the compiled ones (:mod:`gateway.policies.admin.whocan`), as the admin
    API's ``whoCanAccess`` and ``gateway access-report --who`` give them."""
    found = await population.gather(services.stores, services.records)
    report = whocan.who_can(services.policy, found.subjects, [space], now, action=action)
    rows = [
        Access(row.subject.name, row.subject.label, decision.allowed, decision.why(report.source))
        for row in report.rows
        for decision in row.decisions
    ]
    return sorted(rows, key=lambda a: (not a.allowed, a.subject))


class AdminPage:
    """The page's handlers, over the services the app built."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # --- pages -------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        """The version in force, its lines (filtered), the edit form, versions, audit log."""
        return await self._guarded(request, self._index)

    async def _index(self, request: Request, form: FormData | None) -> Response:
        services = self.services
        query = request.query_params
        store = services.policy_store
        number = services.policy.number
        in_force = await store.version(number) if number else None
        if in_force is None:
            in_force = await services.policy_admin.latest()
        filters = {name: query.get(name, "").strip() for name in FIELDS}
        every = policy_lines(services.policy.policy)
        log_filter = {name: query.get(f"log_{name}", "").strip() for name in ("actor", "action")}
        outcome = query.get("log_outcome", "")
        entries = await services.records.entries(
            actor=log_filter["actor"] or None,
            action=log_filter["action"] or None,
            outcome=Outcome(outcome) if outcome in set(Outcome) else None,
            before_id=_number(query.get("log_before")),
            limit=AUDIT_PAGE + 1,
        )
        applied = _number(query.get("applied"))
        return self._page(
            request,
            "page.html",
            in_force=in_force,
            latest=await store.latest_number(),
            applied=await store.version(applied) if applied else None,
            filters=filters,
            lines=matching(every, **filters),
            total=len(every),
            log_filter={**log_filter, "outcome": outcome if outcome in set(Outcome) else ""},
            outcomes=[o.value for o in Outcome],
            entries=[(e, _detail(e.detail)) for e in entries[:AUDIT_PAGE]],
            older=entries[AUDIT_PAGE - 1].id if len(entries) > AUDIT_PAGE else None,
            versions=await store.versions(first=VERSIONS_SHOWN),
            edit=_Edit(),
            checked=EditCheck(),
            actions=WHO_ACTIONS,
        )

    async def who(self, request: Request) -> Response:
        """Who can do an action on a space (read by default), and why."""
        return await self._guarded(request, self._who)

    async def _who(self, request: Request, form: FormData | None) -> Response:
        value = request.query_params.get("space", "").strip()
        action = request.query_params.get("action", Action.READ.value)
        context: dict[str, Any] = {"value": value, "action": action, "actions": WHO_ACTIONS}
        if not value:
            return self._page(request, "who.html", **context)
        if action not in WHO_ACTIONS:
            message = f"ask about one of: {', '.join(WHO_ACTIONS)}"
            return self._page(request, "who.html", 400, message=message, **context)
        try:
            space = await population.find_space(self.services.stores, value)
        except population.NoSuchSpace as exc:
            return self._page(request, "who.html", 404, message=str(exc), **context)
        rows = await who_can(self.services, space, action, datetime.now(UTC))
        return self._page(request, "who.html", space=space, rows=rows, **context)

    # --- sessions and offboarding ------------------------------------------------
    async def access(self, request: Request) -> Response:
        """The live sessions (of one person, with ``user``), and the revoke and restore forms."""
        return await self._guarded(request, self._access)

    async def _access(
        self, request: Request, form: FormData | None, status: int = 200, **context: Any
    ) -> Response:
        user = request.query_params.get("user", "").strip() or None
        principal = None
        if user:
            try:
                principal = principal_key(user)
            except OffboardingRefused as exc:
                context.setdefault("message", str(exc))
                status = 400
        found = await self._offboarding().sessions.live(datetime.now(UTC), principal)
        context.setdefault("principal_value", "")
        context.setdefault("revoked", None)
        return self._page(request, "access.html", status, sessions=found, user=principal, **context)

    async def revoke(self, request: Request) -> Response:
        """Offboard a person (the same action as ``gateway access revoke``)."""
        return await self._guarded(request, self._revoke)

    async def _revoke(self, request: Request, form: FormData | None) -> Response:
        who, reason = _text(form, "principal"), _text(form, "reason")
        principal: Principal = request.user
        try:
            done = await self._offboarding().revoke(
                who,
                actor=principal.id,
                issuer=principal.issuer,
                reason=reason,
                now=datetime.now(UTC),
            )
        except OffboardingRefused as exc:
            status = 404 if exc.unknown else 400
            return await self._access(request, form, status, message=str(exc), principal_value=who)
        return await self._access(request, form, revoked=done)

    async def restore(self, request: Request) -> Response:
        """Lift a revoke (``gateway access restore``)."""
        return await self._guarded(request, self._restore)

    async def _restore(self, request: Request, form: FormData | None) -> Response:
        who, reason = _text(form, "principal"), _text(form, "reason")
        principal: Principal = request.user
        try:
            lifted = await self._offboarding().restore(
                who,
                actor=principal.id,
                issuer=principal.issuer,
                reason=reason,
                now=datetime.now(UTC),
            )
        except OffboardingRefused as exc:
            status = 404 if exc.unknown else 400
            return await self._access(request, form, status, message=str(exc))
        message = (
            f"Access of {principal_key(who)} restored: tokens issued before "
            f"{lifted:%Y-%m-%d %H:%M:%S} UTC are accepted again (audited)."
        )
        return await self._access(request, form, message=message)

    def _offboarding(self) -> Offboarding:
        settings = self.services.settings
        return Offboarding(
            self.services.stores, self.services.records, idle_timeout=settings.session_idle_timeout
        )

    # --- changes -----------------------------------------------------------------
    async def validate(self, request: Request) -> Response:
        """Findings per line of the edit form's two boxes, as JSON (the page's script)."""
        return await self._guarded(request, self._validate, json=True)

    async def _validate(self, request: Request, form: FormData | None) -> Response:
        edit = _Edit.of(form)
        base = (await self.services.policy_admin.latest()).policy()
        checked = check_edit(base, edit.add, edit.remove)
        return JSONResponse(
            {
                "ok": checked.ok,
                "add": [_finding(p) for p in checked.add],
                "remove": [_finding(p) for p in checked.remove],
            },
            headers=HEADERS,
        )

    async def preview(self, request: Request) -> Response:
        """What an edit, or a rollback, would do; nothing changes."""
        return await self._guarded(request, self._preview)

    async def _preview(self, request: Request, form: FormData | None) -> Response:
        edit = _Edit.of(form)
        found = await self._propose(request, edit)
        if isinstance(found, Response):
            return found
        return self._preview_page(request, edit, found)

    async def apply(self, request: Request) -> Response:
        """Apply a previewed change against the version it was previewed on."""
        return await self._guarded(request, self._apply)

    async def _apply(self, request: Request, form: FormData | None) -> Response:
        edit = _Edit.of(form)
        expected = _number(form.get("expected_version") if form else None)
        if expected is None:
            return self._notice(request, 400, "Bad request", "expected_version is missing.")
        found = await self._propose(request, edit)
        if isinstance(found, Response):
            return found
        principal: Principal = request.user
        kind = VersionKind.ROLLBACK if edit.rollback_to else VersionKind.APPLY
        try:
            version = await self.services.policy_admin.apply(
                found,
                expected=expected,
                actor=principal.id,
                issuer=principal.issuer,
                reason=edit.reason or None,
                kind=kind,
            )
        except ChangeRefused as exc:
            return self._preview_page(request, edit, found, 422, refused=exc.problems)
        except StaleVersion as exc:
            # The preview below is of the same change against the version now in force.
            return self._preview_page(request, edit, found, 409, stale=str(exc))
        log.info("%s put policy v%d in force from the admin page", principal.id, version.number)
        return RedirectResponse(f"/admin?applied={version.number}", status_code=303)

    async def _propose(self, request: Request, edit: _Edit) -> Proposal | Response:
        """The proposal, or the page saying what is wrong with the edit itself."""
        admin = self.services.policy_admin
        if edit.rollback_to is not None:
            try:
                return await admin.propose_rollback(edit.rollback_to)
            except ChangeRefused as exc:
                return self._notice(request, 404, "No such version", str(exc))
        base = (await admin.latest()).policy()
        checked = check_edit(base, edit.add, edit.remove)
        if not checked.ok:
            message = "The edit has errors: nothing was previewed or changed."
            return self._edit_again(request, edit, checked, message)
        if not (checked.adding or checked.removing):
            message = "Nothing to preview: write lines to add or to remove."
            return self._edit_again(request, edit, checked, message)
        return await admin.propose_edit(checked.adding, checked.removing)

    # --- rendering ---------------------------------------------------------------
    def _preview_page(
        self,
        request: Request,
        edit: _Edit,
        proposal: Proposal,
        status: int = 200,
        *,
        refused: list[str] | None = None,
        stale: str | None = None,
    ) -> Response:
        impact = proposal.impact
        lines = proposal.text.splitlines()
        findings = [
            (p, lines[p.line - 1].strip() if 0 < p.line <= len(lines) else "")
            for p in proposal.findings
        ]
        return self._page(
            request,
            "preview.html",
            status,
            edit=edit,
            proposal=proposal,
            findings=findings,
            summary=[str(g) for g in impact.summary()] if impact else [],
            turns=impact.turns[:TURNS_SHOWN] if impact else (),
            turns_total=len(impact.turns) if impact else 0,
            refused=refused or [],
            stale=stale,
            checked=EditCheck(),
        )

    def _edit_again(
        self, request: Request, edit: _Edit, checked: EditCheck, message: str
    ) -> Response:
        return self._page(
            request, "preview.html", 422, edit=edit, proposal=None, checked=checked, message=message
        )

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
        body = _templates.get_template(name).render(principal=request.user, **context)
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


@dataclass(frozen=True, slots=True)
class _Edit:
    """What the edit and rollback forms send."""

    add_text: str = ""
    remove_text: str = ""
    reason: str = ""
    rollback_to: int | None = None

    @property
    def add(self) -> list[str]:
        return self.add_text.splitlines()[:MAX_BOX_LINES]

    @property
    def remove(self) -> list[str]:
        return self.remove_text.splitlines()[:MAX_BOX_LINES]

    @classmethod
    def of(cls, form: FormData | None) -> _Edit:
        def text(name: str) -> str:
            value = form.get(name, "") if form else ""
            return value if isinstance(value, str) else ""

        return cls(
            add_text=text("add"),
            remove_text=text("remove"),
            reason=" ".join(text("reason").split())[:MAX_REASON],
            rollback_to=_number(text("rollback_to")),
        )


def _text(form: FormData | None, name: str) -> str:
    value = form.get(name) if form else None
    return value.strip()[:MAX_REASON] if isinstance(value, str) else ""


def _number(value: object) -> int | None:
    """A version or entry number from a form or query (None: absent, or not one: a database
    would refuse a number past its integers)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def _finding(p: Problem) -> dict[str, Any]:
    return {"line": p.line, "severity": p.severity.value, "reason": p.reason}


def _detail(detail: dict[str, Any]) -> str:
    return json.dumps(detail, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@functools.cache
def _static_file(name: str) -> bytes:
    return (HERE / "static" / "admin" / name).read_bytes()


async def _static(request: Request) -> Response:
    """The page's stylesheet and script (anyone may have them: they hold no policy)."""
    name = request.path_params["name"]
    media_type = _STATIC.get(name)
    if media_type is None:
        return Response("not found", status_code=404, media_type="text/plain")
    body = _static_file(name)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    return Response(body, media_type=media_type, headers=headers)
