"""The node types of the schema: thin views over domain objects, resolved through loaders.

Every type implements Relay ``Node``; its global id is ``Type:store:native-id``.
Guarded fields ask the request's authorizer once per (field, domain) and come
back null when denied.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.domain import ids
from gateway.domain import model as domain
from gateway.domain.ids import node_id
from gateway.domain.model import StoreName
from gateway.domain.permissions import Action, Resource
from gateway.schema.context import context_of
from gateway.schema.enums import SpaceKind, SpaceRole, Store, Visibility
from gateway.schema.pagination import connection, page_size
from gateway.schema.people import Person, person_view
from gateway.schema.recognition import gave_kudos, kudos_count
from gateway.stores import federation
from gateway.stores.cursors import NamePosition, TimePosition

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from gateway.schema.invitations import Invitation


__all__ = [
    "Answer",
    "Feedback",
    "Person",
    "Prototype",
    "Question",
    "Space",
    "SpaceKind",
    "SpaceRole",
    "Store",
    "questions_connection",
]

AUTHOR = "Who wrote it; null when their profile is gone. `node` answers their id for you too."
FIRST = Annotated[
    int | None,
    strawberry.argument(description="How many, at most (default and maximum set by the gateway)."),
]
AFTER = Annotated[
    str | None,
    strawberry.argument(description="Start after this cursor (an edge's, or pageInfo.endCursor)."),
]
LAST = Annotated[
    int | None,
    strawberry.argument(description="How many, at most, from the end (paging backward)."),
]
BEFORE = Annotated[
    str | None,
    strawberry.argument(description="End before this cursor (an edge's, or pageInfo.startCursor)."),
]
UNANSWERED = Annotated[bool, strawberry.argument(description="Only those with no accepted answer.")]
TAG = Annotated[str | None, strawberry.argument(description="Only those with this tag.")]
FEATURED = Annotated[bool, strawberry.argument(description="Only those a moderator featured.")]

_ROLE_RANK = {SpaceRole.GUEST: 0, SpaceRole.MEMBER: 1, SpaceRole.OWNER: 2}


async def _reveals(info: Info, store: StoreName, space_id: str) -> bool:
    """Whether hidden content of this space is shown to the caller (they moderate it)."""
    ctx = context_of(info)
    space = await ctx.loaders.space.load((store, space_id))
    return space is not None and ctx.read_scope.for_store(store).reveals(space)


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

    @strawberry.field(description="What the space is for.")
    def kind(self) -> SpaceKind:
        return self._space.kind

    @strawberry.field(description="The store that holds it.")
    def store(self) -> Store:
        return self._space.store

    @strawberry.field(description="Its name (lists of spaces are ordered by it).")
    def name(self) -> str:
        return self._space.name

    @strawberry.field(description="What it is about, as its owners wrote (may be empty).")
    def description(self) -> str:
        return self._space.description

    @strawberry.field(
        description="Who may find it: OPEN, RESTRICTED or SHARED (internal); PUBLIC, "
        "MEMBERS, TRUSTED or PRIVATE (community)."
    )
    def visibility(self) -> Visibility:
        return self._space.visibility

    @strawberry.field(description="Its tags (the community store's categories' tags).")
    def tags(self) -> list[str]:
        return list(self._space.tags)

    @strawberry.field(description="Members whose membership has not expired.")
    async def member_count(self, info: Info) -> int:
        return await context_of(info).loaders.member_count.load((self._space.store, self._space.id))

    @strawberry.field(description="Your role in this space, if you hold one.")
    def viewer_role(self, info: Info) -> SpaceRole | None:
        roles = [
            m.role
            for m in context_of(info).authorizer.memberships
            if m.store == self._space.store and m.space_id == self._space.id
        ]
        if not roles:
            return None
        return max(roles, key=_ROLE_RANK.__getitem__)

    @strawberry.field(description="Its questions, newest first.")
    async def questions(
        self,
        info: Info,
        first: FIRST = None,
        after: AFTER = None,
        unanswered: UNANSWERED = False,
        tag: TAG = None,
        featured: FEATURED = False,
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

    @strawberry.field(
        description="Its prototypes, by name (prototype-feedback spaces): the first page "
        "only, as the stores page them by parent without a cursor."
    )
    async def prototypes(self, info: Info, first: FIRST = None) -> relay.Connection[Prototype]:
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

    @strawberry.field(description="Its title.")
    def title(self) -> str:
        return self._question.title

    @strawberry.field(description="Its text, as written (plain text; @mentions included).")
    def body(self) -> str:
        return self._question.body

    @strawberry.field(description="Its tags.")
    def tags(self) -> list[str]:
        return list(self._question.tags)

    @strawberry.field(description="Whether an answer has been accepted.")
    def answered(self) -> bool:
        return self._question.answered

    @strawberry.field(description="Hidden by a moderator: only moderators see it at all.")
    def hidden(self) -> bool:
        return self._question.hidden

    @strawberry.field(description="Featured by a moderator (list with `featured: true`).")
    def featured(self) -> bool:
        return self._question.featured

    @strawberry.field(description="When it was asked.")
    def created_at(self) -> datetime:
        return self._question.created_at

    @strawberry.field(description=AUTHOR)
    async def author(self, info: Info) -> Person | None:
        return await person_view(info, self._question.store, self._question.author_id)

    @strawberry.field(description="The space it was asked in.")
    async def space(self, info: Info) -> Space | None:
        found = await context_of(info).loaders.space.load(
            (self._question.store, self._question.space_id)
        )
        return Space.of(found) if found is not None else None

    @strawberry.field(description="How many answers you can see (answers' totalCount).")
    async def answer_count(self, info: Info) -> int:
        return await _answer_count(info, self._question)

    @strawberry.field(description="The accepted answer; null when none is (or you cannot see it).")
    async def accepted_answer(self, info: Info) -> Answer | None:
        if self._question.accepted_answer_id is None:
            return None
        found = await context_of(info).loaders.answer.load(
            (self._question.store, self._question.accepted_answer_id)
        )
        return Answer.of(found) if found is not None else None

    @strawberry.field(description="Its answers, newest first.")
    async def answers(
        self, info: Info, first: FIRST = None, after: AFTER = None
    ) -> AnswerConnection:
        ctx = context_of(info)
        limit = page_size(first, ctx.settings)
        q = self._question
        cursor = TimePosition.decode(after).for_store(q.store) if after else None
        reveal = await _reveals(info, q.store, q.space_id)
        page = await ctx.loaders.answers.load((q.store, q.id, limit, cursor, reveal))
        nodes = [Answer.of(a) for a in page.items]
        return connection(  # type: ignore[return-value]  # cls makes it one
            nodes,
            page.has_next,
            Answer.cursor,
            has_previous=after is not None,
            cls=AnswerConnection,
            question=q,
        )


async def _answer_count(info: Info, q: domain.Question) -> int:
    if q.answer_count is not None:
        # Counted by the scoped read that found it, with the same reveal rule.
        return q.answer_count
    reveal = await _reveals(info, q.store, q.space_id)
    return await context_of(info).loaders.answer_count.load((q.store, q.id, reveal))


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

    @strawberry.field(description="Its text, as written (plain text; @mentions included).")
    def body(self) -> str:
        return self._answer.body

    @strawberry.field(description="Whether the question's asker accepted it.")
    def accepted(self) -> bool:
        return self._answer.accepted

    @strawberry.field(description="Hidden by a moderator: only moderators see it at all.")
    def hidden(self) -> bool:
        return self._answer.hidden

    @strawberry.field(description="When it was written.")
    def created_at(self) -> datetime:
        return self._answer.created_at

    @strawberry.field(description=AUTHOR)
    async def author(self, info: Info) -> Person | None:
        return await person_view(info, self._answer.store, self._answer.author_id)

    @strawberry.field(description="How many people gave it kudos.")
    async def kudos(self, info: Info) -> int:
        return await kudos_count(info, ids.encode("Answer", self._answer.store, self._answer.id))

    @strawberry.field(description="Whether you gave it kudos.")
    async def viewer_gave_kudos(self, info: Info) -> bool:
        return await gave_kudos(info, ids.encode("Answer", self._answer.store, self._answer.id))

    @strawberry.field(description="The question it answers.")
    async def question(self, info: Info) -> Question | None:
        found = await context_of(info).loaders.question.load(
            (self._answer.store, self._answer.question_id)
        )
        return Question.of(found) if found is not None else None


@strawberry.type(description="A page of a question's answers, newest first.")
class AnswerConnection(relay.Connection[Answer]):
    question: strawberry.Private[domain.Question]

    @strawberry.field(
        description="How many answers the question has that you can see, on every page "
        "(one indexed count per question, batched across the page's questions)."
    )
    async def total_count(self, info: Info) -> int:
        return await _answer_count(info, self.question)


@strawberry.type(description="A prototype shown in a prototype-feedback space.")
class Prototype(relay.Node):
    nid: relay.NodeID[str]
    _prototype: strawberry.Private[domain.Prototype]

    @classmethod
    def of(cls, prototype: domain.Prototype) -> Prototype:
        return cls(nid=node_id(prototype.store, prototype.id), _prototype=prototype)

    @strawberry.field(description="Its name.")
    def name(self) -> str:
        return self._prototype.name

    @strawberry.field(description="Which version is shown, as its makers name it.")
    def version(self) -> str:
        return self._prototype.version

    @strawberry.field(description="What it is, as its makers describe it.")
    def description(self) -> str:
        return self._prototype.description

    @strawberry.field(description="The space it is shown in.")
    async def space(self, info: Info) -> Space | None:
        found = await context_of(info).loaders.space.load(
            (self._prototype.store, self._prototype.space_id)
        )
        return Space.of(found) if found is not None else None

    @strawberry.field(
        description="Feedback on it, newest first: the first page only, as the stores page "
        "it by parent without a cursor."
    )
    async def feedback(self, info: Info, first: FIRST = None) -> relay.Connection[Feedback]:
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

    @strawberry.field(description="The rating given, 1 (worst) to 5 (best).")
    def rating(self) -> int:
        return self._feedback.rating

    @strawberry.field(description="What they wrote.")
    def body(self) -> str:
        return self._feedback.body

    @strawberry.field(description="When it was given.")
    def created_at(self) -> datetime:
        return self._feedback.created_at

    @strawberry.field(description=AUTHOR)
    async def author(self, info: Info) -> Person | None:
        return await person_view(info, self._feedback.store, self._feedback.author_id)

    @strawberry.field(description="How many people gave it kudos.")
    async def kudos(self, info: Info) -> int:
        f = self._feedback
        return await kudos_count(info, ids.encode("Feedback", f.store, f.id))

    @strawberry.field(description="Whether you gave it kudos.")
    async def viewer_gave_kudos(self, info: Info) -> bool:
        f = self._feedback
        return await gave_kudos(info, ids.encode("Feedback", f.store, f.id))

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
