"""The community store adapter: a public customer forum behind the gateway.

:class:`CommunityStore` implements the store interface by delegating: the statements on
each of the forum's entities are in their own module (``_spaces``, ``_questions``,
``_answers``, ``_people``, ``_members``, ``_tags``), the mapping of their rows to the
gateway's domain in ``_rows``, what the forum does not have in ``_absent``, and what every
SQL adapter repeats in the shared base (:mod:`adapters._base`, :mod:`adapters._ranked`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from adapters._ranked import empty_pages, pages_per_parent
from adapters._sql import (
    handle_candidates,
    inserted_id,
    native_id,
    native_ids,
    native_or_missing,
    page,
)
from adapters.community import (
    _answers,
    _demo,
    _members,
    _people,
    _questions,
    _rows,
    _spaces,
    _tags,
)
from adapters.community._absent import Absent
from adapters.community._archive import Moderation
from adapters.community._authors import AuthorsInScope
from adapters.community._experts import ExpertCounts
from adapters.community._rows import STORE
from adapters.community._tables import categories, metadata, topics
from gateway.domain.model import Page, Space
from gateway.stores.admin_rows import Holder
from gateway.stores.interface import NotSupported, WriteConflict

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from adapters._sql import AnyRow
    from gateway.domain.demo import DemoData
    from gateway.domain.model import (
        AccessEntry,
        Answer,
        Author,
        Membership,
        Person,
        Question,
        SpaceKind,
        Visibility,
    )
    from gateway.stores.interface import NameCursor, TimeCursor
    from gateway.stores.scope import StoreScope


def _memberships_of_links(rows: Sequence[AnyRow]) -> tuple[Membership, ...]:
    [(links,)] = rows
    # A Reach has the columns a row of memberships_of has (as joined() hands a Prefixed).
    return tuple(
        _rows.membership(cast("AnyRow", reach)) for reach in _members.reach_of_links(links)
    )


class CommunityStore(Absent, Moderation, AuthorsInScope, ExpertCounts):
    """The public customer forum (Discourse-shaped tables) as a gateway store."""

    name = STORE
    metadata = metadata

    # --- lifecycle --------------------------------------------------------
    async def is_empty(self) -> bool:
        """True when the forum has no categories yet."""
        async with self._connect() as conn:
            found = await conn.scalar(select(categories.c.id).limit(1))
        return found is None

    async def load_demo(self, data: DemoData) -> None:
        """Write the demo data set's community part natively, in one transaction."""
        async with self._connect(write=True) as conn:
            await _demo.load_demo(conn, data)

    # --- principals -------------------------------------------------------
    async def memberships_for(self, email: str) -> list[Membership]:
        """Group-based memberships of the verified account with this email, expired included."""
        email = email.strip().lower()
        if not email:
            return []
        # One value, compared with the last one read (_members.links_of).
        links = await self._all(_members.links_of(), {"email": email})
        try:
            return list(self.memberships_made.made(email, links, _memberships_of_links))
        except ValueError:  # not whole: cut by MariaDB's group_concat_max_len
            rows = await self._all(_members.memberships_of(), {"emails": [email]})
            return [_rows.membership(row) for row in rows]

    async def memberships_of(self, emails: Sequence[str]) -> dict[str, list[Membership]]:
        """:meth:`memberships_for` of many emails (lower-cased) in one statement."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if not wanted:
            return {}
        rows = await self._all(_members.memberships_of(), {"emails": wanted})
        found: dict[str, list[Membership]] = {}
        for row in rows:
            found.setdefault(row.email.lower(), []).append(_rows.membership(row))
        return found

    async def access_holders(self, *, after: str | None, limit: int) -> Page[Holder]:
        """Verified accounts in a group that grants a category, once per email, by email,
        in one statement (the forum has no invitations)."""
        rows = await self._all(_members.holders(after, limit))
        found = [
            Holder(
                email=r.email,
                display_name=r.name,
                trust_level=r.trust_level,
                organisation=r.company,
            )
            for r in rows
        ]
        return page(found, limit)

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
        """Categories in scope, ordered by name then id."""
        stmt = _spaces.listed(
            scope, kind=kind, after=after, before=before, backward=backward, limit=limit
        )
        if stmt is None:
            return Page()
        async with self._connect() as conn:
            found = await _spaces.spaces_with_tags(conn, _spaces.joined_tags(stmt))
        return page(found, limit, backward=backward)

    async def spaces_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Space]:
        """Categories in scope among ``ids``."""
        wanted = native_ids(ids)
        if scope.empty or not wanted:
            return {}
        async with self._connect() as conn:
            stmt = _spaces.by_ids_with_tags(scope)
            found = await _spaces.spaces_with_tags(conn, stmt, {"ids": wanted})
        return {s.id: s for s in found}

    async def member_counts(self, space_ids: Sequence[str], now: datetime) -> dict[str, int]:
        """Distinct users with an unexpired group membership per category."""
        wanted = native_ids(space_ids)
        if not wanted:
            return {}
        rows = await self._all(_members.member_counts(wanted, now))
        return {str(category_id): count for category_id, count in rows}

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
        """Topics in categories in scope, newest first."""
        stmt = _questions.listed_with_tags(
            scope,
            None if space_ids is None else tuple(native_ids(space_ids)),
            unanswered=unanswered,
            tag=tag,
            after=after,
            before=before,
            backward=backward,
            limit=limit,
            featured=featured,
            archived=archived,
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
        """Topics per category, newest first, ``limit`` each, in one windowed statement."""
        wanted = native_ids(space_ids)
        if not wanted:
            return empty_pages(space_ids)
        stmt = _questions.for_categories(
            wanted,
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
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
            shown = [r.id for r in rows if r.row_rank <= max(limit, 0)]
            tag_names = await _tags.of_topics(conn, shown)
        return pages_per_parent(space_ids, rows, limit, lambda r: _rows.question(r, tag_names))

    async def questions_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Question]:
        """Topics in scope among ``ids``."""
        wanted = native_ids(ids)
        if scope.empty or not wanted:
            return {}
        async with self._connect() as conn:
            stmt = _questions.by_ids(wanted, scope)
            found = await _questions.questions_with_tags(conn, stmt, scope)
        return {q.id: q for q in found}

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
        """Topics in scope whose title or first post contains ``text`` literally, newest first
        (between the cursors)."""
        # Before deciding not to query: a forged cursor raises.
        within = _questions.since(after, before)
        if scope.empty or limit <= 0:
            return []
        async with self._connect() as conn:
            stmt = _questions.matching(scope, text, limit, within, backward=backward)
            return await _questions.questions_with_tags(conn, stmt, scope)

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
        """Replies per topic, newest first, ``limit`` each, in one windowed statement."""
        wanted = native_ids(question_ids)
        if not wanted:
            return empty_pages(question_ids)
        stmt = _answers.for_topics(
            wanted,
            after=after,
            before=before,
            backward=backward,
            limit=limit,
            reveal_hidden=reveal_hidden,
        )
        rows = await self._all(stmt)
        return pages_per_parent(question_ids, rows, limit, _rows.answer)

    async def answers_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Answer]:
        """Replies (never a topic's first post) in scope among ``ids``."""
        wanted = native_ids(ids)
        if scope.empty or not wanted:
            return {}
        rows = await self._all(_answers.by_ids(wanted, scope))
        return {str(r.id): _rows.answer(r) for r in rows}

    async def answer_counts(
        self, question_ids: Sequence[str], *, reveal_hidden: bool = False
    ) -> dict[str, int]:
        """Number of replies per topic (hidden ones only with ``reveal_hidden``)."""
        wanted = native_ids(question_ids)
        if not wanted:
            return {}
        rows = await self._all(_answers.counts(wanted, reveal_hidden=reveal_hidden))
        return {str(topic_id): count for topic_id, count in rows}

    # --- writes -----------------------------------------------------------
    async def ensure_author(self, author: Author) -> str:
        """The account with this email; created on first write, its email verified (the
        gateway only writes for verified emails) and at trust level 0."""
        email = author.email.strip().lower()
        found = await self._user_id(email)
        if found is not None:
            return found
        for username in handle_candidates(email):
            try:
                async with self._connect(write=True) as conn:
                    result = await conn.execute(_people.new_user(author, email, username))
                return str(inserted_id(result))
            except IntegrityError:
                # Either the username is taken, or a concurrent first write made the account.
                found = await self._user_id(email)
                if found is not None:
                    return found
        raise RuntimeError(f"no free username for {email}")  # not a user error

    async def _user_id(self, email: str) -> str | None:
        async with self._connect() as conn:
            found = await conn.scalar(_people.id_of(email))
        return None if found is None else str(found)

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
        """A topic with its first post (the question's body) and its tags."""
        category, user = native_or_missing(space_id), native_or_missing(author_id)
        async with self._connect(write=True) as conn:
            return await _questions.insert_question(
                conn, space_id, category, user, title=title, body=body, tags=tags, now=now
            )

    async def answer_question(
        self, question_id: str, author_id: str, *, body: str, now: datetime
    ) -> Answer:
        """The topic's next post (concurrent answers queue on the topic's row)."""
        topic, user = native_or_missing(question_id), native_or_missing(author_id)
        async with self._connect(write=True) as conn:
            return await _answers.insert_answer(conn, question_id, topic, user, body=body, now=now)

    async def accept_answer(self, answer_id: str) -> Question:
        """Point the post's topic at it as the accepted answer (never the first post)."""
        post = native_or_missing(answer_id)
        async with self._connect(write=True) as conn:
            topic = await _questions.accept(conn, answer_id, post)
        async with self._connect() as conn:
            stmt = _questions.question_select().where(topics.c.id == topic)
            row = (await conn.execute(stmt)).one()
            tag_names = await _tags.of_topics(conn, [topic])
        return _rows.question(row, tag_names)

    # --- members ----------------------------------------------------------
    # The forum grants access through groups and trust levels; for invitations, see _absent.
    async def trust_level(self, email: str) -> int | None:
        """The trust level of the verified account with this email."""
        async with self._connect() as conn:
            return await conn.scalar(_people.trust_level(email))

    async def remove_member(self, space_id: str, person_id: str) -> bool:
        """Take the user out of every group that grants this category."""
        category, user = native_id(space_id), native_id(person_id)
        if category is None or user is None:
            return False
        async with self._connect(write=True) as conn:
            result = await conn.execute(_members.remove_member(category, user))
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
        """A category with the settings of its visibility class, and a group of the same
        name that grants it, with the creator as the group's owner."""
        if kind not in _demo.STYLES:
            raise NotSupported(f"the forum has no {kind.value} spaces")
        owner = native_or_missing(owner_id)
        try:
            async with self._connect(write=True) as conn:
                category = await _spaces.insert_space(
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
            store=STORE,
            id=str(category),
            slug=slug,
            kind=kind,
            name=name,
            description=description,
            visibility=visibility,
        )

    async def access_entries(self, space_ids: Sequence[str] | None) -> list[AccessEntry]:
        """Group members of every category their groups grant (the forum records no
        sponsors and the gateway issues it no invitations)."""
        wanted = None if space_ids is None else native_ids(space_ids)
        rows = await self._all(_members.access_entries(wanted))
        return [_rows.access_entry(row) for row in rows]

    # Moderation (hiding, featuring, archiving) is adapters.community._archive's.

    # --- people -----------------------------------------------------------
    async def people_by_ids(self, ids: Sequence[str]) -> dict[str, Person]:
        """Forum users among ``ids``; the email only when verified."""
        wanted = native_ids(ids)
        if not wanted:
            return {}
        rows = await self._all(_people.by_ids(wanted))
        return {str(r.id): _rows.person(r) for r in rows}

    async def people_by_emails(self, emails: Sequence[str]) -> dict[str, Person]:
        """Forum users by verified email, keyed by the lower-cased email."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if not wanted:
            return {}
        rows = await self._all(_people.by_emails(wanted))
        return {r.email: _rows.person(r) for r in rows}

    async def people_by_ids_and_emails(
        self, ids: Sequence[str], emails: Sequence[str]
    ) -> tuple[dict[str, Person], dict[str, Person]]:
        """Forum users among ``ids``, and by verified lower-cased email, in one statement."""
        wanted_ids = native_ids(ids)
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        by_id: dict[str, Person] = {}
        by_email: dict[str, Person] = {}
        if not wanted_ids and not wanted:
            return by_id, by_email
        asked, matched = set(wanted_ids), set(wanted)
        for row in await self._all(_people.by_ids_or_emails(wanted_ids, wanted)):
            person = _rows.person(row)
            if row.id in asked:
                by_id[person.id] = person
            if row.email_verified and row.email in matched:
                by_email[row.email] = person
        return by_id, by_email

    async def people_by_handles(self, handles: Sequence[str]) -> dict[str, Person]:
        """Forum users by username, case-insensitively."""
        wanted = sorted({h.strip().lower() for h in handles if h.strip()})
        if not wanted:
            return {}
        rows = await self._all(_people.by_handles(wanted))
        return {r.username.lower(): _rows.person(r) for r in rows}
