"""The admin page's sessions and offboarding: the live sessions (of one person, or all),
and the revoke and restore forms, the same actions as ``gateway access revoke`` and
``restore`` (:mod:`gateway.identity.offboarding`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.http.admin_page.base import AdminPageBase
from gateway.http.admin_page.forms import form_text
from gateway.identity.offboarding import OffboardingRefused, principal_key

if TYPE_CHECKING:
    from starlette.datastructures import FormData
    from starlette.requests import Request
    from starlette.responses import Response

    from gateway.domain.principal import Principal


class AccessPage(AdminPageBase):
    """The sessions and offboarding page."""

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
        sessions = self.services.offboarding.sessions
        found = await sessions.live(datetime.now(UTC), principal)
        context.setdefault("principal_value", "")
        context.setdefault("revoked", None)
        return self._page(request, "access.html", status, sessions=found, user=principal, **context)

    async def revoke(self, request: Request) -> Response:
        """Offboard a person (the same action as ``gateway access revoke``)."""
        return await self._guarded(request, self._revoke)

    async def _revoke(self, request: Request, form: FormData | None) -> Response:
        who, reason = form_text(form, "principal"), form_text(form, "reason")
        principal: Principal = request.user
        try:
            done = await self.services.offboarding.revoke(
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
        who, reason = form_text(form, "principal"), form_text(form, "reason")
        principal: Principal = request.user
        try:
            lifted = await self.services.offboarding.restore(
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
