"""The writes that grant or end access, refused with ``INVARIANT`` when they would break a
declared access invariant (:mod:`gateway.policies.invariants`): an invitation, creating a
space, removing a member. Binding an invitation at login is checked where it happens
(:mod:`gateway.runtime.caller`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.policies.admin.guard import (
    Grant,
    invitation_breaks,
    new_space_breaks,
    removal_breaks,
)
from gateway.writes import ErrorCode, refuse

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.domain.model import Space, SpaceRole
    from gateway.schema.context import Context
    from gateway.writes import Write


def _refuse_first(broken: list[str], field: str, write: Write) -> None:
    if broken:
        raise refuse(ErrorCode.INVARIANT, broken[0], field, write=write)


async def check_invitation(
    ctx: Context,
    write: Write,
    email: str,
    staff: bool,
    space: Space,
    role: SpaceRole,
    expires_at: datetime | None,
) -> None:
    """Refuse the invitation when its invitee, whoever they log in as, would break one."""
    grant = Grant(email, staff, space, role, expires_at)
    found = await invitation_breaks(
        ctx.services.invariants, ctx.authorizer.index, ctx.stores, ctx.records, grant, ctx.now
    )
    _refuse_first(found, "email", write)


async def check_new_space(ctx: Context, write: Write, space: Space) -> None:
    """Refuse creating ``space`` (its key) when anyone would break one in it."""
    found = await new_space_breaks(
        ctx.services.invariants,
        ctx.authorizer.index,
        ctx.records,
        ctx.caller.principal,
        space,
        ctx.now,
    )
    _refuse_first(found, "visibility", write)


async def check_removal(ctx: Context, write: Write, email: str | None, space: Space) -> None:
    """Refuse ending ``email``'s membership of ``space`` when that would break one."""
    if email is None:
        return
    found = await removal_breaks(
        ctx.services.invariants,
        ctx.authorizer.index,
        ctx.stores,
        ctx.records,
        email,
        space,
        ctx.now,
    )
    _refuse_first(found, "personId", write)
