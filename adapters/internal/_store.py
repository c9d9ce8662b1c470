"""The internal store adapter: an enterprise social network mapped to the gateway's domain.

:class:`InternalStore` is the facade: the statements and the mapping live in one module
per entity (``_spaces``, ``_questions``, ``_answers``, ``_prototypes``, ``_people``,
``_memberships``, ``_invitations``, ``_access``) and the forum's writes in ``_writes``;
the engine, connections, schema and health check are the shared adapters._base.SqlStore's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from adapters._ranked import empty_pages, pages_per_parent
from adapters._sql import handle_candidates, inserted_id, native_ids, native_or_missing, page
from adapters.internal import (
    _access,
    _answers,
    _invitations,
    _memberships,
    _people,
    _questions,
    _spaces,
    _writes,
)
from adapters.internal._archive import Moderation
from adapters.internal._authors import AuthorsInScope
from adapters.internal._demo import write_demo
from adapters.internal._directory import Directory
from adapters.internal._experts import ExpertCounts
from adapters.internal._prototypes import PrototypeReads
from adapters.internal._renewals import Renewals
from adapters.internal._shared import STORE, str_or_none
from adapters.internal._tables import communities, metadata
from gateway.domain.model import Page, Space
from gateway.stores.interface import WriteConflict

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Select

    from gateway.domain.demo import DemoData
    from gateway.domain.model import (
        AccessEntry,
        Answer,
        Author,
        Feedback,
        Invitation,
        Person,
        Question,
        SpaceKind,
        SpaceRole,
        StoreName,
        Visibility,
    )
    from gateway.stores.interface import NameCursor, TimeCursor
    from gateway.stores.scope import StoreScope


class InternalStore(Directory, Moderation, AuthorsInScope, PrototypeReads, ExpertCounts, Renewals):
    """The employees' collaboration network (communities, forum topics, prototypes)."""

    name: StoreName = STORE
    metadata = metadata

    # --- lifecycle --------------------------------------------------------
    async def is_empty(self) -> bool:
        """True when there is no community yet."""
        async with self._connect() as conn:
            found = await conn.scalar(select(communities.c.id).limit(1))
        return found is None

    async def load_demo(self, data: DemoData) -> None:
        """Write the internal spaces of the demo data set, in one transaction."""
        async with self._connect(write=True) as conn:
            await write_demo(conn, data)

    # --- principals (memberships and trust levels: see _directory) --------
    async def accept_invitations(self, author: Author, now: datetime) -> int:
        """Turn the email's valid invitations into memberships (an existing membership of
        the same community is kept as it is)."""
        email = author.email.strip().lower()
        profile = int(await self.ensure_author(author))
        async with self._connect(write=True) as conn:
            return await _memberships.accept_invitations(conn, email, profile, now)

    # --- spaces -----------------------------------------------------------
    async def list_spaces(
        self,
        scope: StoreScope,
        *,
        kind: SpaceKind | None,
        after: NameCursor | None,
        limit: int,
        before: NameCursor | None = None,
        backward: bool = False,
    ) -> Page[Space]:
        """Communities in scope, ordered by title then id."""
        stmt = _spaces.listing(
            scope, kind=kind, after=after, before=before, backward=backward, limit=limit
        )
        if stmt is None:
            return Page()
        rows = await self._all(stmt)
        return page([_spaces.space(row) for row in rows], limit, backward=backward)

    async def spaces_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Space]:
        """Communities in scope among ``ids``."""
        stmt, native = _spaces.by_ids(scope), native_ids(ids)
        if stmt is None or not native:
            return {}
        return {str(r.id): _spaces.space(r) for r in await self._all(stmt, {"ids": native})}

    async def member_counts(self, space_ids: Sequence[str], now: datetime) -> dict[str, int]:
        """Unexpired memberships per community."""
        stmt = _spaces.member_counts(space_ids, now)
        return {} if stmt is None else {str(c): count for c, count in await self._all(stmt)}

    # --- questions and answers ---------------------------------------------
    async def list_questions(
        self,
        scope: StoreScope,
        *,
        space_ids: Sequence[str] | None,
        unanswered: bool,
        tag: str | None,
        after: TimeCursor | None,
        limit: int,
        featured: bool = False,
        archived: bool = False,
        before: TimeCursor | None = None,
        backward: bool = False,
    ) -> Page[Question]:
        """Question topics in communities in scope (optionally only these), newest first."""
        stmt = _questions.listing_with_tags(
            scope,
            None if space_ids is None else tuple(space_ids),
            unanswered=unanswered,
            tag=tag,
            after=after,
            before=before,
            backward=backward,
            limit=limit,
            featured=featured,
            archived=archived,
            lateral=self.lateral,
        )
        if stmt is None:
            return Page()
        async with self._connect() as conn:
            found = await _questions.questions_of(conn, stmt)
        return page(found, limit, backward=backward)

    async def questions_for_spaces(
        self,
        space_ids: Sequence[str],
        *,
        unanswered: bool,
        tag: str | None,
        after: TimeCursor | None,
        limit: int,
        featured: bool = False,
        reveal_hidden: bool = False,
        archived: bool = False,
        before: TimeCursor | None = None,
        backward: bool = False,
    ) -> dict[str, Page[Question]]:
        """Question topics per community, newest first, ``limit`` each, in one statement
        (plus one for the tags); the filters and cursor of :meth:`list_questions`."""
        stmt = _questions.per_space(
            space_ids,
            unanswered=unanswered,
            tag=tag,
            after=after,
            before=before,
            backward=backward,
            limit=limit,
            featured=featured,
            reveal_hidden=reveal_hidden,
            archived=archived,
        )
        if stmt is None:
            return empty_pages(space_ids)
        async with self._connect() as conn:
            rows, tags = await _questions.rows_with_tags(conn, stmt)
        return pages_per_parent(
            space_ids, rows, limit, lambda row: _questions.question(row, tags[row.id])
        )

    async def questions_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Question]:
        """Question topics in scope among ``ids``."""
        stmt = _questions.by_ids(ids, scope)
        return {} if stmt is None else {q.id: q for q in await self._load_questions(stmt, scope)}

    async def search_questions(
        self,
        scope: StoreScope,
        text: str,
        limit: int,
        after: TimeCursor | None = None,
        *,
        before: TimeCursor | None = None,
        backward: bool = False,
    ) -> list[Question]:
        """Question topics in scope whose subject or content contains ``text`` literally."""
        stmt = _questions.search(scope, text, limit, after, before=before, backward=backward)
        return [] if stmt is None else await self._load_questions(stmt, scope)

    async def answers_for_questions(
        self,
        question_ids: Sequence[str],
        *,
        after: TimeCursor | None,
        limit: int,
        reveal_hidden: bool = False,
        before: TimeCursor | None = None,
        backward: bool = False,
    ) -> dict[str, Page[Answer]]:
        """Replies per question topic, newest first, ``limit`` each, in one statement."""
        stmt = _answers.per_question(
            question_ids,
            after=after,
            before=before,
            backward=backward,
            limit=limit,
            reveal_hidden=reveal_hidden,
        )
        if stmt is None:
            return empty_pages(question_ids)
        return pages_per_parent(question_ids, await self._all(stmt), limit, _answers.answer)

    async def answers_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Answer]:
        """Replies to question topics in scope among ``ids``."""
        stmt = _answers.by_ids(ids, scope)
        return (
            {} if stmt is None else {str(r.id): _answers.answer(r) for r in await self._all(stmt)}
        )

    async def answer_counts(
        self, question_ids: Sequence[str], *, reveal_hidden: bool = False
    ) -> dict[str, int]:
        """Number of replies per question topic (hidden ones only with ``reveal_hidden``)."""
        stmt = _answers.counts(question_ids, reveal_hidden=reveal_hidden)
        return {} if stmt is None else {str(t): count for t, count in await self._all(stmt)}

    # --- people -----------------------------------------------------------
    async def people_by_ids(self, ids: Sequence[str]) -> dict[str, Person]:
        """Profiles among ``ids``."""
        stmt = _people.by_ids(ids)
        return {} if stmt is None else {str(r.id): _people.person(r) for r in await self._all(stmt)}

    async def people_by_emails(self, emails: Sequence[str]) -> dict[str, Person]:
        """Profiles by lower-cased email (the corporate directory verifies every address)."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if not wanted:
            return {}
        return {r.email: _people.person(r) for r in await self._all(_people.by_emails(wanted))}

    async def people_by_ids_and_emails(
        self, ids: Sequence[str], emails: Sequence[str]
    ) -> tuple[dict[str, Person], dict[str, Person]]:
        """Profiles among ``ids``, and by lower-cased email, in one statement."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        stmt = _people.by_ids_or_emails(ids, wanted)
        by_id: dict[str, Person] = {}
        by_email: dict[str, Person] = {}
        asked, matched = set(ids), set(wanted)
        for row in [] if stmt is None else await self._all(*stmt):
            person = _people.person(row)
            if person.id in asked:
                by_id[person.id] = person
            if row.email in matched:
                by_email[row.email] = person
        return by_id, by_email

    async def people_by_handles(self, handles: Sequence[str]) -> dict[str, Person]:
        """Profiles by handle, case-insensitively."""
        wanted = sorted({h.strip().lower() for h in handles if h.strip()})
        if not wanted:
            return {}
        rows = await self._all(_people.by_handles(wanted))
        return {row.handle.lower(): _people.person(row) for row in rows}

    # --- writes -----------------------------------------------------------
    async def ensure_author(self, author: Author) -> str:
        """The profile with this email; created on first write with a free handle."""
        email = author.email.strip().lower()
        found = await self._profile_id(email)
        if found is not None:
            return found
        for handle in handle_candidates(email):
            try:
                async with self._connect(write=True) as conn:
                    result = await conn.execute(_people.new_profile(author, email, handle))
                return str(inserted_id(result))
            except IntegrityError:
                # Either the handle is taken, or a concurrent first write created the profile.
                found = await self._profile_id(email)
                if found is not None:
                    return found
        raise RuntimeError(f"no free handle for {email}")  # a thousand namesakes: not a user error

    async def _profile_id(self, email: str) -> str | None:
        async with self._connect() as conn:
            return str_or_none(await conn.scalar(_people.profile_id(email)))

    async def ask_question(
        self,
        space_id: str,
        author_id: str,
        *,
        title: str,
        body: str,
        tags: Sequence[str],
        now: datetime,
    ) -> Question:
        """A question topic in a community, with its tags."""
        community, author = native_or_missing(space_id), native_or_missing(author_id)
        async with self._connect(write=True) as conn:
            return await _writes.ask_question(
                conn, space_id, community, author, title=title, body=body, tags=tags, now=now
            )

    async def answer_question(
        self, question_id: str, author_id: str, *, body: str, now: datetime
    ) -> Answer:
        """A reply to a question topic."""
        topic, author = native_or_missing(question_id), native_or_missing(author_id)
        async with self._connect(write=True) as conn:
            return await _writes.answer_question(
                conn, question_id, topic, author, body=body, now=now
            )

    async def accept_answer(self, answer_id: str) -> Question:
        """Point the reply's topic at it as the accepted reply."""
        reply = native_or_missing(answer_id)
        async with self._connect(write=True) as conn:
            topic = await _writes.accept_answer(conn, answer_id, reply)
        async with self._connect() as conn:
            return await _questions.one(conn, topic)

    async def add_feedback(
        self,
        prototype_id: str,
        author_id: str,
        *,
        rating: int,
        body: str,
        internal_note: str | None,
        now: datetime,
    ) -> Feedback:
        """Feedback on a prototype."""
        prototype, author = native_or_missing(prototype_id), native_or_missing(author_id)
        async with self._connect(write=True) as conn:
            return await _writes.add_feedback(
                conn,
                prototype_id,
                prototype,
                author,
                rating=rating,
                body=body,
                internal_note=internal_note,
                now=now,
            )

    # --- invitations and members ---------------------------------------------
    async def invite(
        self,
        space_id: str,
        email: str,
        role: SpaceRole,
        sponsor_id: str,
        *,
        expires_at: datetime | None,
        now: datetime,
    ) -> Invitation:
        """A new invitation, or the pending one for this email renewed."""
        community, sponsor = native_or_missing(space_id), native_or_missing(sponsor_id)
        email = email.strip().lower()
        async with self._connect(write=True) as conn:
            return await _invitations.invite(
                conn, space_id, community, email, role, sponsor, expires_at=expires_at, now=now
            )

    async def invitations_by_ids(self, ids: Sequence[str]) -> dict[str, Invitation]:
        """Invitations among ``ids``."""
        stmt = _invitations.by_ids(ids)
        if stmt is None:
            return {}
        return {str(row.id): _invitations.invitation(row) for row in await self._all(stmt)}

    async def invitations_for_spaces(self, space_ids: Sequence[str]) -> dict[str, list[Invitation]]:
        """Every invitation per community, newest first."""
        found: dict[str, list[Invitation]] = {space_id: [] for space_id in space_ids}
        stmt = _invitations.for_spaces(space_ids)
        for row in [] if stmt is None else await self._all(stmt):
            found[str(row.community_id)].append(_invitations.invitation(row))
        return found

    async def revoke_invitation(self, invitation_id: str, now: datetime) -> Invitation:
        """Revoke; an accepted invitation's membership (same role) ends with it."""
        native = native_or_missing(invitation_id)
        async with self._connect(write=True) as conn:
            return await _invitations.revoke(conn, invitation_id, native, now)

    async def remove_member(self, space_id: str, person_id: str) -> bool:
        """Delete the membership row: access ends with the member's next request."""
        stmt = _memberships.removal(space_id, person_id)
        if stmt is None:
            return False
        async with self._connect(write=True) as conn:
            result = await conn.execute(stmt)
        return result.rowcount > 0

    async def create_space(
        self,
        *,
        slug: str,
        name: str,
        description: str,
        kind: SpaceKind,
        visibility: Visibility,
        owner_id: str,
        now: datetime,
    ) -> Space:
        """A community with its creator as leader."""
        _spaces.check_visibility(visibility)
        owner = native_or_missing(owner_id)
        try:
            async with self._connect(write=True) as conn:
                community = await _spaces.create(
                    conn,
                    slug=slug,
                    name=name,
                    description=description,
                    kind=kind,
                    visibility=visibility,
                    owner=owner,
                    now=now,
                )
        except IntegrityError as exc:
            raise WriteConflict(
                f"a space with the address {slug!r} exists; pick another name"
            ) from exc
        return Space(
            store=self.name,
            id=str(community),
            slug=slug,
            kind=kind,
            name=name,
            description=description,
            visibility=visibility,
        )

    async def access_entries(self, space_ids: Sequence[str] | None) -> list[AccessEntry]:
        """Memberships with the sponsor of the invitation that made them, and pending
        invitations, ordered by community then person."""
        async with self._connect() as conn:
            return await _access.access_entries(conn, space_ids)

    # Moderation (hiding, featuring, archiving) is adapters.internal._archive's.

    # --- mapping ----------------------------------------------------------
    async def _load_questions(self, stmt: Select[Any], scope: StoreScope) -> list[Question]:
        """Run a scoped question select and map its rows, tags and answer counts included
        (in the same statement)."""
        async with self._connect() as conn:
            return await _questions.questions_with_tags(conn, stmt, scope)
