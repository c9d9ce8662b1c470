"""What every part of the internal adapter shares: its name, its scope columns, its roles."""

from __future__ import annotations

from adapters._base import ScopeColumns
from adapters.internal._tables import communities
from gateway.domain.model import SpaceRole, StoreName

STORE = StoreName.INTERNAL
# A community's access class and slug: what a StoreScope is compiled on.
SCOPE = ScopeColumns(communities.c.access, communities.c.slug)
ROLES = {"leader": SpaceRole.OWNER, "member": SpaceRole.MEMBER, "external": SpaceRole.GUEST}
NATIVE_ROLES = {role: native for native, role in ROLES.items()}


def check_limit(limit: int) -> None:
    """Refuse a negative page size (a caller's bug, not a user's)."""
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")


def str_or_none(value: int | None) -> str | None:
    """The gateway id of a nullable native key."""
    return None if value is None else str(value)
