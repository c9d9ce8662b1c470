"""The interface every store adapter implements, in small roles.

:class:`Store` is every role at once (what an adapter implements); code that needs one
role names it: :class:`StoreLifecycle`, :class:`DemoLoading`, :class:`StoreDirectory`,
:class:`StoreReads`, :class:`StoreWrites`, :class:`StoreReports`, :class:`StoreArchive`.

An adapter owns its store's native schema and maps it to :mod:`gateway.domain.model`.
Rules every adapter keeps:

* Every list method takes a compiled :class:`~gateway.stores.scope.StoreScope`
  and turns it into a SQL predicate (``scope.predicate(visibility_col, slug_col)``).
  Nothing is filtered in Python after loading. ``scope.empty`` means: return an
  empty result without querying.
* Every lookup by id is batched (one statement for many ids), so it can feed a
  DataLoader. Ids are the store's native ids as strings; an id that is not a
  valid native id (e.g. ``"abc"`` for an integer key) or not in scope is simply
  absent from the result, exactly like an id that does not exist.
* Lists are keyset-paginated. ``limit`` is the page size; an adapter fetches
  ``limit + 1`` rows and returns a :class:`~gateway.domain.model.Page` with ``has_next``.
  Every list reads between two optional cursors, ``after`` and ``before`` (both exclusive),
  from the start, or with ``backward`` from the end: then the page holds the ``limit``
  rows nearest ``before`` (or the end), still in the list's order, and ``has_next`` says
  that more come *before* them (Relay's ``last``/``before``).
* Per-parent methods (``answers_for_questions`` and the like) return a Page for every
  requested id; an id that is invalid or unknown gets an empty Page.
* A cursor whose id is not a valid native id was forged or corrupted: raise
  :class:`gateway.domain.errors.InvalidCursor` (the client sees "invalid cursor").
* Expiry is the caller's clock: methods that care take ``now``.
* Writes trust the gateway's authorization (it checked scope and policy) but not
  time: each runs in one transaction that re-checks its target exists and raises
  :class:`TargetMissing` when it vanished meanwhile. Concurrent writers never
  fail one another: they queue (SQLite) or lock the parent row (servers).
* When the store cannot be reached, a method lets the driver's (SQLAlchemy's) error
  through; only :meth:`Store.ping` raises :class:`StoreUnavailable` itself. The
  gateway's one guard (:class:`gateway.stores.guard.GuardedStore`) gives every call its
  deadline and circuit breaker and turns those errors into :class:`StoreUnavailable`;
  the gateway reports the store as down for that part of the response and serves
  the other store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

# Defined apart, named here too: adapters import what a store deals in from this module.
from gateway.stores.errors import NotSupported as NotSupported
from gateway.stores.errors import StoreUnavailable as StoreUnavailable
from gateway.stores.errors import TargetMissing as TargetMissing
from gateway.stores.errors import WriteConflict as WriteConflict
from gateway.stores.positions import AtTime as AtTime
from gateway.stores.positions import NameCursor as NameCursor  # noqa: TC001  (re-exported)
from gateway.stores.positions import TimeCursor as TimeCursor  # noqa: TC001  (re-exported)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from gateway.domain.demo import DemoData
    from gateway.domain.experts import Contribution
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
    )
    from gateway.stores.admin_rows import HiddenPost, Holder, StaleQuestion
    from gateway.stores.scope import StoreScope


@runtime_checkable
class StoreRole(Protocol):
    """What every role of a store has: the store's name (which store a result came from)."""

    name: StoreName


@runtime_checkable
class StoreLifecycle(StoreRole, Protocol):
    """Starting, checking and closing a store: what start-up, /readyz and shutdown need."""

    async def create_schema(self) -> None:
        """Create the native tables if they do not exist (never drops anything)."""

    async def is_empty(self) -> bool:
        """True when the store holds no spaces yet (the demo loader seeds only then)."""

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers a trivial query."""

    async def close(self) -> None:
        """Dispose of the engine and its connections."""


@runtime_checkable
class DemoLoading(StoreRole, Protocol):
    """Seeding a store with the demo data set (start-up with demo data only)."""

    async def load_demo(self, data: DemoData) -> None:
        """Write the demo data set's part for this store, in the native schema."""


@runtime_checkable
class StoreDirectory(StoreRole, Protocol):
    """Who is who: profiles, memberships, invitations and trust levels."""

    # --- principals -------------------------------------------------------
    async def memberships_for(self, email: str) -> list[Membership]:
        """Every membership of the account(s) with this verified email, expired ones included,
        and its unrevoked, not yet accepted invitations as ``pending`` memberships."""

    async def memberships_of(self, emails: Sequence[str]) -> dict[str, list[Membership]]:
        """:meth:`memberships_for` of many emails at once, keyed by the lower-cased email
        (an email with none is absent). For administrators' tools over everyone."""

    async def access_holders(self, *, after: str | None, limit: int) -> Page[Holder]:
        """Everyone holding a membership (expired included) or an unaccepted, unrevoked
        invitation (the forum: verified accounts in a group that grants a category), once
        each, by email ascending, strictly after the email ``after``: one statement per
        page. For administrators' tools over everyone, never on a request path."""

    async def trust_level(self, email: str) -> int | None:
        """The forum trust level (0 to 4) of the verified account with this email; None
        when there is none, or the store has no trust levels."""

    async def accept_invitations(self, author: Author, now: datetime) -> int:
        """Bind every pending, unexpired, unrevoked invitation of the author's verified email:
        create their profile if needed and a membership per invitation (with the
        invitation's role and expiry). Returns how many were bound."""

    # --- people -----------------------------------------------------------
    async def people_by_ids(self, ids: Sequence[str]) -> dict[str, Person]:
        """Profiles among ``ids`` (the gateway applies the Person policy)."""

    async def people_by_emails(self, emails: Sequence[str]) -> dict[str, Person]:
        """Profiles by verified email (lower-cased), for linking one person across stores."""

    async def people_by_ids_and_emails(
        self, ids: Sequence[str], emails: Sequence[str]
    ) -> tuple[dict[str, Person], dict[str, Person]]:
        """:meth:`people_by_ids` and :meth:`people_by_emails` at once, in one statement:
        the profiles of a page's authors and those linked to another store's authors."""

    async def people_by_handles(self, handles: Sequence[str]) -> dict[str, Person]:
        """Profiles by handle, compared case-insensitively, keyed by the lower-cased handle
        (for @mentions)."""

    # --- invitations ------------------------------------------------------
    async def invitations_by_ids(self, ids: Sequence[str]) -> dict[str, Invitation]:
        """Invitations among ``ids`` (the gateway checks the space)."""

    async def invitations_for_spaces(self, space_ids: Sequence[str]) -> dict[str, list[Invitation]]:
        """Every invitation per space, newest first (revoked and expired included)."""


@runtime_checkable
class StoreReads(StoreRole, Protocol):
    """The content a principal reads, always within its scope: spaces, questions, answers,
    prototypes and feedback."""

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
        """Spaces in scope, ordered by name then id."""

    async def spaces_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Space]:
        """Spaces in scope among ``ids``."""

    async def member_counts(self, space_ids: Sequence[str], now: datetime) -> dict[str, int]:
        """Active (unexpired) members per space; spaces with none may be absent."""

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
        """Questions in spaces in scope (optionally only these spaces), newest first; only
        featured ones with ``featured``. Hidden ones only where ``scope.reveal`` admits.
        Live (not archived) ones; with ``archived`` archived ones only, and only where
        ``scope.reveal`` admits (by id, an archived question shows there too). Reads of
        questions may join in ``Question.author``, exactly as :meth:`people_by_ids` gives it."""

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
        """Questions per space (spaces already checked in scope), newest first, ``limit`` per
        space, in one statement for all spaces (a window function) plus at most one for
        tags; the same filters and cursor semantics as :meth:`list_questions`. A Page for
        every requested id (empty for invalid or unknown ids)."""

    async def questions_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Question]:
        """Questions in scope among ``ids``."""

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
        """Questions in scope whose title or body contains ``text`` (case-insensitive), newest
        first, between ``after`` and ``before`` (the cursor semantics of
        :meth:`list_questions`): ``limit`` of them, the last ones with ``backward`` (still
        newest first). ``text`` is matched literally: ``%`` and ``_`` are not wildcards.
        Never archived ones."""

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
        """Answers per question (questions already checked in scope), newest first, one
        statement for all questions (a window function), ``limit`` per question."""

    async def answers_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Answer]:
        """Answers in scope among ``ids``."""

    async def answer_counts(
        self, question_ids: Sequence[str], *, reveal_hidden: bool = False
    ) -> dict[str, int]:
        """Number of answers per question; questions with none may be absent. Per-parent
        methods show hidden (moderated) content only with ``reveal_hidden``; scoped ones
        where ``scope.reveal`` admits the space."""

    # --- prototypes and feedback -----------------------------------------
    async def prototypes_for_spaces(
        self,
        space_ids: Sequence[str],
        *,
        limit: int,
        after: NameCursor | None = None,
        before: NameCursor | None = None,
        backward: bool = False,
    ) -> dict[str, Page[Prototype]]:
        """Prototypes per space (spaces already checked in scope), by name, ``limit`` each."""

    async def prototypes_by_ids(
        self, ids: Sequence[str], scope: StoreScope
    ) -> dict[str, Prototype]:
        """Prototypes in scope among ``ids``."""

    async def feedback_for_prototypes(
        self,
        prototype_ids: Sequence[str],
        *,
        limit: int,
        after: TimeCursor | None = None,
        before: TimeCursor | None = None,
        backward: bool = False,
    ) -> dict[str, Page[Feedback]]:
        """Feedback per prototype (already checked in scope), newest first, ``limit`` each."""

    async def feedback_by_ids(self, ids: Sequence[str], scope: StoreScope) -> dict[str, Feedback]:
        """Feedback in scope among ``ids``."""

    async def prototype_counts(self, space_ids: Sequence[str]) -> dict[str, int]:
        """Prototypes per space (spaces already checked in scope); spaces with none may be
        absent. One indexed count for all."""

    async def feedback_counts(self, prototype_ids: Sequence[str]) -> dict[str, int]:
        """Feedback per prototype (prototypes already checked in scope); prototypes with
        none may be absent. One indexed count for all."""

    # --- authors ------------------------------------------------------------
    async def authors_in_scope(
        self, ids: Sequence[str], emails: Sequence[str], scope: StoreScope
    ) -> set[str]:
        """Which of ``ids``, and of these verified emails (answered lower-cased), name
        someone who wrote a question, an answer or feedback in scope (hidden content only
        where ``scope.reveal`` admits): those the principal is shown as an author, whose
        profile ``node(id)`` answers for them too. One statement."""

    # --- experts ------------------------------------------------------------
    async def expert_counts(
        self, scope: StoreScope, *, tag: str | None, text: str | None
    ) -> list[Contribution]:
        """Per author of questions and answers in scope on the subject (questions with
        ``tag``, or whose title or body contains ``text`` literally; with neither, every
        question), how many of the subject's answers they wrote, how many of those are
        accepted, and how many of its questions they asked: hidden content only where
        ``scope.reveal`` admits, an answer only where its question is shown. One aggregate
        statement, whatever the number of authors."""

    async def best_answers(
        self,
        scope: StoreScope,
        author_ids: Sequence[str],
        *,
        tag: str | None,
        text: str | None,
        limit: int,
    ) -> dict[str, list[Answer]]:
        """Per author among ``author_ids``: their answers on the subject of
        :meth:`expert_counts`, in scope, best first (accepted ones, then newest), ``limit``
        each; one statement for every author. Authors with none may be absent."""


@runtime_checkable
class StoreWrites(StoreRole, Protocol):
    """Every change the gateway makes on a principal's behalf (it has authorized each already)."""

    async def ensure_author(self, author: Author) -> str:
        """The native id of the profile with the author's verified email; created on the
        first write (just-in-time provisioning, with a unique handle)."""

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
        """Create a question (with its tags, lower-cased) in a space."""

    async def answer_question(
        self, question_id: str, author_id: str, *, body: str, now: datetime
    ) -> Answer:
        """Add an answer to a question."""

    async def accept_answer(self, answer_id: str) -> Question:
        """Mark the answer as its question's accepted one (replacing any earlier choice);
        returns the question as it now is."""

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
        """Add feedback on a prototype."""

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
        """Invite an email to a space, or renew its pending invitation there (new role,
        expiry and sponsor). Raises :class:`NotSupported` where the store has no
        invitations for this space."""

    async def revoke_invitation(self, invitation_id: str, now: datetime) -> Invitation:
        """Revoke an invitation; if it was accepted, the membership it made ends too."""

    async def remove_member(self, space_id: str, person_id: str) -> bool:
        """End a person's membership of a space; False when there was none."""

    async def extend_invitation(self, invitation_id: str, expires_at: datetime) -> Invitation:
        """Move an invitation's expiry (and, once accepted, that of the membership it made).
        Raises :class:`TargetMissing` when there is none, :class:`WriteConflict` when it
        was revoked."""

    async def extend_membership(self, space_id: str, person_id: str, expires_at: datetime) -> bool:
        """Move a person's membership expiry in a space (and that of the invitation that
        made it); False when they hold none. Raises :class:`NotSupported` where the store's
        memberships are not the gateway's to change."""

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
        """Create a space whose owner is its creator. Raises :class:`WriteConflict` when
        the slug is taken, :class:`NotSupported` for a kind or visibility the store has not."""

    async def set_hidden(self, post_id: str, *, answer: bool, hidden: bool, now: datetime) -> None:
        """Hide a question (``answer=False``) or an answer from everyone but moderators, or
        show it again."""

    async def set_featured(self, question_id: str, *, featured: bool, now: datetime) -> None:
        """Feature a question (listable with ``featured``), or stop featuring it."""


@runtime_checkable
class StoreReports(StoreRole, Protocol):
    """What administrators' reports read: not scoped, never on a request path."""

    async def invitations_expiring(self, after: datetime, before: datetime) -> list[Invitation]:
        """Unrevoked invitations, pending or accepted, whose expiry falls in ``(after,
        before]``, soonest first (for the reminder job: not scoped)."""

    async def access_entries(self, space_ids: Sequence[str] | None) -> list[AccessEntry]:
        """Every membership (expired included) and unaccepted, unrevoked invitation, in these
        spaces or all, with the sponsor where an invitation records one. For reports: not
        scoped, never on a request path."""

    async def stale_questions(
        self, before: datetime, *, unanswered: bool, space_ids: Sequence[str] | None
    ) -> list[StaleQuestion]:
        """Live questions with no activity since ``before`` (asked and last answered
        earlier), unanswered ones only with ``unanswered``, outside archive-exempt spaces,
        in these spaces or all; oldest activity first. What ``gateway content prune``
        archives (with :meth:`StoreArchive.archive_questions`); not scoped."""


@runtime_checkable
class StoreArchive(StoreRole, Protocol):
    """Archiving stale questions (``gateway content prune``) and restoring them, natively."""

    async def archive_questions(
        self, ids: Sequence[str], *, before: datetime, unanswered: bool, now: datetime
    ) -> list[str]:
        """Archive those of ``ids`` that are still stale as :meth:`stale_questions` says
        (activity since it was listed keeps a question live); the ids archived."""

    async def set_archived(self, question_id: str, *, archived: bool, now: datetime) -> None:
        """Archive a question or restore it (nothing changes when it already is)."""

    async def hidden_posts(
        self, space_id: str, scope: StoreScope, *, after: HiddenPost | None, limit: int
    ) -> list[HiddenPost]:
        """The space's hidden questions and answers that ``scope`` shows (hidden ones only
        where it moderates), by when hidden, questions before answers, then id: up to
        ``limit + 1`` after ``after`` (the moderation queue's hidden posts)."""

    async def set_archive_exempt(self, space_id: str, *, exempt: bool) -> None:
        """Exempt a space from pruning (its questions are never archived), or stop."""


@runtime_checkable
class Store(
    StoreLifecycle,
    DemoLoading,
    StoreDirectory,
    StoreReads,
    StoreWrites,
    StoreReports,
    StoreArchive,
    Protocol,
):
    """A community store behind the gateway: every role at once, what an adapter implements.

    Code that needs only one role names that role (:class:`StoreReads`, ...) instead.
    """
