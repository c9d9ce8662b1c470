"""The admin page's "who can": who may do an action on a space (read by default), and the
line (and membership) that says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.domain.permissions import Action
from gateway.http.admin_page.base import AdminPageBase
from gateway.policies.admin import population, whocan
from gateway.policies.admin.judged import Judge

if TYPE_CHECKING:
    from starlette.datastructures import FormData
    from starlette.requests import Request
    from starlette.responses import Response

    from gateway.domain.model import Space
    from gateway.runtime.services import Services

# The actions "who can" asks about: those asked of a space itself.
WHO_ACTIONS = tuple(
    sorted(a.value for a in Action if a not in {Action.ADMINISTER, Action.INVITE, Action.JOIN})
)


@dataclass(frozen=True, slots=True)
class Access:
    """One principal's answer to "may they do this to that space", and why."""

    subject: str  # user:EMAIL, or persona:NAME for a newcomer of that persona
    roles: str
    allowed: bool
    why: str


async def who_can(services: Services, space: Space, action: str, now: datetime) -> list[Access]:
    """Everyone the gateway has seen, everyone else the stores hold (their roles judged, and
    the reason says how), and a newcomer of each persona: whether they may
    ``action`` ``space``, with the line (and membership) that decides it; allowed first.
    The decisions are the compiled ones (:mod:`gateway.policies.admin.whocan`), as the admin
    API's ``whoCanAccess`` and ``gateway access-report --who`` give them."""
    judge = Judge.for_settings(services.settings)
    found = await population.gather(services.stores, services.records, judge=judge)
    report = whocan.who_can(services.policy, found.subjects, [space], now, action=action)
    rows = [
        Access(
            row.subject.name,
            row.subject.label,
            decision.allowed,
            decision.why(report.source)
            + (f" ({row.subject.judged})" if row.subject.judged else ""),
        )
        for row in report.rows
        for decision in row.decisions
    ]
    return sorted(rows, key=lambda a: (not a.allowed, a.subject))


class WhoPage(AdminPageBase):
    """The "who can" page."""

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
