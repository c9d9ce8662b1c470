"""The admin web page (``/admin``): the policy, changes to it, the audit log, who can see a space.

Plain server-rendered HTML, for security admins only: every request goes through the door
in :mod:`.base` first. One module per page, each a part of :class:`AdminPage`: the policy,
its versions, the audit log and changes to it (:mod:`.policy`), who can (:mod:`.who`),
sessions and offboarding (:mod:`.access`); under them the door and the rendering they
share (:mod:`.base`, :mod:`.rendering`) and what the forms send (:mod:`.forms`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from gateway.http.admin_page.access import AccessPage
from gateway.http.admin_page.policy import PolicyPage
from gateway.http.admin_page.rendering import static
from gateway.http.admin_page.who import Access, WhoPage, who_can

if TYPE_CHECKING:
    from gateway.runtime.services import Services

__all__ = ["Access", "AdminPage", "routes", "who_can"]


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
        Route("/admin/static/{name}", static, methods=["GET"]),
    ]


class AdminPage(PolicyPage, WhoPage, AccessPage):
    """The page's handlers, over the services the app built."""
