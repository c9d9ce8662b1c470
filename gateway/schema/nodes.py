"""Resolving any node by global id, through the caller's read scope."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from strawberry import relay

from gateway.domain import ids
from gateway.domain.errors import InvalidId, StoreDown
from gateway.domain.model import StoreName
from gateway.domain.permissions import PEOPLE, Action, Resource
from gateway.schema.context import context_of
from gateway.schema.escalation import escalation_node
from gateway.schema.invitations import Invitation
from gateway.schema.types import Answer, Feedback, Person, Prototype, Question, Space

if TYPE_CHECKING:
    from collections.abc import Callable

    from strawberry.types import Info

    from gateway.domain.model import Person as DomainPerson
    from gateway.schema.context import Context


# Node types resolvable by global id: the loader that fetches them in scope, and the view.
_NODES: dict[str, tuple[str, Callable[[Any], relay.Node]]] = {
    "Space": ("space", Space.of),
    "Question": ("question", Question.of),
    "Answer": ("answer", Answer.of),
    "Prototype": ("prototype", Prototype.of),
    "Feedback": ("feedback", Feedback.of),
    "Person": ("person", Person.of),
    "Invitation": ("invitation", Invitation.of),
}


async def resolve_node(info: Info, global_id: str) -> relay.Node | None:
    ctx = context_of(info)
    ref = ids.decode(global_id)
    if ref.type_name not in _NODES and ref.type_name != "Escalation":
        raise InvalidId(global_id)
    if ref.type_name == "Escalation":
        # In the gateway's records, not a store: shown where its internal space is readable.
        if ref.store is not StoreName.INTERNAL:
            return None
        return await escalation_node(info, ref.native_id)
    loader_name, view = _NODES[ref.type_name]
    if ref.type_name == "Person":
        found_person = await _person(ctx, ref)
        return Person.of(found_person) if found_person is not None else None
    found = await getattr(ctx.loaders, loader_name).load((ref.store, ref.native_id))
    if found is not None and ref.type_name == "Invitation":
        # Shown to those who may manage the space's members, as Space.invitations is, and
        # to its invitee (whoever holds the verified email invited: it is theirs).
        if ctx.owns(found.email):
            return view(found)
        space = await ctx.loaders.space.load((ref.store, found.space_id))
        manage = Action.MANAGE_MEMBERS.value
        if space is None or not ctx.authorizer.allows(Resource.SPACE.value, space.key, manage):
            return None
    return view(found) if found is not None else None


async def _person(ctx: Context, ref: ids.NodeRef) -> DomainPerson | None:
    """A profile for ``node(id)``: where the person policy of its store lets the caller read
    people, and else where the caller is shown it anyway: as the author of content they can
    read (the id they were given inline; their own profile too, once they wrote something).
    The rule reads the caller's scope only, never who they are, so the answer is shared
    with callers of the same scope. Anyone else is answered like a person who does not
    exist."""
    dom = f"{PEOPLE}/{ref.store.value}"
    allowed = ctx.authorizer.allows(Resource.PERSON.value, dom, Action.READ.value)
    found = await ctx.loaders.person.load((ref.store, ref.native_id))
    if found is None or allowed:
        return found
    return found if await _authored_in_scope(ctx, found) else None


async def _authored_in_scope(ctx: Context, person: DomainPerson) -> bool:
    """Whether the person wrote anything in the caller's read scope, in any store: by their
    profile id there or their verified email (one person spans both stores by email, and
    is named by one id). Batched: one statement per store for every node of the request."""
    keys = []
    for name in ctx.stores:
        if ctx.read_scope.for_store(name).empty:
            continue
        if name is person.store:
            keys.append((name, "id", person.id))
        if person.email:
            keys.append((name, "email", person.email))
    results = await asyncio.gather(
        *(ctx.loaders.authored.load(key) for key in keys), return_exceptions=True
    )
    for result in results:
        if isinstance(result, StoreDown):
            continue  # that store's content is not shown either
        if isinstance(result, BaseException):
            raise result
        if result:
            return True
    return False
