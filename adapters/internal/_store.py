"""The internal store adapter: an enterprise social network mapped to the gateway's domain."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from adapters._sql import (
    add_missing_columns,
    after_name,
    after_time,
    handle_candidates,
    native_id,
    native_ids,
    open_engine,
    page,
    refresh_statistics,
    write_transaction,
)
from adapters.internal._demo import ACCESS, COMMUNITY_TYPES, write_demo
from adapters.internal._tables import (
    communities,
    community_invitations,
    community_memberships,
    forum_replies,
    forum_topics,
    metadata,
    profiles,
    prototype_feedback,
    prototypes,
    topic_tags,
)
from gateway.domain.model import (
    AccessEntry,
    Answer,
    Author,
    Feedback,
    Invitation,
    Membership,
    Page,
    Person,
    Prototype,
    Question,
    Space,
    SpaceKind,
    SpaceRole,
    StoreName,
    Visibility,
    space_key,
)
from gateway.stores.interface import NotSupported, StoreUnavailable, TargetMissing, WriteConflict

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import datetime

    from sqlalchemy import ColumnElement, Row, Select, Subquery

    from gateway.domain.demo import DemoData
    from gateway.stores.interface import NameCursor, TimeCursor
    from gateway.stores.scope import StoreScope

T = TypeVar("T")

_KINDS = {native: kind for kind, native in COMMUNITY_TYPES.items()}
_ROLES = {"leader": SpaceRole.OWNER, "member": SpaceRole.MEMBER, "external": SpaceRole.GUEST}
_NATIVE_ROLES = {role: native for native, role in _ROLES.items()}
_PING_TIMEOUT = 5.0  # seconds; a health check must answer even when the server blackholes us

_SPACE_COLUMNS = (
    communities.c.id,
    communities.c.slug,
    communities.c.title,
    communities.c.description,
    communities.c.community_type,
    communities.c.access,
    communities.c.tags,
)
_QUESTION_COLUMNS = (
    forum_topics.c.id,
    forum_topics.c.community_id,
    forum_topics.c.subject,
    forum_topics.c.content,
    forum_topics.c.author_profile_id,
    forum_topics.c.accepted_reply_id,
    forum_topics.c.created_at,
    forum_topics.c.hidden_at,
    forum_topics.c.featured_at,
)
_PERSON_COLUMNS = (
    profiles.c.id,
    profiles.c.full_name,
    profiles.c.handle,
    profiles.c.email,
    profiles.c.company,
    profiles.c.job_title,
    profiles.c.department,
)
_topic_community = forum_topics.join(communities, communities.c.id == forum_topics.c.community_id)


class InternalStore:
    """The employees' collaboration network (communities, forum topics, prototypes)."""

    name: StoreName = StoreName.INTERNAL

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        """``timeout``: the drivers' own bounds (see gateway.stores.sql.open_engine); the call's
        deadline is the gateway's guard's."""
        self._url = make_url(url)
        self.engine = open_engine(url, timeout)

    # --- lifecycle --------------------------------------------------------
    async def create_schema(self) -> None:
        """Create the native tables if they do not exist (never drops anything)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await add_missing_columns(conn, metadata)
            await refresh_statistics(conn)

    async def is_empty(self) -> bool:
        """True when there is no community yet."""
        async with self.engine.connect() as conn:
            found = await conn.scalar(select(communities.c.id).limit(1))
        return found is None

    async def load_demo(self, data: DemoData) -> None:
        """Write the internal spaces of the demo data set, in one transaction."""
        async with self.engine.begin() as conn:
            await write_demo(conn, data)

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers ``SELECT 1``."""
        try:
            async with asyncio.timeout(_PING_TIMEOUT), self.engine.connect() as conn:
                await conn.execute(select(1))
        except Exception as exc:  # whatever the driver raises, the answer is "unavailable"
            where = self._url.render_as_string(hide_password=True)
            raise StoreUnavailable(
                f"internal store unavailable at {where} ({type(exc).__name__})"
            ) from exc

    async def close(self) -> None:
        """Dispose of the engine and its connections."""
        await self.engine.dispose()

    # --- principals -------------------------------------------------------
    async def memberships_for(self, email: str) -> list[Membership]:
        """Every membership of the profile with this email, expired ones included, and its
        unrevoked, unaccepted invitations as pending memberships."""
        email = email.strip().lower()
        return (await self.memberships_of([email])).get(email, [])

    async def memberships_of(self, emails: Sequence[str]) -> dict[str, list[Membership]]:
        """:meth:`memberships_for` of many emails (lower-cased) in one statement."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if not wanted:
            return {}
        # One statement on every request's path: held memberships, then pending invitations.
        held = (
            select(
                profiles.c.email,
                communities.c.id,
                communities.c.slug,
                communities.c.access,
                community_memberships.c.member_role,
                community_memberships.c.expires_at,
                literal(False).label("pending"),
            )
            .select_from(
                community_memberships.join(
                    profiles, profiles.c.id == community_memberships.c.profile_id
                ).join(communities, communities.c.id == community_memberships.c.community_id)
            )
            .where(profiles.c.email.in_(wanted))
        )
        invited = (
            select(
                community_invitations.c.email,
                communities.c.id,
                communities.c.slug,
                communities.c.access,
                community_invitations.c.member_role,
                community_invitations.c.expires_at,
                literal(True).label("pending"),
            )
            .select_from(
                community_invitations.join(
                    communities, communities.c.id == community_invitations.c.community_id
                )
            )
            .where(
                community_invitations.c.email.in_(wanted),
                community_invitations.c.revoked_at.is_(None),
                community_invitations.c.accepted_at.is_(None),
            )
        )
        both = union_all(held, invited).subquery()
        stmt = select(both).order_by(both.c.pending, both.c.id)
        found: dict[str, list[Membership]] = {}
        for row in await self._all(stmt):
            found.setdefault(row.email.lower(), []).append(
                Membership(
                    store=self.name,
                    space_id=str(row.id),
                    space_key=space_key(self.name, Visibility(row.access), row.slug),
                    role=_ROLES[row.member_role],
                    expires_at=row.expires_at,
                    pending=bool(row.pending),
                )
            )
        return found

    async def trust_level(self, email: str) -> int | None:
        """None: the corporate network has no trust levels."""
        return None

    async def accept_invitations(self, author: Author, now: datetime) -> int:
        """Turn the email's valid invitations into memberships (an existing membership of
        the same community is kept as it is)."""
        email = author.email.strip().lower()
        profile = int(await self.ensure_author(author))
        inv = community_invitations.c
        async with write_transaction(self.engine) as conn:
            rows = (
                await conn.execute(
                    select(inv.id, inv.community_id, inv.member_role, inv.expires_at)
                    .where(
                        inv.email == email,
                        inv.revoked_at.is_(None),
                        inv.accepted_at.is_(None),
                        or_(inv.expires_at.is_(None), inv.expires_at > now),
                    )
                    .order_by(inv.id)
                    .with_for_update()
                )
            ).all()
            for row in rows:
                exists = await conn.scalar(
                    select(community_memberships.c.profile_id).where(
                        community_memberships.c.community_id == row.community_id,
                        community_memberships.c.profile_id == profile,
                    )
                )
                if exists is None:
                    await conn.execute(
                        community_memberships.insert().values(
                            community_id=row.community_id,
                            profile_id=profile,
                            member_role=row.member_role,
                            expires_at=row.expires_at,
                        )
                    )
                await conn.execute(
                    community_invitations.update()
                    .where(inv.id == row.id)
                    .values(accepted_at=now, accepted_profile_id=profile)
                )
        return len(rows)

    # --- spaces -----------------------------------------------------------
    async def list_spaces(
        self,
        scope: StoreScope,
        *,
        kind: SpaceKind | None,
        after: NameCursor | None,
        limit: int,
    ) -> Page[Space]:
        """Communities in scope, ordered by title then id."""
        _check_limit(limit)
        # A forged cursor is an error whatever the scope, so it is checked first.
        after_clause = (
            None if after is None else after_name(after, communities.c.title, communities.c.id)
        )
        if scope.empty:
            return Page()
        stmt = select(*_SPACE_COLUMNS).where(_in_scope(scope))
        if kind is not None:
            stmt = stmt.where(communities.c.community_type == COMMUNITY_TYPES[kind])
        if after_clause is not None:
            stmt = stmt.where(after_clause)
        stmt = stmt.order_by(communities.c.title, communities.c.id).limit(limit + 1)
        return page([_space(row) for row in await self._all(stmt)], limit)

    async def spaces_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Space]:
        """Communities in scope among ``ids``."""
        native = native_ids(ids)
        if scope.empty or not native:
            return {}
        stmt = select(*_SPACE_COLUMNS).where(communities.c.id.in_(native), _in_scope(scope))
        return {str(row.id): _space(row) for row in await self._all(stmt)}

    async def member_counts(self, space_ids: Sequence[str], now: datetime) -> dict[str, int]:
        """Unexpired memberships per community."""
        native = native_ids(space_ids)
        if not native:
            return {}
        expires_at = community_memberships.c.expires_at
        stmt = (
            select(community_memberships.c.community_id, func.count())
            .where(
                community_memberships.c.community_id.in_(native),
                or_(expires_at.is_(None), expires_at > now),
            )
            .group_by(community_memberships.c.community_id)
        )
        return {str(community_id): count for community_id, count in await self._all(stmt)}

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
    ) -> Page[Question]:
        """Question topics in communities in scope (optionally only these), newest first."""
        _check_limit(limit)
        # A forged cursor is an error whatever the scope, so it is checked first.
        filters = _question_filters(unanswered=unanswered, tag=tag, after=after, featured=featured)
        if scope.empty:
            return Page()
        stmt = _questions_in(scope)
        if space_ids is not None:
            native = native_ids(space_ids)
            if not native:
                return Page()
            stmt = stmt.where(forum_topics.c.community_id.in_(native))
        stmt = stmt.where(*filters)
        stmt = stmt.order_by(forum_topics.c.created_at.desc(), forum_topics.c.id.desc())
        return page(await self._questions(stmt.limit(limit + 1)), limit)

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
    ) -> dict[str, Page[Question]]:
        """Question topics per community, newest first, ``limit`` each, in one statement
        (plus one for the tags); the filters and cursor of :meth:`list_questions`."""
        _check_limit(limit)
        filters = _question_filters(unanswered=unanswered, tag=tag, after=after, featured=featured)
        if not reveal_hidden:
            filters.append(forum_topics.c.hidden_at.is_(None))
        native = native_ids(space_ids)
        if not native:
            return _empty_pages(space_ids)
        ranked = (
            select(
                *_QUESTION_COLUMNS,
                forum_topics.c.community_id.label("parent_id"),
                _rank(forum_topics.c.community_id, forum_topics.c.created_at, forum_topics.c.id),
            )
            .where(forum_topics.c.is_question, forum_topics.c.community_id.in_(native))
            .where(*filters)
        )
        rows, tags = await self._rows_with_tags(_top_ranked(ranked.subquery(), limit))
        return _pages(space_ids, rows, limit, lambda row: self._question(row, tags[row.id]))

    async def questions_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Question]:
        """Question topics in scope among ``ids``."""
        native = native_ids(ids)
        if scope.empty or not native:
            return {}
        stmt = _questions_in(scope).where(forum_topics.c.id.in_(native))
        return {question.id: question for question in await self._questions(stmt)}

    async def search_questions(self, scope: StoreScope, text: str, limit: int) -> list[Question]:
        """Question topics in scope whose subject or content contains ``text`` literally."""
        _check_limit(limit)
        if scope.empty:
            return []
        needle = text.lower()
        stmt = (
            _questions_in(scope)
            .where(
                or_(
                    func.lower(forum_topics.c.subject).contains(needle, autoescape=True),
                    func.lower(forum_topics.c.content).contains(needle, autoescape=True),
                )
            )
            .order_by(forum_topics.c.created_at.desc(), forum_topics.c.id.desc())
            .limit(limit)
        )
        return await self._questions(stmt)

    async def answers_for_questions(
        self,
        question_ids: Sequence[str],
        *,
        after: TimeCursor | None,
        limit: int,
        reveal_hidden: bool = False,
    ) -> dict[str, Page[Answer]]:
        """Replies per question topic, newest first, ``limit`` each, in one statement."""
        _check_limit(limit)
        after_clause = after_time(after, forum_replies.c.created_at, forum_replies.c.id)
        native = native_ids(question_ids)
        if not native:
            return _empty_pages(question_ids)
        ranked = (
            select(
                forum_replies.c.topic_id.label("parent_id"),
                forum_replies.c.id.label("child_id"),
                forum_topics.c.community_id,
                forum_topics.c.accepted_reply_id,
                forum_replies.c.author_profile_id,
                forum_replies.c.content,
                forum_replies.c.created_at,
                forum_replies.c.hidden_at,
                _rank(forum_replies.c.topic_id, forum_replies.c.created_at, forum_replies.c.id),
            )
            .select_from(
                forum_replies.join(forum_topics, forum_topics.c.id == forum_replies.c.topic_id)
            )
            .where(forum_replies.c.topic_id.in_(native), forum_topics.c.is_question)
        )
        if after_clause is not None:
            ranked = ranked.where(after_clause)
        if not reveal_hidden:
            ranked = ranked.where(forum_replies.c.hidden_at.is_(None))
        rows = await self._all(_top_ranked(ranked.subquery(), limit))
        return _pages(
            question_ids,
            rows,
            limit,
            lambda row: Answer(
                store=self.name,
                id=str(row.child_id),
                question_id=str(row.parent_id),
                space_id=str(row.community_id),
                body=row.content,
                author_id=_str_or_none(row.author_profile_id),
                accepted=row.child_id == row.accepted_reply_id,
                created_at=row.created_at,
                hidden=row.hidden_at is not None,
            ),
        )

    async def answers_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Answer]:
        """Replies to question topics in scope among ``ids``."""
        native = native_ids(ids)
        if scope.empty or not native:
            return {}
        stmt = (
            select(
                forum_replies.c.id,
                forum_replies.c.topic_id,
                forum_topics.c.community_id,
                forum_topics.c.accepted_reply_id,
                forum_replies.c.author_profile_id,
                forum_replies.c.content,
                forum_replies.c.created_at,
                forum_replies.c.hidden_at,
            )
            .select_from(
                forum_replies.join(
                    forum_topics, forum_topics.c.id == forum_replies.c.topic_id
                ).join(communities, communities.c.id == forum_topics.c.community_id)
            )
            .where(
                forum_replies.c.id.in_(native),
                forum_topics.c.is_question,
                _in_scope(scope),
                # An answer is hidden when it is, or when its question is.
                scope.shown(forum_replies.c.hidden_at, communities.c.access, communities.c.slug),
                scope.shown(forum_topics.c.hidden_at, communities.c.access, communities.c.slug),
            )
        )
        return {
            str(row.id): Answer(
                store=self.name,
                id=str(row.id),
                question_id=str(row.topic_id),
                space_id=str(row.community_id),
                body=row.content,
                author_id=_str_or_none(row.author_profile_id),
                accepted=row.id == row.accepted_reply_id,
                created_at=row.created_at,
                hidden=row.hidden_at is not None,
            )
            for row in await self._all(stmt)
        }

    async def answer_counts(
        self, question_ids: Sequence[str], *, reveal_hidden: bool = False
    ) -> dict[str, int]:
        """Number of replies per question topic (hidden ones only with ``reveal_hidden``)."""
        native = native_ids(question_ids)
        if not native:
            return {}
        stmt = (
            select(forum_replies.c.topic_id, func.count())
            .select_from(
                forum_replies.join(forum_topics, forum_topics.c.id == forum_replies.c.topic_id)
            )
            .where(
                forum_replies.c.topic_id.in_(native),
                forum_topics.c.is_question,
                *([] if reveal_hidden else [forum_replies.c.hidden_at.is_(None)]),
            )
            .group_by(forum_replies.c.topic_id)
        )
        return {str(topic_id): count for topic_id, count in await self._all(stmt)}

    # --- prototypes and feedback -----------------------------------------
    async def prototypes_for_spaces(
        self, space_ids: Sequence[str], *, limit: int
    ) -> dict[str, Page[Prototype]]:
        """Prototypes per community, by name then id, ``limit`` each, in one statement."""
        _check_limit(limit)
        native = native_ids(space_ids)
        if not native:
            return _empty_pages(space_ids)
        ranked = (
            select(
                prototypes.c.community_id.label("parent_id"),
                prototypes.c.id.label("child_id"),
                prototypes.c.name,
                prototypes.c.version,
                prototypes.c.summary,
                func.row_number()
                .over(
                    partition_by=prototypes.c.community_id,
                    order_by=(prototypes.c.name, prototypes.c.id),
                )
                .label("row_rank"),
            )
            .where(prototypes.c.community_id.in_(native))
            .subquery()
        )
        rows = await self._all(_top_ranked(ranked, limit))
        return _pages(
            space_ids,
            rows,
            limit,
            lambda row: Prototype(
                store=self.name,
                id=str(row.child_id),
                space_id=str(row.parent_id),
                name=row.name,
                version=row.version,
                description=row.summary,
            ),
        )

    async def prototypes_by_ids(
        self, ids: Sequence[str], scope: StoreScope
    ) -> dict[str, Prototype]:
        """Prototypes in communities in scope among ``ids``."""
        native = native_ids(ids)
        if scope.empty or not native:
            return {}
        stmt = (
            select(
                prototypes.c.id,
                prototypes.c.community_id,
                prototypes.c.name,
                prototypes.c.version,
                prototypes.c.summary,
            )
            .select_from(
                prototypes.join(communities, communities.c.id == prototypes.c.community_id)
            )
            .where(prototypes.c.id.in_(native), _in_scope(scope))
        )
        return {
            str(row.id): Prototype(
                store=self.name,
                id=str(row.id),
                space_id=str(row.community_id),
                name=row.name,
                version=row.version,
                description=row.summary,
            )
            for row in await self._all(stmt)
        }

    async def feedback_for_prototypes(
        self, prototype_ids: Sequence[str], *, limit: int
    ) -> dict[str, Page[Feedback]]:
        """Feedback per prototype, newest first, ``limit`` each, in one statement."""
        _check_limit(limit)
        native = native_ids(prototype_ids)
        if not native:
            return _empty_pages(prototype_ids)
        ranked = (
            select(
                prototype_feedback.c.prototype_id.label("parent_id"),
                prototype_feedback.c.id.label("child_id"),
                prototypes.c.community_id,
                prototype_feedback.c.rating,
                prototype_feedback.c.comment,
                prototype_feedback.c.author_profile_id,
                prototype_feedback.c.internal_note,
                prototype_feedback.c.created_at,
                _rank(
                    prototype_feedback.c.prototype_id,
                    prototype_feedback.c.created_at,
                    prototype_feedback.c.id,
                ),
            )
            .select_from(
                prototype_feedback.join(
                    prototypes, prototypes.c.id == prototype_feedback.c.prototype_id
                )
            )
            .where(prototype_feedback.c.prototype_id.in_(native))
            .subquery()
        )
        rows = await self._all(_top_ranked(ranked, limit))
        return _pages(
            prototype_ids,
            rows,
            limit,
            lambda row: self._feedback(row, row.child_id, row.parent_id),
        )

    async def feedback_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Feedback]:
        """Feedback on prototypes in communities in scope among ``ids``."""
        native = native_ids(ids)
        if scope.empty or not native:
            return {}
        stmt = (
            select(
                prototype_feedback.c.id,
                prototype_feedback.c.prototype_id,
                prototypes.c.community_id,
                prototype_feedback.c.rating,
                prototype_feedback.c.comment,
                prototype_feedback.c.author_profile_id,
                prototype_feedback.c.internal_note,
                prototype_feedback.c.created_at,
            )
            .select_from(
                prototype_feedback.join(
                    prototypes, prototypes.c.id == prototype_feedback.c.prototype_id
                ).join(communities, communities.c.id == prototypes.c.community_id)
            )
            .where(prototype_feedback.c.id.in_(native), _in_scope(scope))
        )
        return {
            str(row.id): self._feedback(row, row.id, row.prototype_id)
            for row in await self._all(stmt)
        }

    # --- people -----------------------------------------------------------
    async def people_by_ids(self, ids: Sequence[str]) -> dict[str, Person]:
        """Profiles among ``ids``."""
        native = native_ids(ids)
        if not native:
            return {}
        stmt = select(*_PERSON_COLUMNS).where(profiles.c.id.in_(native))
        return {str(row.id): self._person(row) for row in await self._all(stmt)}

    async def people_by_emails(self, emails: Sequence[str]) -> dict[str, Person]:
        """Profiles by lower-cased email (the corporate directory verifies every address)."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if not wanted:
            return {}
        stmt = select(*_PERSON_COLUMNS).where(profiles.c.email.in_(wanted))
        return {row.email: self._person(row) for row in await self._all(stmt)}

    async def people_by_handles(self, handles: Sequence[str]) -> dict[str, Person]:
        """Profiles by handle, case-insensitively."""
        wanted = sorted({h.strip().lower() for h in handles if h.strip()})
        if not wanted:
            return {}
        stmt = select(*_PERSON_COLUMNS).where(func.lower(profiles.c.handle).in_(wanted))
        return {row.handle.lower(): self._person(row) for row in await self._all(stmt)}

    # --- writes -----------------------------------------------------------
    async def ensure_author(self, author: Author) -> str:
        """The profile with this email; created on first write with a free handle."""
        email = author.email.strip().lower()
        found = await self._profile_id(email)
        if found is not None:
            return found
        for handle in handle_candidates(email):
            try:
                async with write_transaction(self.engine) as conn:
                    result = await conn.execute(
                        profiles.insert().values(
                            email=email,
                            full_name=author.display_name,
                            handle=handle,
                            company=author.organisation,
                            is_external=author.external,
                        )
                    )
                return str(result.inserted_primary_key[0])
            except IntegrityError:
                # Either the handle is taken, or a concurrent first write created the profile.
                found = await self._profile_id(email)
                if found is not None:
                    return found
        raise RuntimeError(f"no free handle for {email}")  # a thousand namesakes: not a user error

    async def _profile_id(self, email: str) -> str | None:
        async with self.engine.connect() as conn:
            found = await conn.scalar(select(profiles.c.id).where(profiles.c.email == email))
        return _str_or_none(found)

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
        community, author = _native_or_missing(space_id), _native_or_missing(author_id)
        wanted = sorted({tag.lower() for tag in tags})
        async with write_transaction(self.engine) as conn:
            exists = select(communities.c.id).where(communities.c.id == community)
            if await conn.scalar(exists) is None:
                raise TargetMissing(space_id)
            result = await conn.execute(
                forum_topics.insert().values(
                    community_id=community,
                    author_profile_id=author,
                    subject=title,
                    content=body,
                    is_question=True,
                    created_at=now,
                )
            )
            topic_id = result.inserted_primary_key[0]
            if wanted:
                await conn.execute(
                    topic_tags.insert(), [{"topic_id": topic_id, "tag": tag} for tag in wanted]
                )
        return Question(
            store=self.name,
            id=str(topic_id),
            space_id=str(community),
            title=title,
            body=body,
            author_id=str(author),
            tags=tuple(wanted),
            accepted_answer_id=None,
            created_at=now,
        )

    async def answer_question(
        self, question_id: str, author_id: str, *, body: str, now: datetime
    ) -> Answer:
        """A reply to a question topic."""
        topic, author = _native_or_missing(question_id), _native_or_missing(author_id)
        async with write_transaction(self.engine) as conn:
            community = await conn.scalar(
                select(forum_topics.c.community_id).where(
                    forum_topics.c.id == topic, forum_topics.c.is_question
                )
            )
            if community is None:
                raise TargetMissing(question_id)
            result = await conn.execute(
                forum_replies.insert().values(
                    topic_id=topic, author_profile_id=author, content=body, created_at=now
                )
            )
        return Answer(
            store=self.name,
            id=str(result.inserted_primary_key[0]),
            question_id=str(topic),
            space_id=str(community),
            body=body,
            author_id=str(author),
            accepted=False,
            created_at=now,
        )

    async def accept_answer(self, answer_id: str) -> Question:
        """Point the reply's topic at it as the accepted reply."""
        reply = _native_or_missing(answer_id)
        async with write_transaction(self.engine) as conn:
            topic = await conn.scalar(
                select(forum_replies.c.topic_id)
                .select_from(
                    forum_replies.join(forum_topics, forum_topics.c.id == forum_replies.c.topic_id)
                )
                .where(forum_replies.c.id == reply, forum_topics.c.is_question)
                .with_for_update()
            )
            if topic is None:
                raise TargetMissing(answer_id)
            await conn.execute(
                forum_topics.update()
                .where(forum_topics.c.id == topic)
                .values(accepted_reply_id=reply)
            )
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(*_QUESTION_COLUMNS).where(forum_topics.c.id == topic))
            ).one()
            tags = await conn.scalars(
                select(topic_tags.c.tag).where(topic_tags.c.topic_id == topic).order_by("tag")
            )
            return self._question(row, list(tags))

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
        prototype, author = _native_or_missing(prototype_id), _native_or_missing(author_id)
        async with write_transaction(self.engine) as conn:
            community = await conn.scalar(
                select(prototypes.c.community_id).where(prototypes.c.id == prototype)
            )
            if community is None:
                raise TargetMissing(prototype_id)
            result = await conn.execute(
                prototype_feedback.insert().values(
                    prototype_id=prototype,
                    author_profile_id=author,
                    rating=rating,
                    comment=body,
                    internal_note=internal_note,
                    created_at=now,
                )
            )
        return Feedback(
            store=self.name,
            id=str(result.inserted_primary_key[0]),
            prototype_id=str(prototype),
            space_id=str(community),
            rating=rating,
            body=body,
            author_id=str(author),
            internal_note=internal_note,
            created_at=now,
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
        community, sponsor = _native_or_missing(space_id), _native_or_missing(sponsor_id)
        email = email.strip().lower()
        inv = community_invitations.c
        async with write_transaction(self.engine) as conn:
            exists = select(communities.c.id).where(communities.c.id == community)
            if await conn.scalar(exists) is None:
                raise TargetMissing(space_id)
            member = await conn.scalar(
                select(community_memberships.c.profile_id)
                .select_from(
                    community_memberships.join(
                        profiles, profiles.c.id == community_memberships.c.profile_id
                    )
                )
                .where(community_memberships.c.community_id == community, profiles.c.email == email)
            )
            if member is not None:
                raise WriteConflict(f"{email} is already a member of this space")
            pending = await conn.scalar(
                select(inv.id)
                .where(
                    inv.community_id == community,
                    inv.email == email,
                    inv.revoked_at.is_(None),
                    inv.accepted_at.is_(None),
                    or_(inv.expires_at.is_(None), inv.expires_at > now),
                )
                .with_for_update()
            )
            values = {
                "member_role": _NATIVE_ROLES[role],
                "invited_by_profile_id": sponsor,
                "expires_at": expires_at,
            }
            if pending is None:
                result = await conn.execute(
                    community_invitations.insert().values(
                        community_id=community, email=email, created_at=now, **values
                    )
                )
                invitation_id = result.inserted_primary_key[0]
            else:
                invitation_id = pending
                await conn.execute(
                    community_invitations.update().where(inv.id == pending).values(**values)
                )
            row = (
                await conn.execute(select(community_invitations).where(inv.id == invitation_id))
            ).one()
        return _invitation(row)

    async def invitations_by_ids(self, ids: Sequence[str]) -> dict[str, Invitation]:
        """Invitations among ``ids``."""
        native = native_ids(ids)
        if not native:
            return {}
        stmt = select(community_invitations).where(community_invitations.c.id.in_(native))
        return {str(row.id): _invitation(row) for row in await self._all(stmt)}

    async def invitations_for_spaces(self, space_ids: Sequence[str]) -> dict[str, list[Invitation]]:
        """Every invitation per community, newest first."""
        found: dict[str, list[Invitation]] = {space_id: [] for space_id in space_ids}
        native = native_ids(space_ids)
        if not native:
            return found
        inv = community_invitations.c
        stmt = (
            select(community_invitations)
            .where(inv.community_id.in_(native))
            .order_by(inv.community_id, inv.created_at.desc(), inv.id.desc())
        )
        for row in await self._all(stmt):
            found[str(row.community_id)].append(_invitation(row))
        return found

    async def revoke_invitation(self, invitation_id: str, now: datetime) -> Invitation:
        """Revoke; an accepted invitation's membership (same role) ends with it."""
        native = _native_or_missing(invitation_id)
        inv = community_invitations.c
        async with write_transaction(self.engine) as conn:
            row = (
                await conn.execute(
                    select(community_invitations).where(inv.id == native).with_for_update()
                )
            ).one_or_none()
            if row is None:
                raise TargetMissing(invitation_id)
            if row.revoked_at is None:
                await conn.execute(
                    community_invitations.update().where(inv.id == native).values(revoked_at=now)
                )
            if row.accepted_profile_id is not None:
                await conn.execute(
                    community_memberships.delete().where(
                        community_memberships.c.community_id == row.community_id,
                        community_memberships.c.profile_id == row.accepted_profile_id,
                        community_memberships.c.member_role == row.member_role,
                    )
                )
            row = (await conn.execute(select(community_invitations).where(inv.id == native))).one()
        return _invitation(row)

    async def remove_member(self, space_id: str, person_id: str) -> bool:
        """Delete the membership row: access ends with the member's next request."""
        community, profile = native_id(space_id), native_id(person_id)
        if community is None or profile is None:
            return False
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                community_memberships.delete().where(
                    community_memberships.c.community_id == community,
                    community_memberships.c.profile_id == profile,
                )
            )
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
        if visibility not in ACCESS:
            known = ", ".join(v.value for v in ACCESS)
            raise NotSupported(f"internal spaces are {known}, not {visibility.value}")
        owner = _native_or_missing(owner_id)
        try:
            async with write_transaction(self.engine) as conn:
                result = await conn.execute(
                    communities.insert().values(
                        slug=slug,
                        title=name,
                        description=description,
                        community_type=COMMUNITY_TYPES[kind],
                        access=ACCESS[visibility],
                        tags="",
                        created_at=now,
                    )
                )
                community = result.inserted_primary_key[0]
                await conn.execute(
                    community_memberships.insert().values(
                        community_id=community, profile_id=owner, member_role="leader"
                    )
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
        m, inv = community_memberships.c, community_invitations.c
        sponsor = profiles.alias("sponsor")
        members = select(
            *_SPACE_COLUMNS,
            profiles.c.id.label("profile_id"),
            profiles.c.email,
            profiles.c.full_name,
            m.member_role,
            m.expires_at,
        ).select_from(
            community_memberships.join(profiles, profiles.c.id == m.profile_id).join(
                communities, communities.c.id == m.community_id
            )
        )
        accepted = (
            select(inv.community_id, inv.accepted_profile_id, sponsor.c.email)
            .select_from(
                community_invitations.join(sponsor, sponsor.c.id == inv.invited_by_profile_id)
            )
            .where(inv.accepted_profile_id.is_not(None))
            .order_by(inv.accepted_at)
        )
        pending = (
            select(
                *_SPACE_COLUMNS,
                inv.email,
                inv.member_role,
                inv.expires_at,
                sponsor.c.email.label("sponsor_email"),
            )
            .select_from(
                community_invitations.join(
                    communities, communities.c.id == inv.community_id
                ).outerjoin(sponsor, sponsor.c.id == inv.invited_by_profile_id)
            )
            .where(inv.revoked_at.is_(None), inv.accepted_at.is_(None))
        )
        if space_ids is not None:
            native = native_ids(space_ids)
            members = members.where(m.community_id.in_(native))
            accepted = accepted.where(inv.community_id.in_(native))
            pending = pending.where(inv.community_id.in_(native))
        sponsors: dict[tuple[int, int], str] = {}
        for community_id, profile_id, email in await self._all(accepted):
            sponsors[(community_id, profile_id)] = email  # the latest acceptance wins
        entries = [
            AccessEntry(
                space=_space(row),
                email=row.email,
                display_name=row.full_name,
                role=_ROLES[row.member_role],
                expires_at=row.expires_at,
                sponsor_email=sponsors.get((row.id, row.profile_id)),
            )
            for row in await self._all(members)
        ]
        entries += [
            AccessEntry(
                space=_space(row),
                email=row.email,
                display_name=row.email,
                role=_ROLES[row.member_role],
                expires_at=row.expires_at,
                sponsor_email=row.sponsor_email,
                invited=True,
            )
            for row in await self._all(pending)
        ]
        return sorted(entries, key=lambda e: (e.space.name, e.space.id, e.email or "", e.invited))

    # --- moderation -------------------------------------------------------
    async def set_hidden(self, post_id: str, *, answer: bool, hidden: bool, now: datetime) -> None:
        """Hide (or show again) a question topic or a reply."""
        table = forum_replies if answer else forum_topics
        native = _native_or_missing(post_id)
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                table.update().where(table.c.id == native).values(hidden_at=now if hidden else None)
            )
        if result.rowcount == 0:
            raise TargetMissing(post_id)

    async def set_featured(self, question_id: str, *, featured: bool, now: datetime) -> None:
        """Feature (or stop featuring) a question topic."""
        native = _native_or_missing(question_id)
        mine = (forum_topics.c.id == native, forum_topics.c.is_question)
        async with write_transaction(self.engine) as conn:
            if await conn.scalar(select(forum_topics.c.id).where(*mine)) is None:
                raise TargetMissing(question_id)
            await conn.execute(
                forum_topics.update().where(*mine).values(featured_at=now if featured else None)
            )

    # --- mapping ----------------------------------------------------------
    async def _all(self, stmt: Select[Any]) -> list[Row[Any]]:
        async with self.engine.connect() as conn:
            return list(await conn.execute(stmt))

    async def _questions(self, stmt: Select[Any]) -> list[Question]:
        """Run a question select and map its rows, tags included (one more statement)."""
        rows, tags = await self._rows_with_tags(stmt)
        return [self._question(row, tags[row.id]) for row in rows]

    async def _rows_with_tags(
        self, stmt: Select[Any]
    ) -> tuple[list[Row[Any]], dict[int, list[str]]]:
        """Run a select of topics (an ``id`` column), then fetch the tags of all its rows in
        one more statement (none when there are no rows)."""
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(stmt))
            tags: dict[int, list[str]] = {row.id: [] for row in rows}
            if rows:
                tag_rows = await conn.execute(
                    select(topic_tags.c.topic_id, topic_tags.c.tag)
                    .where(topic_tags.c.topic_id.in_(list(tags)))
                    .order_by(topic_tags.c.topic_id, topic_tags.c.tag)
                )
                for topic_id, tag in tag_rows:
                    tags[topic_id].append(tag)
        return rows, tags

    def _question(self, row: Row[Any], tags: Iterable[str]) -> Question:
        return Question(
            store=self.name,
            id=str(row.id),
            space_id=str(row.community_id),
            title=row.subject,
            body=row.content,
            author_id=_str_or_none(row.author_profile_id),
            tags=tuple(tags),
            accepted_answer_id=_str_or_none(row.accepted_reply_id),
            created_at=row.created_at,
            hidden=row.hidden_at is not None,
            featured=row.featured_at is not None,
        )

    def _feedback(self, row: Row[Any], feedback_id: int, prototype_id: int) -> Feedback:
        return Feedback(
            store=self.name,
            id=str(feedback_id),
            prototype_id=str(prototype_id),
            space_id=str(row.community_id),
            rating=row.rating,
            body=row.comment,
            author_id=_str_or_none(row.author_profile_id),
            internal_note=row.internal_note,
            created_at=row.created_at,
        )

    def _person(self, row: Row[Any]) -> Person:
        return Person(
            store=self.name,
            id=str(row.id),
            display_name=row.full_name,
            handle=row.handle,
            email=row.email,
            organisation=row.company,
            title=row.job_title,
            department=row.department,
        )


def _space(row: Row[Any]) -> Space:
    return Space(
        store=StoreName.INTERNAL,
        id=str(row.id),
        slug=row.slug,
        kind=_KINDS[row.community_type],
        name=row.title,
        description=row.description,
        visibility=Visibility(row.access),
        tags=tuple(tag for tag in row.tags.split(",") if tag),
    )


def _invitation(row: Row[Any]) -> Invitation:
    return Invitation(
        store=StoreName.INTERNAL,
        id=str(row.id),
        space_id=str(row.community_id),
        email=row.email,
        role=_ROLES[row.member_role],
        sponsor_id=_str_or_none(row.invited_by_profile_id),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        accepted_at=row.accepted_at,
    )


def _questions_in(scope: StoreScope) -> Select[Any]:
    """Question topics (not plain discussions) joined to their community, scoped."""
    return (
        select(*_QUESTION_COLUMNS)
        .select_from(_topic_community)
        .where(
            forum_topics.c.is_question,
            _in_scope(scope),
            scope.shown(forum_topics.c.hidden_at, communities.c.access, communities.c.slug),
        )
    )


def _in_scope(scope: StoreScope) -> ColumnElement[bool]:
    return scope.predicate(communities.c.access, communities.c.slug)


def _question_filters(
    *, unanswered: bool, tag: str | None, after: TimeCursor | None, featured: bool = False
) -> list[ColumnElement[bool]]:
    """The conditions every question list shares besides scope and spaces; raises
    :class:`InvalidCursor` for a forged cursor, so call it before deciding not to query."""
    filters: list[ColumnElement[bool]] = []
    if featured:
        filters.append(forum_topics.c.featured_at.is_not(None))
    if unanswered:
        filters.append(forum_topics.c.accepted_reply_id.is_(None))
    if tag is not None:
        tagged = select(topic_tags.c.topic_id).where(
            topic_tags.c.topic_id == forum_topics.c.id,
            topic_tags.c.tag == tag.strip().lower(),
        )
        filters.append(tagged.exists())
    filters.append(after_time(after, forum_topics.c.created_at, forum_topics.c.id))
    return filters


def _rank(
    parent_id: ColumnElement[int], created_at: ColumnElement[datetime], row_id: ColumnElement[int]
) -> ColumnElement[int]:
    """Position of a child within its parent, newest first."""
    return (
        func.row_number()
        .over(partition_by=parent_id, order_by=(created_at.desc(), row_id.desc()))
        .label("row_rank")
    )


def _top_ranked(ranked: Subquery, limit: int) -> Select[Any]:
    """The first ``limit + 1`` children per parent (one more tells whether a next page exists)."""
    return (
        select(ranked)
        .where(ranked.c.row_rank <= limit + 1)
        .order_by(ranked.c.parent_id, ranked.c.row_rank)
    )


def _pages(
    requested: Sequence[str], rows: Iterable[Row[Any]], limit: int, build: Callable[[Row[Any]], T]
) -> dict[str, Page[T]]:
    """One page per requested parent id from ranked ``(parent, child)`` rows."""
    pages: dict[str, Page[T]] = _empty_pages(requested)
    for row in rows:
        parent = str(row.parent_id)  # canonical, so it is the requested spelling
        if row.row_rank > limit:
            pages[parent] = Page(pages[parent].items, has_next=True)
        else:
            pages[parent].items.append(build(row))
    return pages


def _empty_pages(requested: Sequence[str]) -> dict[str, Page[Any]]:
    # Every requested id gets a page, even one no row can have: the contract lets the
    # caller index the result without checking.
    return {parent: Page() for parent in requested}


def _check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")


def _native_or_missing(value: str) -> int:
    found = native_id(value)
    if found is None:
        raise TargetMissing(value)
    return found


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)
