"""What the store contract suite needs to know about each adapter.

The contract tests (``test_contract_*.py``) state once what every ``Store`` adapter must do.
They run against each adapter through an :class:`Adapter`: the demo data as that adapter
holds it (slugs, titles, counts, bodies), its scopes, and the few native inserts a test needs
to reach a case the demo does not cover (name and time ties, more topics). Native inserts go
through the adapters' ``_tables`` only, never through their stores' private helpers.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from gateway.domain.demo import demo_data
from gateway.stores.scope import Grants, StoreScope

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from gateway.domain.model import Question, SpaceKind, StoreName
    from gateway.stores.interface import Store, TimeCursor

# Strings that cannot name a row in any store: every lookup ignores them.
BAD_IDS = ["abc", "", " 1", "01", "+1", "1.0", "-1", "0", "007", "1_0", "99999999999999999999"]


@contextmanager
def statements(store: Any) -> Iterator[list[str]]:
    """Collect the SQL statements the store sends while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def space_ids(store: Store, scope: StoreScope) -> dict[str, str]:
    """Every space's id by slug (``scope`` should allow everything)."""
    page = await store.list_spaces(scope, kind=None, after=None, limit=100)
    return {space.slug: space.id for space in page.items}


async def questions(store: Store, scope: StoreScope) -> dict[str, Question]:
    """Every question by title (``scope`` should allow everything)."""
    page = await store.list_questions(
        scope, space_ids=None, unanswered=False, tag=None, after=None, limit=100
    )
    return {question.title: question for question in page.items}


async def titles(store: Store, scope: StoreScope, **filters: Any) -> list[str]:
    options: dict[str, Any] = {"space_ids": None, "unanswered": False, "tag": None, "after": None}
    page = await store.list_questions(scope, **(options | filters), limit=100)
    assert not page.has_next
    return [question.title for question in page.items]


@dataclass(frozen=True)
class Enriched:
    """What :attr:`Adapter.enrich` added: cursors and filters worth comparing, a space with
    many questions, a tag shared across spaces and an instant several topics share."""

    cursors: list[TimeCursor | None]
    filters: list[tuple[bool, str | None]]
    busy: str  # a slug
    tag: str
    tie: datetime
    full_last_page: bool  # some space's last page is full, at every limit compared


@dataclass(frozen=True, kw_only=True)
class Adapter:
    """One adapter, as the contract suite sees it (all names are demo slugs and titles)."""

    name: str
    store_name: StoreName
    open: StoreScope  # the visibility class anyone may read
    one: StoreScope  # a single restricted space
    deny: StoreScope  # everything but some spaces
    extra_scopes: dict[str, StoreScope] = field(default_factory=dict)
    make: Callable[[str], Any]
    loaded_at: datetime
    # spaces
    space_scopes: list[tuple[str, list[str]]]  # scope name, slugs in name order
    space_kinds: list[tuple[SpaceKind, list[str], list[str]]]  # everything, open
    kinds_not_held: frozenset[SpaceKind] = frozenset()  # answered without a statement
    open_slugs: set[str]
    deny_slugs: set[str]
    tagged_space: tuple[str, tuple[str, ...]]
    twin: tuple[str, str, list[str]]  # slug, name, the open slugs after it once twinned
    add_twins: Callable[[Any], Awaitable[None]]  # adds "<slug>-2", "<slug>-3", same name
    member_counts: list[tuple[timedelta, dict[str, int]]]
    statement_counts: dict[str, int]
    # questions
    questions: list[str]  # newest first
    per_space: dict[str, list[str]]  # newest first
    question_scopes: list[tuple[str, list[str]]]
    question_filters: list[tuple[str, dict[str, Any], list[str]]]  # space_ids as slugs
    open_questions: list[str]
    one_questions: list[str]
    tagged_question: tuple[str, tuple[str, ...]]
    pivot: str  # a question whose instant no other topic shares
    tie_space: str
    tie_at: datetime
    add_question: Callable[[Any, str, str, datetime], Awaitable[str]]
    non_questions: Callable[[Any], Awaitable[list[str]]]
    searches: list[tuple[str, str, int, list[str]]]
    enrich: Callable[[Any], Awaitable[Enriched]]
    # answers
    answer_counts: dict[str, int]  # by question title
    answered: set[str]  # questions with an accepted answer
    single_answer: tuple[str, str]  # a question with one accepted answer, and its body
    answer_bodies: list[str]  # sorted
    accepted_bodies: set[str]
    open_answer_bodies: set[str]
    one_answer_bodies: set[str]
    native_answers: Callable[[Any], Awaitable[tuple[list[str], list[str]]]]
    # people
    profiled: set[str]
    people: dict[str, tuple[str, str, str, str | None, str | None, str | None]]

    def __str__(self) -> str:
        return self.name

    @property
    def everything(self) -> StoreScope:
        return StoreScope(self.store_name, allow=Grants(everything=True))

    @property
    def nothing(self) -> StoreScope:
        return StoreScope(self.store_name)

    @property
    def deny_all(self) -> StoreScope:
        return StoreScope(
            self.store_name, allow=Grants(everything=True), deny=Grants(everything=True)
        )

    def scope(self, name: str) -> StoreScope:
        fixed = {
            "everything": self.everything,
            "open": self.open,
            "one": self.one,
            "deny": self.deny,
            "nothing": self.nothing,
        }
        return (fixed | self.extra_scopes)[name]

    @property
    def space_names(self) -> dict[str, str]:
        return {s.slug: s.name for s in demo_data(self.loaded_at).spaces_in(self.store_name)}


def param_id(value: object) -> str | None:
    """Readable test ids: the adapter's name, scope names, kinds and numbers."""
    if isinstance(value, Adapter | str | int | timedelta):
        return str(value)
    return None
