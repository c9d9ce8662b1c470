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
from gateway.schema.feedback import Feedback, FeedbackConnection
from gateway.schema.pagination import (
    AFTER,
    BEFORE,
    COUNTED,
    FIRST,
    LAST,
    connection,
    name_cursor,
    slice_of,
    time_cursors,
)
from gateway.schema.people import AUTHOR, Person, person_view
from gateway.schema.prefetch import prefetch_questions
from gateway.schema.recognition import gave_kudos, kudos_count
from gateway.stores.cursors import NamePosition, TimePosition

if TYPE_CHECKING:
    from gateway.schema.escalation import Escalation
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
]

UNANSWERED = Annotated[bool, strawberry.argument(description="Only those with no accepted answer.")]
TAG = Annotated[str | None, strawberry.argument(description="Only those with this tag.")]
FEATURED = Annotated[bool, strawberry.argument(description="Only those a moderator featured.")]
ARCHIVED = Annotated[
    bool,
    strawberry.argument(
        description="Only archived (stale) ones, where you moderate; else only live ones."
    ),
]

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
        return cls(
            nid=node_id(space.store, space.id),
            _space=space,
            kind=space.kind,
            store=space.store,
            name=space.name,
            description=space.description,
            visibility=space.visibility,
            tags=list(space.tags),
            archive_exempt=space.archive_exempt,
        )

    def cursor(self) -> str:
        s = self._space
        return NamePosition(s.store, s.name, s.id).encode()

    kind: SpaceKind = strawberry.field(description="What the space is for.")

    store: Store = strawberry.field(description="The store that holds it.")

    name: str = strawberry.field(description="Its name (lists of spaces are ordered by it).")

    description: str = strawberry.field(
        description="What it is about, as its owners wrote (may be empty)."
    )

    visibility: Visibility = strawberry.field(
        description="Who may find it: OPEN, RESTRICTED or SHARED (internal); PUBLIC, "
        "MEMBERS, TRUSTED or PRIVATE (community)."
    )

    tags: list[str] = strawberry.field(
        description="Its tags (the community store's categories' tags)."
    )

    archive_exempt: bool = strawberry.field(
        description="Exempt from pruning: its questions are never archived as stale "
        "(a knowledge base that stays; set with setArchiveExempt)."
    )

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
        archived: ARCHIVED = False,
        last: LAST = None,
        before: BEFORE = None,
    ) -> relay.Connection[Question]:
        # Batched across every space on the page: one statement per store, not one per space.
        ctx = context_of(info)
        asked = slice_of(ctx.settings, first, after, last, before)
        store = self._space.store
        start, end = time_cursors(asked.after, asked.before, store)
        reveal = ctx.read_scope.for_store(store).reveals(self._space)
        page = await ctx.loaders.space_questions.load(
            (
                store,
                self._space.id,
                asked.limit,
                start,
                unanswered,
                tag,
                featured,
                reveal,
                archived,
                end,
                asked.backward,
            )
        )
        nodes = [Question.of(q) for q in page.items]
        await prefetch_questions(info, nodes)
        return connection(
            nodes,
            asked.has_next(page.has_next),
            Question.cursor,
            has_previous=asked.has_previous(page.has_next),
        )

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

    @strawberry.field(description="Its prototypes, by name (prototype-feedback spaces).")
    async def prototypes(
        self,
        info: Info,
        first: FIRST = None,
        after: AFTER = None,
        last: LAST = None,
        before: BEFORE = None,
    ) -> PrototypeConnection:
        ctx = context_of(info)
        asked = slice_of(ctx.settings, first, after, last, before)
        store = self._space.store
        start, end = (name_cursor(c, store) for c in (asked.after, asked.before))
        page = await ctx.loaders.prototypes.load(
            (store, self._space.id, asked.limit, start, end, asked.backward)
        )
        nodes = [Prototype.of(p) for p in page.items]
        return connection(  # type: ignore[return-value]  # cls makes it one
            nodes,
            asked.has_next(page.has_next),
            Prototype.cursor,
            has_previous=asked.has_previous(page.has_next),
            cls=PrototypeConnection,
            parent=(store, self._space.id),
        )


@strawberry.type(description="A question; its answers are a connection.")
class Question(relay.Node):
    nid: relay.NodeID[str]
    _question: strawberry.Private[domain.Question]
    # Its author and space when its list loaded them for the whole page (by field name:
    # gateway.schema.prefetch); a field not in here is loaded on its own.
    prefetched: strawberry.Private[dict[str, object]]

    @classmethod
    def of(cls, question: domain.Question) -> Question:
        return cls(
            nid=node_id(question.store, question.id),
            _question=question,
            prefetched={},
            title=question.title,
            body=question.body,
            tags=list(question.tags),
            answered=question.answered,
            hidden=question.hidden,
            featured=question.featured,
            archived=question.archived,
            created_at=question.created_at,
        )

    def cursor(self) -> str:
        q = self._question
        return TimePosition(q.created_at, q.store, q.id).encode()

    title: str = strawberry.field(description="Its title.")

    body: str = strawberry.field(
        description="Its text, as written (plain text; @mentions included)."
    )

    tags: list[str] = strawberry.field(description="Its tags.")

    answered: bool = strawberry.field(description="Whether an answer has been accepted.")

    hidden: bool = strawberry.field(
        description="Hidden by a moderator: only moderators see it at all."
    )

    featured: bool = strawberry.field(
        description="Featured by a moderator (list with `featured: true`)."
    )

    archived: bool = strawberry.field(
        description="Archived as stale: only moderators see it (list with `archived: true`)."
    )

    created_at: datetime = strawberry.field(description="When it was asked.")

    @strawberry.field(description=AUTHOR)
    def author(self, info: Info) -> Person | None:
        # Not a coroutine when the list loaded it (see gateway.schema.prefetch).
        if "author" in self.prefetched:
            found = self.prefetched["author"]
            return Person.of(found) if isinstance(found, domain.Person) else None
        return person_view(info, self._question.store, self._question.author_id)  # type: ignore[return-value]  # awaited

    @strawberry.field(description="The space it was asked in.")
    def space(self, info: Info) -> Space | None:
        if "space" in self.prefetched:
            found = self.prefetched["space"]
            return Space.of(found) if isinstance(found, domain.Space) else None
        return _space_of(info, self._question)  # type: ignore[return-value]  # awaited

    @strawberry.field(description="How many answers you can see (answers' totalCount).")
    def answer_count(self, info: Info) -> int:
        # Not a coroutine when the scoped read that found the question counted them (every
        # list does): graphql-core then completes it with no task of its own.
        counted = self._question.answer_count
        if counted is not None:
            return counted
        return _answer_count(info, self._question)  # type: ignore[return-value]  # awaited

    @strawberry.field(description="The accepted answer; null when none is (or you cannot see it).")
    async def accepted_answer(self, info: Info) -> Answer | None:
        if self._question.accepted_answer_id is None:
            return None
        found = await context_of(info).loaders.answer.load(
            (self._question.store, self._question.accepted_answer_id)
        )
        return Answer.of(found) if found is not None else None

    @strawberry.field(
        description="Where employees took it internally (a community question escalated into "
        "an internal space): shown only if you may read that space, else null as for a "
        "question never escalated."
    )
    async def escalation(
        self, info: Info
    ) -> Annotated[Escalation, strawberry.lazy("gateway.schema.escalation")] | None:
        from gateway.schema.escalation import escalation_of

        return await escalation_of(info, self._question)

    @strawberry.field(description="Its answers, newest first.")
    async def answers(
        self,
        info: Info,
        first: FIRST = None,
        after: AFTER = None,
        last: LAST = None,
        before: BEFORE = None,
    ) -> AnswerConnection:
        ctx = context_of(info)
        asked = slice_of(ctx.settings, first, after, last, before)
        q = self._question
        start, end = time_cursors(asked.after, asked.before, q.store)
        reveal = await _reveals(info, q.store, q.space_id)
        page = await ctx.loaders.answers.load(
            (q.store, q.id, asked.limit, start, reveal, end, asked.backward)
        )
        nodes = [Answer.of(a) for a in page.items]
        return connection(  # type: ignore[return-value]  # cls makes it one
            nodes,
            asked.has_next(page.has_next),
            Answer.cursor,
            has_previous=asked.has_previous(page.has_next),
            cls=AnswerConnection,
            question=q,
        )


async def _space_of(info: Info, q: domain.Question) -> Space | None:
    found = await context_of(info).loaders.space.load((q.store, q.space_id))
    return Space.of(found) if found is not None else None


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
        return cls(
            nid=node_id(answer.store, answer.id),
            _answer=answer,
            body=answer.body,
            accepted=answer.accepted,
            hidden=answer.hidden,
            created_at=answer.created_at,
        )

    def cursor(self) -> str:
        a = self._answer
        return TimePosition(a.created_at, a.store, a.id).encode()

    body: str = strawberry.field(
        description="Its text, as written (plain text; @mentions included)."
    )

    accepted: bool = strawberry.field(description="Whether the question's asker accepted it.")

    hidden: bool = strawberry.field(
        description="Hidden by a moderator: only moderators see it at all."
    )

    created_at: datetime = strawberry.field(description="When it was written.")

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

    def cursor(self) -> str:
        p = self._prototype
        return NamePosition(p.store, p.name, p.id).encode()

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

    @strawberry.field(description="Feedback on it, newest first.")
    async def feedback(
        self,
        info: Info,
        first: FIRST = None,
        after: AFTER = None,
        last: LAST = None,
        before: BEFORE = None,
    ) -> FeedbackConnection:
        ctx = context_of(info)
        asked = slice_of(ctx.settings, first, after, last, before)
        store = self._prototype.store
        start, end = time_cursors(asked.after, asked.before, store)
        page = await ctx.loaders.feedback_page.load(
            (store, self._prototype.id, asked.limit, start, end, asked.backward)
        )
        nodes = [Feedback.of(f) for f in page.items]
        return connection(  # type: ignore[return-value]  # cls makes it one
            nodes,
            asked.has_next(page.has_next),
            Feedback.cursor,
            has_previous=asked.has_previous(page.has_next),
            cls=FeedbackConnection,
            parent=(store, self._prototype.id),
        )


@strawberry.type(description="A page of a space's prototypes, by name.")
class PrototypeConnection(relay.Connection[Prototype]):
    parent: strawberry.Private[tuple[StoreName, str]]

    @strawberry.field(description=COUNTED)
    async def total_count(self, info: Info) -> int:
        return await context_of(info).loaders.prototype_count.load(self.parent)
