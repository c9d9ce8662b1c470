"""Resolving any node by global id, through the caller's read scope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry import relay

from gateway.domain import ids
from gateway.domain.errors import InvalidId
from gateway.domain.permissions import PEOPLE, Action, Resource
from gateway.schema.context import context_of
from gateway.schema.invitations import Invitation
from gateway.schema.types import Answer, Feedback, Person, Prototype, Question, Space

if TYPE_CHECKING:
    from collections.abc import Callable

    from strawberry.types import Info


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
    if ref.type_name not in _NODES:
        raise InvalidId(global_id)
    loader_name, view = _NODES[ref.type_name]
    if ref.type_name == "Person":
        # People are not in spaces: the person policy of their store decides.
        dom = f"{PEOPLE}/{ref.store.value}"
        if not ctx.authorizer.allows(Resource.PERSON.value, dom, Action.READ.value):
            return None  # answered exactly like a person who does not exist
    found = await getattr(ctx.loaders, loader_name).load((ref.store, ref.native_id))
    if found is not None and ref.type_name == "Invitation":
        # Shown to those who may manage the space's members, as Space.invitations is.
        space = await ctx.loaders.space.load((ref.store, found.space_id))
        manage = Action.MANAGE_MEMBERS.value
        if space is None or not ctx.authorizer.allows(Resource.SPACE.value, space.key, manage):
            return None
    return view(found) if found is not None else None
