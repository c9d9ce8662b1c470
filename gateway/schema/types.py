"""The node types of the schema: thin views over domain objects, resolved through loaders.

Every type implements Relay ``Node``; its global id is ``Type:store:native-id``.
Guarded fields ask the request's authorizer once per (field, domain) and come
back null when denied.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.domain import model as domain
from gateway.domain.ids import node_id
from gateway.domain.model import SpaceRole, StoreName
from gateway.domain.permissions import PEOPLE, Action, Resource
from gateway.schema.context import context_of
from gateway.schema.pagination import connection, page_size
from gateway.stores import federation
from gateway.stores.cursors import NamePosition, TimePosition

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from gateway.schema.invitations import Invitation


# strawberry.enum registers a domain enum in place and returns the same class; naming that
# class by plain assignment lets type checkers read the names as types in annotations.
strawberry.enum(domain.SpaceKind, description="What a space is for.")
strawberry.enum(domain.StoreName, name="Store", description="Which store holds it.")
SpaceKind = domain.SpaceKind
Store = domain.StoreName


@strawberry.enum(description="The viewer's role in a space.")
class ViewerRole(enum.Enum):
    OWNER = "space_owner"
    MEMBER = "space_member"
    GUEST = "space_guest"


_ROLE_RANK = {SpaceRole.GUEST: 0, SpaceRole.MEMBER: 1, SpaceRole.OWNER: 2}


@strawberry.type(description="A profile; email and department are shown only where policy allows.")
class Person(relay.Node):
    nid: relay.NodeID[str]
    _person: strawberry.Private[domain.Person]

    @classmethod
    def of(cls, person: domain.Person) -> Person:
        return cls(nid=node_id(person.store, person.id), _person=person)

    @strawberry.field
    def display_name(self) -> str:
        return self._person.display_name

    @strawberry.field
    def handle(self) -> str:
        return self._person.handle

    @strawberry.field
    def organisation(self) -> str | None:
        return self._person.organisation

    @strawberry.field
    def title(self) -> str | None:
        return self._person.title

    def _may_see(self, info: Info, field: Resource) -> bool:
        ctx = context_of(info)
        own = ctx.owns(self._person.email)
        dom = f"{PEOPLE}/{self._person.store.value}"
        return ctx.authorizer.allows(field.value, dom, Action.READ.value, own=own)

    @strawberry.field(description="Only for callers the policy allows (and always your own).")
    def email(self, info: Info) -> str | None:
        return self._person.email if self._may_see(info, Resource.PERSON_EMAIL) else None

    @strawberry.field(description="Only for callers the policy allows.")
    def department(self, info: Info) -> str | None:
        if not self._may_see(info, Resource.PERSON_DEPARTMENT):
            return None
        return self._person.department


async def _reveals(info: Info, store: StoreName, space_id: str) -> bool:
    """Whether hidden content of this space is shown to the caller (they moderate it)."""
    ctx = context_of(info)
    space = await ctx.loaders.space.load((store, space_id))
    return space is not None and ctx.read_scope.for_store(store).reveals(space)


async def _person(info: Info, store: StoreName, person_id: str | None) -> Person | None:
    if person_id is None:
        return None
    found = await context_of(info).loaders.person.load((store, person_id))
    return Person.of(found) if found is not None else None


@strawberry.type(description="A group, a Q&A forum or a prototype-feedback space.")
class Space(relay.Node):
    nid: relay.NodeID[str]
    _space: strawberry.Private[domain.Space]

    @classmethod
    def of(cls, space: domain.Space) -> Space:
        return cls(nid=node_id(space.store, space.id), _space=space)

    def cursor(self) -> str:
        s = self._space
        return NamePosition(s.store, s.name, s.id).encode()

    @strawberry.field
    def kind(self) -> SpaceKind:
        return self._space.kind

    @strawberry.field
    def store(self) -> Store:
        return self._space.store

    @strawberry.field
    def name(self) -> str:
        return self._space.name

    @strawberry.field
    def description(self) -> str:
        return self._space.description

    @strawberry.field(
        description="open, restricted or shared (internal); public, members, "
        "trusted or private (community)."
    )
    def visibility(self) -> str:
        return self._space.visibility.value

    @strawberry.field
    def tags(self) -> list[str]:
        return list(self._space.tags)

    @strawberry.field(description="Members whose membership has not expired.")
    async def member_count(self, info: Info) -> int:
        return await context_of(info).loaders.member_count.load((self._space.store, self._space.id))

    @strawberry.field(description="Your role in this space, if you hold one.")
    def viewer_role(self, info: Info) -> ViewerRole | None:
        roles = [
            m.role
            for m in context_of(info).authorizer.memberships
            if m.store == self._space.store and m.space_id == self._space.id
        ]
        if not roles:
            return None
        return ViewerRole(max(roles, key=_ROLE_RANK.__getitem__).value)

    @strawberry.field
    async def questions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        unanswered: bool = False,
        tag: str | None = None,
        featured: bool = False,
    ) -> relay.Connection[Question]:
        # Batched across every space on the page: one statement per store, not one per space.
        ctx = context_of(info)
        limit = page_size(first, ctx.settings)
        store = self._space.store
        cursor = TimePosition.decode(after).for_store(store) if after else None
        reveal = ctx.read_scope.for_store(store).reveals(self._space)
        page = await ctx.loaders.space_questions.load(
            (store, self._space.id, limit, cursor, unanswered, tag, featured, reveal)
        )
        nodes = [Question.of(q) for q in page.items]
        return connection(nodes, page.has_next, Question.cursor, has_previous=after is not None)

    @strawberry.field(
        description="Invitations to this space, newest first: only for those who may manage "
        "its members (empty for everyone else)."
    )
    async def invitations(
        self, info: Info
    ) -> list[Annotated[Invitation, strawberry.lazy("gateway.schema.invitations")]]:
        from gateway.schema.invitations import Invitation

        ctx = context_of(info)
        space = self._space
        if not ctx.authorizer.allows(Resource.SPACE.value, space.key, Action.MANAGE_MEMBERS.value):
            return []
        found = await ctx.loaders.invitations.load((space.store, space.id))
        return [Invitation.of(i) for i in found]

    @strawberry.field
    async def prototypes(self, info: Info, first: int | None = None) -> relay.Connection[Prototype]:
        ctx = context_of(info)
        limit = page_size(first, ctx.settings)
        page = await ctx.loaders.prototypes.load((self._space.store, self._space.id, limit))
        nodes = [Prototype.of(p) for p in page.items]
        return connection(nodes, page.has_next, lambda n: n.nid, has_previous=False)


@strawberry.type(description="A question; its answers are a connection.")
class Question(relay.Node):
    nid: relay.NodeID[str]
    _question: strawberry.Private[domain.Question]

    @classmethod
    def of(cls, question: domain.Question) -> Question:
        return cls(nid=node_id(question.store, question.id), _question=question)

    def cursor(self) -> str:
        q = self._question
        return TimePosition(q.created_at, q.store, q.id).encode()

    @strawberry.field
    def title(self) -> str:
        return self._question.title

    @strawberry.field
    def body(self) -> str:
        return self._question.body

    @strawberry.field
    def tags(self) -> list[str]:
        return list(self._question.tags)

    @strawberry.field
    def answered(self) -> bool:
        return self._question.answered

    @strawberry.field(description="Hidden by a moderator: only moderators see it at all.")
    def hidden(self) -> bool:
        return self._question.hidden

    @strawberry.field(description="Featured by a moderator (list with `featured: true`).")
    def featured(self) -> bool:
        return self._question.featured

    @strawberry.field
    def created_at(self) -> datetime:
        return self._question.created_at

    @strawberry.field
    async def author(self, info: Info) -> Person | None:
        return await _person(info, self._question.store, self._question.author_id)

    @strawberry.field
    async def space(self, info: Info) -> Space | None:
        found = await context_of(info).loaders.space.load(
            (self._question.store, self._question.space_id)
        )
        return Space.of(found) if found is not None else None

    @strawberry.field
    async def answer_count(self, info: Info) -> int:
        q = self._question
        if q.answer_count is not None:
            # Counted by the scoped read that found it, with the same reveal rule.
            return q.answer_count
        reveal = await _reveals(info, q.store, q.space_id)
        return await context_of(info).loaders.answer_count.load((q.store, q.id, reveal))

    @strawberry.field
    async def accepted_answer(self, info: Info) -> Answer | None:
        if self._question.accepted_answer_id is None:
            return None
        found = await context_of(info).loaders.answer.load(
            (self._question.store, self._question.accepted_answer_id)
        )
        return Answer.of(found) if found is not None else None

    @strawberry.field
    async def answers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Answer]:
        ctx = context_of(info)
        limit = page_size(first, ctx.settings)
        q = self._question
        cursor = TimePosition.decode(after).for_store(q.store) if after else None
        reveal = await _reveals(info, q.store, q.space_id)
        page = await ctx.loaders.answers.load((q.store, q.id, limit, cursor, reveal))
        nodes = [Answer.of(a) for a in page.items]
        return connection(nodes, page.has_next, Answer.cursor, has_previous=after is not None)


@strawberry.type(description="An answer to a question.")
class Answer(relay.Node):
    nid: relay.NodeID[str]
    _answer: strawberry.Private[domain.Answer]

    @classmethod
    def of(cls, answer: domain.Answer) -> Answer:
        return cls(nid=node_id(answer.store, answer.id), _answer=answer)

    def cursor(self) -> str:
        a = self._answer
        return TimePosition(a.created_at, a.store, a.id).encode()

    @strawberry.field
    def body(self) -> str:
        return self._answer.body

    @strawberry.field
    def accepted(self) -> bool:
        return self._answer.accepted

    @strawberry.field(description="Hidden by a moderator: only moderators see it at all.")
    def hidden(self) -> bool:
        return self._answer.hidden

    @strawberry.field
    def created_at(self) -> datetime:
        return self._answer.created_at

    @strawberry.field
    async def author(self, info: Info) -> Person | None:
        return await _person(info, self._answer.store, self._answer.author_id)

    @strawberry.field
    async def question(self, info: Info) -> Question | None:
        found = await context_of(info).loaders.question.load(
            (self._answer.store, self._answer.question_id)
        )
        return Question.of(found) if found is not None else None


@strawberry.type(description="A prototype shown in a prototype-feedback space.")
class Prototype(relay.Node):
    nid: relay.NodeID[str]
    _prototype: strawberry.Private[domain.Prototype]

    @classmethod
    def of(cls, prototype: domain.Prototype) -> Prototype:
        return cls(nid=node_id(prototype.store, prototype.id), _prototype=prototype)

    @strawberry.field
    def name(self) -> str:
        return self._prototype.name

    @strawberry.field
    def version(self) -> str:
        return self._prototype.version

    @strawberry.field
    def description(self) -> str:
        return self._prototype.description

    @strawberry.field
    async def space(self, info: Info) -> Space | None:
        found = await context_of(info).loaders.space.load(
            (self._prototype.store, self._prototype.space_id)
        )
        return Space.of(found) if found is not None else None

    @strawberry.field
    async def feedback(self, info: Info, first: int | None = None) -> relay.Connection[Feedback]:
        ctx = context_of(info)
        limit = page_size(first, ctx.settings)
        page = await ctx.loaders.feedback_page.load(
            (self._prototype.store, self._prototype.id, limit)
        )
        nodes = [Feedback.of(f) for f in page.items]
        return connection(nodes, page.has_next, lambda n: n.nid, has_previous=False)


@strawberry.type(description="Feedback on a prototype; the internal note is employee-only.")
class Feedback(relay.Node):
    nid: relay.NodeID[str]
    _feedback: strawberry.Private[domain.Feedback]

    @classmethod
    def of(cls, feedback: domain.Feedback) -> Feedback:
        return cls(nid=node_id(feedback.store, feedback.id), _feedback=feedback)

    @strawberry.field
    def rating(self) -> int:
        return self._feedback.rating

    @strawberry.field
    def body(self) -> str:
        return self._feedback.body

    @strawberry.field
    def created_at(self) -> datetime:
        return self._feedback.created_at

    @strawberry.field
    async def author(self, info: Info) -> Person | None:
        return await _person(info, self._feedback.store, self._feedback.author_id)

    @strawberry.field(description="Only for callers the policy allows in this space.")
    async def internal_note(self, info: Info) -> str | None:
        ctx = context_of(info)
        space = await ctx.loaders.space.load((self._feedback.store, self._feedback.space_id))
        if space is None:
            return None
        allowed = ctx.authorizer.allows(
            Resource.FEEDBACK_INTERNAL_NOTE.value, space.key, Action.READ.value
        )
        return self._feedback.internal_note if allowed else None


async def questions_connection(
    info: Info,
    space_ids: Mapping[StoreName, Sequence[str]] | None,
    first: int | None,
    after: str | None,
    unanswered: bool,
    tag: str | None,
    featured: bool = False,
) -> relay.Connection[Question]:
    """Questions newest first, across stores or in the given spaces, as a connection."""
    ctx = context_of(info)
    limit = page_size(first, ctx.settings)
    position = TimePosition.decode(after) if after else None
    merged = await federation.list_questions(
        ctx.stores,
        ctx.read_scope,
        space_ids=space_ids,
        unanswered=unanswered,
        tag=tag,
        after=position,
        limit=limit,
        featured=featured,
    )
    ctx.report(merged.failures, info.path.as_list())
    nodes = [Question.of(q) for q in merged.page.items]
    return connection(nodes, merged.page.has_next, Question.cursor, has_previous=bool(after))


@strawberry.type(description="A role you hold in a space, from the store's memberships.")
class ViewerMembership:
    role: ViewerRole
    expires_at: datetime | None
    _membership: strawberry.Private[domain.Membership]

    @strawberry.field(description="Null when the policy does not let you read it.")
    async def space(self, info: Info) -> Space | None:
        m = self._membership
        found = await context_of(info).loaders.space.load((m.store, m.space_id))
        return Space.of(found) if found is not None else None


@strawberry.type(description="Who is asking: the principal the request was authenticated as.")
class Viewer:
    id: str
    display_name: str
    roles: list[str]
    issuer: str | None
    email: str | None
    organisation: str | None
    is_guest: bool

    @strawberry.field(description="Your unexpired memberships, in both stores.")
    def memberships(self, info: Info) -> list[ViewerMembership]:
        return [
            ViewerMembership(role=ViewerRole(m.role.value), expires_at=m.expires_at, _membership=m)
            for m in context_of(info).authorizer.memberships
        ]
