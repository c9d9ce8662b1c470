"""The community store adapter: a public customer forum behind the gateway."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    and_,
    case,
    distinct,
    func,
    null,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError

from adapters._sql import (
    add_missing_columns,
    after_name,
    after_time,
    handle_candidates,
    insert_ignoring_duplicates,
    native_id,
    native_ids,
    open_engine,
    page,
    refresh_statistics,
    write_transaction,
)
from adapters.community import _demo
from adapters.community._tables import (
    PERMISSION_FULL,
    STYLE_DISCUSSION,
    STYLE_QA,
    UtcDateTime,
    categories,
    category_groups,
    category_tags,
    group_users,
    groups,
    metadata,
    posts,
    tags,
    topic_tags,
    topics,
    users,
    visibility_of,
)
from gateway.domain.model import (
    AccessEntry,
    Answer,
    Author,
    Membership,
    Page,
    Person,
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
    from collections.abc import AsyncIterator, Iterable, Sequence

    from sqlalchemy import Column, ColumnElement, Row, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.domain.demo import DemoData
    from gateway.domain.model import Feedback, Invitation, Prototype
    from gateway.stores.interface import NameCursor, TimeCursor
    from gateway.stores.scope import StoreScope

T = TypeVar("T")

STORE = StoreName.COMMUNITY
_KIND_OF_STYLE = {STYLE_QA: SpaceKind.QA, STYLE_DISCUSSION: SpaceKind.GROUP}
_STYLE_OF_KIND = {kind: style for style, kind in _KIND_OF_STYLE.items()}
_PING_TIMEOUT = 5.0

_VISIBILITY = visibility_of(categories).label("visibility")
_TAGS = tags  # the table, where a method's ``tags`` argument hides its name
# The first post of a topic is the question's body; later posts are its answers.
_first_post = posts.alias("first_post")


def _in_scope(scope: StoreScope) -> ColumnElement[bool]:
    return scope.predicate(visibility_of(categories), categories.c.slug)


def _shown(scope: StoreScope, hidden_at: ColumnElement[Any]) -> ColumnElement[bool]:
    """Not hidden by a moderator, or in a category this principal moderates."""
    return scope.shown(hidden_at, visibility_of(categories), categories.c.slug)


def _newest_per(
    stmt: Select[Any],
    parent: Column[Any],
    created_at: ColumnElement[Any],
    id_: ColumnElement[int],
    limit: int,
) -> Select[Any]:
    """At most ``limit + 1`` rows of ``stmt`` per ``parent`` value, newest first.

    Ranks rows with ``row_number()`` over ``created_at DESC, id DESC`` per parent (the
    rank is the ``rank`` column) and orders the result by parent, then rank.
    """
    ranked = stmt.add_columns(
        func.row_number()
        .over(partition_by=parent, order_by=(created_at.desc(), id_.desc()))
        .label("rank")
    ).subquery()
    return (
        select(ranked)
        .where(ranked.c.rank <= max(limit, 0) + 1)
        .order_by(ranked.c[parent.name], ranked.c.rank)
    )


def _pages_per(
    ids: Sequence[str], items: Iterable[tuple[int, T]], limit: int
) -> dict[str, Page[T]]:
    """A Page per requested id from ``(parent id, item)`` pairs in order; empty when none."""
    grouped: dict[str, list[T]] = {}
    for parent_id, item in items:
        grouped.setdefault(str(parent_id), []).append(item)
    pages: dict[str, Page[T]] = {i: Page() for i in ids}
    for parent_id, found in grouped.items():
        pages[parent_id] = page(found, limit)
    return pages


def _question_select() -> Select[Any]:
    """Topics with their category and first post; callers add scope and filters."""
    return select(
        topics.c.id,
        topics.c.category_id,
        topics.c.user_id,
        topics.c.title,
        topics.c.accepted_answer_post_id,
        topics.c.created_at,
        topics.c.pinned_at,
        _first_post.c.raw,
        _first_post.c.hidden_at,
    ).select_from(
        topics.join(categories, categories.c.id == topics.c.category_id).outerjoin(
            _first_post,
            and_(_first_post.c.topic_id == topics.c.id, _first_post.c.post_number == 1),
        )
    )


def _question_filters(
    *, unanswered: bool, tag: str | None, after: TimeCursor | None, featured: bool = False
) -> list[ColumnElement[bool]]:
    """The unanswered, tag and featured filters and the cursor condition on topics."""
    conditions = [after_time(after, topics.c.created_at, topics.c.id)]
    if featured:
        conditions.append(topics.c.pinned_at.is_not(None))
    if unanswered:
        conditions.append(topics.c.accepted_answer_post_id.is_(None))
    if tag is not None:
        # Tags are lower-case natively; lower-casing the argument keeps case-sensitive
        # (PostgreSQL, SQLite) and case-insensitive (MariaDB) collations in agreement.
        conditions.append(
            select(topic_tags.c.topic_id)
            .join(tags, tags.c.id == topic_tags.c.tag_id)
            .where(topic_tags.c.topic_id == topics.c.id, tags.c.name == tag.strip().lower())
            .exists()
        )
    return conditions


def _question(row: Row[Any], tag_names: dict[int, tuple[str, ...]]) -> Question:
    return Question(
        store=STORE,
        id=str(row.id),
        space_id=str(row.category_id),
        title=row.title,
        body=row.raw or "",
        author_id=None if row.user_id is None else str(row.user_id),
        tags=tag_names.get(row.id, ()),
        accepted_answer_id=(
            None if row.accepted_answer_post_id is None else str(row.accepted_answer_post_id)
        ),
        created_at=row.created_at,
        hidden=row.hidden_at is not None,
        featured=row.pinned_at is not None,
    )


def _answer(row: Row[Any]) -> Answer:
    return Answer(
        store=STORE,
        id=str(row.id),
        question_id=str(row.topic_id),
        space_id=str(row.category_id),
        body=row.raw,
        author_id=None if row.user_id is None else str(row.user_id),
        accepted=row.id == row.accepted_answer_post_id,
        created_at=row.created_at,
        hidden=row.hidden_at is not None,
    )


def _space(row: Row[Any], tag_names: dict[int, tuple[str, ...]]) -> Space:
    return Space(
        store=STORE,
        id=str(row.id),
        slug=row.slug,
        kind=_KIND_OF_STYLE[row.style],
        name=row.name,
        description=row.description,
        visibility=Visibility(row.visibility),
        tags=tag_names.get(row.id, ()),
    )


def _person(row: Row[Any]) -> Person:
    return Person(
        store=STORE,
        id=str(row.id),
        display_name=row.name,
        handle=row.username,
        email=row.email if row.email_verified else None,
        organisation=row.company,
        title=row.title,
    )


async def _tags_by(
    conn: AsyncConnection, link: Any, owner: ColumnElement[int], ids: list[int]
) -> dict[int, tuple[str, ...]]:
    """Tag names per owner id (topics or categories), in one statement."""
    if not ids:
        return {}
    rows = await conn.execute(
        select(owner, tags.c.name)
        .join(tags, tags.c.id == link.c.tag_id)
        .where(owner.in_(ids))
        .order_by(owner, tags.c.name)
    )
    found: dict[int, list[str]] = {}
    for owner_id, name in rows:
        found.setdefault(owner_id, []).append(name)
    return {k: tuple(v) for k, v in found.items()}


class CommunityStore:
    """The public customer forum (Discourse-shaped tables) as a gateway store."""

    name = STORE

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        """``timeout``: the drivers' own bounds (see gateway.stores.sql.open_engine); the call's
        deadline is the gateway's guard's."""
        self.engine = open_engine(url, timeout)

    @asynccontextmanager
    async def _connect(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection (a transaction when writing). A lost store's driver error goes
        through to the gateway's guard, as the internal store's does."""
        if write:
            async with write_transaction(self.engine) as conn:
                yield conn
        else:
            async with self.engine.connect() as conn:
                yield conn

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        # The URL is rendered with its password masked; the driver's message may echo
        # connection details, so only the error's type is named.
        where = self.engine.url.render_as_string(hide_password=True)
        return StoreUnavailable(f"community store unavailable at {where} ({type(exc).__name__})")

    # --- lifecycle --------------------------------------------------------
    async def create_schema(self) -> None:
        """Create the native tables if they do not exist (never drops anything)."""
        async with self._connect(write=True) as conn:
            await conn.run_sync(metadata.create_all)
            await add_missing_columns(conn, metadata)
            await refresh_statistics(conn)

    async def is_empty(self) -> bool:
        """True when the forum has no categories yet."""
        async with self._connect() as conn:
            found = await conn.scalar(select(categories.c.id).limit(1))
        return found is None

    async def load_demo(self, data: DemoData) -> None:
        """Write the demo data set's community part natively, in one transaction."""
        async with self._connect(write=True) as conn:
            await _demo.load_demo(conn, data)

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers ``SELECT 1``."""
        try:
            async with asyncio.timeout(_PING_TIMEOUT), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # whatever went wrong, the store did not answer
            raise self._unavailable(exc) from exc

    async def close(self) -> None:
        """Dispose of the engine and its connections."""
        await self.engine.dispose()

    # --- principals -------------------------------------------------------
    async def memberships_for(self, email: str) -> list[Membership]:
        """Group-based memberships of the verified account with this email, expired included."""
        email = email.strip().lower()
        return (await self.memberships_of([email])).get(email, [])

    async def memberships_of(self, emails: Sequence[str]) -> dict[str, list[Membership]]:
        """:meth:`memberships_for` of many emails (lower-cased) in one statement."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if not wanted:
            return {}
        # One row per (user, category): the strongest role and the latest expiry
        # over every group that reaches the category (a NULL expiry means never).
        owner = func.max(case((group_users.c.owner, 1), else_=0))
        expires_at = type_coerce(
            case(
                (func.count() > func.count(group_users.c.expires_at), null()),
                else_=func.max(group_users.c.expires_at),
            ),
            UtcDateTime,
        )
        stmt = (
            select(
                users.c.email,
                categories.c.id,
                categories.c.slug,
                _VISIBILITY,
                owner.label("owner"),
                expires_at.label("expires_at"),
            )
            .select_from(
                users.join(group_users, group_users.c.user_id == users.c.id)
                .join(category_groups, category_groups.c.group_id == group_users.c.group_id)
                .join(categories, categories.c.id == category_groups.c.category_id)
            )
            .where(users.c.email.in_(wanted), users.c.email_verified)
            .group_by(
                users.c.id,
                users.c.email,
                categories.c.id,
                categories.c.slug,
                categories.c.read_restricted,
                categories.c.min_trust_level,
                categories.c.login_required,
            )
            .order_by(categories.c.id, users.c.id)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
        found: dict[str, list[Membership]] = {}
        for row in rows:
            found.setdefault(row.email.lower(), []).append(
                Membership(
                    store=STORE,
                    space_id=str(row.id),
                    space_key=space_key(STORE, Visibility(row.visibility), row.slug),
                    role=SpaceRole.OWNER if row.owner else SpaceRole.MEMBER,
                    expires_at=row.expires_at,
                )
            )
        return found

    # --- spaces -----------------------------------------------------------
    async def list_spaces(
        self,
        scope: StoreScope,
        *,
        kind: SpaceKind | None,
        after: NameCursor | None,
        limit: int,
    ) -> Page[Space]:
        """Categories in scope, ordered by name then id."""
        if scope.empty or (kind is not None and kind not in _STYLE_OF_KIND):
            return Page()
        stmt = select(categories, _VISIBILITY).where(_in_scope(scope))
        if kind is not None:
            stmt = stmt.where(categories.c.style == _STYLE_OF_KIND[kind])
        if after is not None:
            stmt = stmt.where(after_name(after, categories.c.name, categories.c.id))
        stmt = stmt.order_by(categories.c.name, categories.c.id).limit(max(limit, 0) + 1)
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
            shown = rows[: max(limit, 0)]
            tag_names = await _tags_by(
                conn, category_tags, category_tags.c.category_id, [r.id for r in shown]
            )
        return page([_space(r, tag_names) for r in rows], limit)

    async def spaces_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Space]:
        """Categories in scope among ``ids``."""
        wanted = native_ids(ids)
        if scope.empty or not wanted:
            return {}
        stmt = select(categories, _VISIBILITY).where(categories.c.id.in_(wanted), _in_scope(scope))
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
            tag_names = await _tags_by(
                conn, category_tags, category_tags.c.category_id, [r.id for r in rows]
            )
        return {str(r.id): _space(r, tag_names) for r in rows}

    async def member_counts(self, space_ids: Sequence[str], now: datetime) -> dict[str, int]:
        """Distinct users with an unexpired group membership per category."""
        wanted = native_ids(space_ids)
        if not wanted:
            return {}
        stmt = (
            select(category_groups.c.category_id, func.count(distinct(group_users.c.user_id)))
            .join(group_users, group_users.c.group_id == category_groups.c.group_id)
            .where(
                category_groups.c.category_id.in_(wanted),
                or_(group_users.c.expires_at.is_(None), group_users.c.expires_at > now),
            )
            .group_by(category_groups.c.category_id)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
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
    ) -> Page[Question]:
        """Topics in categories in scope, newest first."""
        filters = _question_filters(unanswered=unanswered, tag=tag, after=after, featured=featured)
        wanted = None if space_ids is None else native_ids(space_ids)
        if scope.empty or wanted == []:
            return Page()
        stmt = _question_select().where(
            _in_scope(scope), _shown(scope, _first_post.c.hidden_at), *filters
        )
        if wanted is not None:
            stmt = stmt.where(topics.c.category_id.in_(wanted))
        stmt = stmt.order_by(topics.c.created_at.desc(), topics.c.id.desc()).limit(
            max(limit, 0) + 1
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
            shown = rows[: max(limit, 0)]
            tag_names = await _tags_by(
                conn, topic_tags, topic_tags.c.topic_id, [r.id for r in shown]
            )
        return page([_question(r, tag_names) for r in rows], limit)

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
        """Topics per category, newest first, ``limit`` each, in one windowed statement."""
        wanted = native_ids(space_ids)
        if not wanted:
            return {space_id: Page() for space_id in space_ids}
        filters = _question_filters(unanswered=unanswered, tag=tag, after=after, featured=featured)
        if not reveal_hidden:
            filters.append(_first_post.c.hidden_at.is_(None))
        stmt = _newest_per(
            _question_select().where(topics.c.category_id.in_(wanted), *filters),
            topics.c.category_id,
            topics.c.created_at,
            topics.c.id,
            limit,
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
            shown = [r.id for r in rows if r.rank <= max(limit, 0)]
            tag_names = await _tags_by(conn, topic_tags, topic_tags.c.topic_id, shown)
        return _pages_per(
            space_ids, ((r.category_id, _question(r, tag_names)) for r in rows), limit
        )

    async def questions_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Question]:
        """Topics in scope among ``ids``."""
        wanted = native_ids(ids)
        if scope.empty or not wanted:
            return {}
        stmt = _question_select().where(
            topics.c.id.in_(wanted), _in_scope(scope), _shown(scope, _first_post.c.hidden_at)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
            tag_names = await _tags_by(
                conn, topic_tags, topic_tags.c.topic_id, [r.id for r in rows]
            )
        return {str(r.id): _question(r, tag_names) for r in rows}

    async def search_questions(self, scope: StoreScope, text: str, limit: int) -> list[Question]:
        """Topics in scope whose title or first post contains ``text`` literally, newest first."""
        if scope.empty or limit <= 0:
            return []
        # autoescape makes % and _ literal. SQLite's lower() folds ASCII only, so
        # non-ASCII case-insensitivity there is best effort.
        needle = text.lower()
        stmt = (
            _question_select()
            .where(
                _in_scope(scope),
                _shown(scope, _first_post.c.hidden_at),
                or_(
                    func.lower(topics.c.title).contains(needle, autoescape=True),
                    func.lower(_first_post.c.raw).contains(needle, autoescape=True),
                ),
            )
            .order_by(topics.c.created_at.desc(), topics.c.id.desc())
            .limit(limit)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
            tag_names = await _tags_by(
                conn, topic_tags, topic_tags.c.topic_id, [r.id for r in rows]
            )
        return [_question(r, tag_names) for r in rows]

    async def answers_for_questions(
        self,
        question_ids: Sequence[str],
        *,
        after: TimeCursor | None,
        limit: int,
        reveal_hidden: bool = False,
    ) -> dict[str, Page[Answer]]:
        """Replies per topic, newest first, ``limit`` each, in one windowed statement."""
        wanted = native_ids(question_ids)
        if not wanted:
            return {qid: Page() for qid in question_ids}
        stmt = _newest_per(
            select(
                posts.c.id,
                posts.c.topic_id,
                posts.c.user_id,
                posts.c.raw,
                posts.c.created_at,
                posts.c.hidden_at,
                topics.c.category_id,
                topics.c.accepted_answer_post_id,
            )
            .join(topics, topics.c.id == posts.c.topic_id)
            .where(
                posts.c.topic_id.in_(wanted),
                posts.c.post_number > 1,
                after_time(after, posts.c.created_at, posts.c.id),
                *([] if reveal_hidden else [posts.c.hidden_at.is_(None)]),
            ),
            posts.c.topic_id,
            posts.c.created_at,
            posts.c.id,
            limit,
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return _pages_per(question_ids, ((r.topic_id, _answer(r)) for r in rows), limit)

    async def answers_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Answer]:
        """Replies (never a topic's first post) in scope among ``ids``."""
        wanted = native_ids(ids)
        if scope.empty or not wanted:
            return {}
        stmt = (
            select(
                posts.c.id,
                posts.c.topic_id,
                posts.c.user_id,
                posts.c.raw,
                posts.c.created_at,
                posts.c.hidden_at,
                topics.c.category_id,
                topics.c.accepted_answer_post_id,
            )
            .select_from(
                posts.join(topics, topics.c.id == posts.c.topic_id)
                .join(categories, categories.c.id == topics.c.category_id)
                .outerjoin(
                    _first_post,
                    and_(_first_post.c.topic_id == topics.c.id, _first_post.c.post_number == 1),
                )
            )
            .where(
                posts.c.id.in_(wanted),
                posts.c.post_number > 1,
                _in_scope(scope),
                # An answer is hidden when it is, or when its question is.
                _shown(scope, posts.c.hidden_at),
                _shown(scope, _first_post.c.hidden_at),
            )
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {str(r.id): _answer(r) for r in rows}

    async def answer_counts(
        self, question_ids: Sequence[str], *, reveal_hidden: bool = False
    ) -> dict[str, int]:
        """Number of replies per topic (hidden ones only with ``reveal_hidden``)."""
        wanted = native_ids(question_ids)
        if not wanted:
            return {}
        stmt = (
            select(posts.c.topic_id, func.count())
            .where(
                posts.c.topic_id.in_(wanted),
                posts.c.post_number > 1,
                *([] if reveal_hidden else [posts.c.hidden_at.is_(None)]),
            )
            .group_by(posts.c.topic_id)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {str(topic_id): count for topic_id, count in rows}

    # --- prototypes and feedback -----------------------------------------
    # The forum has no prototypes: every answer is empty, and no statement runs.
    async def prototypes_for_spaces(
        self, space_ids: Sequence[str], *, limit: int
    ) -> dict[str, Page[Prototype]]:
        """An empty page per space: the community store has no prototypes."""
        return {space_id: Page() for space_id in space_ids}

    async def prototypes_by_ids(
        self, ids: Sequence[str], scope: StoreScope
    ) -> dict[str, Prototype]:
        """Nothing: the community store has no prototypes."""
        return {}

    async def feedback_for_prototypes(
        self, prototype_ids: Sequence[str], *, limit: int
    ) -> dict[str, Page[Feedback]]:
        """An empty page per prototype: the community store has no feedback."""
        return {prototype_id: Page() for prototype_id in prototype_ids}

    async def feedback_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Feedback]:
        """Nothing: the community store has no feedback."""
        return {}

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
                    result = await conn.execute(
                        users.insert().values(
                            username=username,
                            name=author.display_name,
                            email=email,
                            email_verified=True,
                            trust_level=0,
                            company=author.organisation,
                            created_at=datetime.now(UTC),
                        )
                    )
                return str(result.inserted_primary_key[0])
            except IntegrityError:
                # Either the username is taken, or a concurrent first write made the account.
                found = await self._user_id(email)
                if found is not None:
                    return found
        raise RuntimeError(f"no free username for {email}")  # not a user error

    async def _user_id(self, email: str) -> str | None:
        async with self._connect() as conn:
            found = await conn.scalar(select(users.c.id).where(users.c.email == email))
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
        category, user = _native_or_missing(space_id), _native_or_missing(author_id)
        wanted = sorted({tag.lower() for tag in tags})
        async with self._connect(write=True) as conn:
            exists = select(categories.c.id).where(categories.c.id == category)
            if await conn.scalar(exists) is None:
                raise TargetMissing(space_id)
            result = await conn.execute(
                topics.insert().values(
                    category_id=category, user_id=user, title=title, created_at=now
                )
            )
            topic_id = result.inserted_primary_key[0]
            await conn.execute(
                posts.insert().values(
                    topic_id=topic_id, user_id=user, post_number=1, raw=body, created_at=now
                )
            )
            if wanted:
                await conn.execute(
                    insert_ignoring_duplicates(_TAGS, conn.dialect.name),
                    [{"name": name} for name in wanted],
                )
                tag_ids = await conn.scalars(select(_TAGS.c.id).where(_TAGS.c.name.in_(wanted)))
                await conn.execute(
                    topic_tags.insert(),
                    [{"topic_id": topic_id, "tag_id": tag_id} for tag_id in tag_ids],
                )
        return Question(
            store=STORE,
            id=str(topic_id),
            space_id=str(category),
            title=title,
            body=body,
            author_id=str(user),
            tags=tuple(wanted),
            accepted_answer_id=None,
            created_at=now,
        )

    async def answer_question(
        self, question_id: str, author_id: str, *, body: str, now: datetime
    ) -> Answer:
        """The topic's next post. The topic row is locked while its next post number is
        taken, so concurrent answers queue instead of colliding on the number."""
        topic, user = _native_or_missing(question_id), _native_or_missing(author_id)
        async with self._connect(write=True) as conn:
            category = await conn.scalar(
                select(topics.c.category_id).where(topics.c.id == topic).with_for_update()
            )
            if category is None:
                raise TargetMissing(question_id)
            highest = await conn.scalar(
                select(func.max(posts.c.post_number)).where(posts.c.topic_id == topic)
            )
            result = await conn.execute(
                posts.insert().values(
                    topic_id=topic,
                    user_id=user,
                    post_number=(highest or 1) + 1,
                    raw=body,
                    created_at=now,
                )
            )
        return Answer(
            store=STORE,
            id=str(result.inserted_primary_key[0]),
            question_id=str(topic),
            space_id=str(category),
            body=body,
            author_id=str(user),
            accepted=False,
            created_at=now,
        )

    async def accept_answer(self, answer_id: str) -> Question:
        """Point the post's topic at it as the accepted answer (never the first post)."""
        post = _native_or_missing(answer_id)
        async with self._connect(write=True) as conn:
            topic = await conn.scalar(
                select(posts.c.topic_id).where(posts.c.id == post, posts.c.post_number > 1)
            )
            if topic is None:
                raise TargetMissing(answer_id)
            await conn.execute(
                topics.update().where(topics.c.id == topic).values(accepted_answer_post_id=post)
            )
        async with self._connect() as conn:
            row = (await conn.execute(_question_select().where(topics.c.id == topic))).one()
            tag_names = await _tags_by(conn, topic_tags, topic_tags.c.topic_id, [topic])
        return _question(row, tag_names)

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
        """The forum has no prototypes, so there is nothing to give feedback on."""
        raise TargetMissing(prototype_id)

    # --- invitations and members ---------------------------------------------
    # The forum grants access through groups; the gateway's invitations are for the
    # internal store, so nothing here is ever pending or invited.
    async def trust_level(self, email: str) -> int | None:
        """The trust level of the verified account with this email."""
        stmt = select(users.c.trust_level).where(
            users.c.email == email.strip().lower(), users.c.email_verified
        )
        async with self._connect() as conn:
            return await conn.scalar(stmt)

    async def accept_invitations(self, author: Author, now: datetime) -> int:
        """Nothing to bind: the forum keeps no invitations the gateway issued."""
        return 0

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
        """Refused: community access comes from the forum's groups and trust levels."""
        raise NotSupported(
            "community spaces are joined through the forum's groups and trust levels, "
            "not by invitation"
        )

    async def invitations_by_ids(self, ids: Sequence[str]) -> dict[str, Invitation]:
        """None: the forum keeps no gateway invitations."""
        return {}

    async def invitations_for_spaces(self, space_ids: Sequence[str]) -> dict[str, list[Invitation]]:
        """An empty list per category."""
        return {space_id: [] for space_id in space_ids}

    async def revoke_invitation(self, invitation_id: str, now: datetime) -> Invitation:
        """There is none to revoke."""
        raise TargetMissing(invitation_id)

    async def remove_member(self, space_id: str, person_id: str) -> bool:
        """Take the user out of every group that grants this category."""
        category, user = native_id(space_id), native_id(person_id)
        if category is None or user is None:
            return False
        granting = select(category_groups.c.group_id).where(
            category_groups.c.category_id == category
        )
        async with self._connect(write=True) as conn:
            result = await conn.execute(
                group_users.delete().where(
                    group_users.c.user_id == user, group_users.c.group_id.in_(granting)
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
        """A category with the settings of its visibility class, and a group of the same
        name that grants it, with the creator as the group's owner."""
        if kind not in _demo.STYLES:
            raise NotSupported(f"the forum has no {kind.value} spaces")
        owner = _native_or_missing(owner_id)
        try:
            async with self._connect(write=True) as conn:
                result = await conn.execute(
                    categories.insert().values(
                        slug=slug,
                        name=name,
                        description=description,
                        style=_demo.STYLES[kind],
                        created_at=now,
                        **_demo.CATEGORY_SETTINGS[visibility],
                    )
                )
                category = result.inserted_primary_key[0]
                made = await conn.execute(groups.insert().values(name=slug))
                group = made.inserted_primary_key[0]
                await conn.execute(
                    group_users.insert().values(group_id=group, user_id=owner, owner=True)
                )
                await conn.execute(
                    category_groups.insert().values(
                        category_id=category, group_id=group, permission_type=PERMISSION_FULL
                    )
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
        stmt = (
            select(
                categories.c.id,
                categories.c.slug,
                categories.c.name,
                categories.c.description,
                categories.c.style,
                _VISIBILITY,
                users.c.email,
                users.c.email_verified,
                users.c.name.label("user_name"),
                group_users.c.owner,
                group_users.c.expires_at,
            )
            .select_from(
                group_users.join(users, users.c.id == group_users.c.user_id)
                .join(category_groups, category_groups.c.group_id == group_users.c.group_id)
                .join(categories, categories.c.id == category_groups.c.category_id)
            )
            .order_by(categories.c.name, categories.c.id, users.c.email)
        )
        if space_ids is not None:
            stmt = stmt.where(categories.c.id.in_(native_ids(space_ids)))
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            AccessEntry(
                space=_space(row, {}),
                email=row.email if row.email_verified else None,
                display_name=row.user_name,
                role=SpaceRole.OWNER if row.owner else SpaceRole.MEMBER,
                expires_at=row.expires_at,
                sponsor_email=None,
            )
            for row in rows
        ]

    # --- moderation -------------------------------------------------------
    async def set_hidden(self, post_id: str, *, answer: bool, hidden: bool, now: datetime) -> None:
        """Hide (or show again) a reply, or a topic through its first post."""
        native = _native_or_missing(post_id)
        which = (
            and_(posts.c.id == native, posts.c.post_number > 1)
            if answer
            else and_(posts.c.topic_id == native, posts.c.post_number == 1)
        )
        async with self._connect(write=True) as conn:
            # Existence by SELECT: MariaDB counts only rows whose value changed.
            if await conn.scalar(select(posts.c.id).where(which)) is None:
                raise TargetMissing(post_id)
            await conn.execute(
                posts.update().where(which).values(hidden_at=now if hidden else None)
            )

    async def set_featured(self, question_id: str, *, featured: bool, now: datetime) -> None:
        """Pin (or unpin) a topic: Discourse's featured topics."""
        native = _native_or_missing(question_id)
        async with self._connect(write=True) as conn:
            if await conn.scalar(select(topics.c.id).where(topics.c.id == native)) is None:
                raise TargetMissing(question_id)
            await conn.execute(
                topics.update()
                .where(topics.c.id == native)
                .values(pinned_at=now if featured else None)
            )

    # --- people -----------------------------------------------------------
    async def people_by_ids(self, ids: Sequence[str]) -> dict[str, Person]:
        """Forum users among ``ids``; the email only when verified."""
        wanted = native_ids(ids)
        if not wanted:
            return {}
        async with self._connect() as conn:
            rows = (await conn.execute(select(users).where(users.c.id.in_(wanted)))).all()
        return {str(r.id): _person(r) for r in rows}

    async def people_by_emails(self, emails: Sequence[str]) -> dict[str, Person]:
        """Forum users by verified email, keyed by the lower-cased email."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if not wanted:
            return {}
        stmt = select(users).where(users.c.email.in_(wanted), users.c.email_verified)
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {r.email: _person(r) for r in rows}

    async def people_by_handles(self, handles: Sequence[str]) -> dict[str, Person]:
        """Forum users by username, case-insensitively."""
        wanted = sorted({h.strip().lower() for h in handles if h.strip()})
        if not wanted:
            return {}
        stmt = select(users).where(func.lower(users.c.username).in_(wanted))
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {r.username.lower(): _person(r) for r in rows}


def _native_or_missing(value: str) -> int:
    found = native_id(value)
    if found is None:
        raise TargetMissing(value)
    return found
