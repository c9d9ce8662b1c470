"""The admin page's policy pages: the version in force and its lines, the versions and the
audit log (the index), and changes to the policy.

Like the admin API and ``gateway policy``, the page is a client of
:class:`gateway.policies.admin.changes.PolicyAdmin`: a change is previewed (findings, impact,
refusals) against the version in force, then applied against that version, or refused
when another change landed in between.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, RedirectResponse, Response

from gateway.http.admin_page.base import AdminPageBase
from gateway.http.admin_page.forms import Edit, form_number
from gateway.http.admin_page.rendering import HEADERS
from gateway.http.admin_page.who import WHO_ACTIONS
from gateway.policies.admin.changes import ChangeRefused
from gateway.policies.admin.edit_check import EditCheck, check_edit
from gateway.policies.admin.guard import check_state
from gateway.policies.admin.lines import FIELDS, matching, policy_lines
from gateway.policies.invariants import InvariantError
from gateway.policies.store import StaleVersion, VersionKind
from gateway.records import Outcome

if TYPE_CHECKING:
    from starlette.datastructures import FormData
    from starlette.requests import Request

    from gateway.domain.principal import Principal
    from gateway.policies.admin.changes import Proposal
    from gateway.policies.invariants import Broken, Invariants
    from gateway.policies.validate import Problem

log = logging.getLogger("gateway.admin")

AUDIT_PAGE = 50
VERSIONS_SHOWN = 20
TURNS_SHOWN = 300  # impact details listed in a preview (the summary counts them all)


class PolicyPage(AdminPageBase):
    """The index, and the edit and rollback forms' validate, preview and apply."""

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
            before_id=form_number(query.get("log_before")),
            limit=AUDIT_PAGE + 1,
        )
        applied = form_number(query.get("applied"))
        declared, broken, problem = await self._invariants()
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
            edit=Edit(),
            checked=EditCheck(),
            actions=WHO_ACTIONS,
            invariants=declared.items if declared else (),
            invariants_source=services.invariants.name,
            invariants_problem=problem,
            broken={b.invariant: b for b in broken},
        )

    async def _invariants(self) -> tuple[Invariants | None, list[Broken], str | None]:
        """The invariants declared, those the state in force breaks, or why they do not load."""
        services = self.services
        try:
            declared = services.invariants.read()
        except InvariantError as exc:
            return None, [], str(exc)
        if not declared.items:
            return declared, [], None
        broken, _found = await check_state(
            services.policy, declared, services.stores, services.records
        )
        services.invariants.report(broken)
        return declared, broken, None

    # --- changes -----------------------------------------------------------------
    async def validate(self, request: Request) -> Response:
        """Findings per line of the edit form's two boxes, as JSON (the page's script)."""
        return await self._guarded(request, self._validate, json=True)

    async def _validate(self, request: Request, form: FormData | None) -> Response:
        edit = Edit.of(form)
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
        edit = Edit.of(form)
        found = await self._propose(request, edit)
        if isinstance(found, Response):
            return found
        return self._preview_page(request, edit, found)

    async def apply(self, request: Request) -> Response:
        """Apply a previewed change against the version it was previewed on."""
        return await self._guarded(request, self._apply)

    async def _apply(self, request: Request, form: FormData | None) -> Response:
        edit = Edit.of(form)
        expected = form_number(form.get("expected_version") if form else None)
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

    async def _propose(self, request: Request, edit: Edit) -> Proposal | Response:
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
        edit: Edit,
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
        self, request: Request, edit: Edit, checked: EditCheck, message: str
    ) -> Response:
        return self._page(
            request, "preview.html", 422, edit=edit, proposal=None, checked=checked, message=message
        )


def _finding(p: Problem) -> dict[str, Any]:
    return {"line": p.line, "severity": p.severity.value, "reason": p.reason}


def _detail(detail: dict[str, Any]) -> str:
    return json.dumps(detail, indent=2, sort_keys=True, ensure_ascii=False, default=str)
