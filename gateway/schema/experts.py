"""Expert search: ``experts(tag, text)``, people ranked by what they wrote on a subject.

Each store counts in one aggregate statement within the caller's read scope
(``StoreReads.expert_counts``), so content the caller may not read never counts, nor
changes anyone's rank; :func:`gateway.domain.experts.rank` merges the stores into one
person per verified email. The page's best answers are one more statement per store, for
every expert on the page at once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.domain.errors import InvalidArgument, StoreDown
from gateway.domain.experts import BEST_ANSWERS, ExpertPosition, RankedExpert, rank
from gateway.domain.experts import after as ranked_after
from gateway.schema.context import context_of
from gateway.schema.pagination import connection, page_size
from gateway.schema.people import Person, person_view
from gateway.schema.types import AFTER, FIRST, Answer
from gateway.stores.cursors import STORE_ORDER
from gateway.stores.guard import guarded

if TYPE_CHECKING:
    from gateway.domain import model as domain
    from gateway.domain.experts import Contribution
    from gateway.domain.model import StoreName
    from gateway.schema.context import Context

__all__ = ["MAX_EXPERT_TEXT", "Expert", "ExpertQueries"]

MAX_EXPERT_TEXT = 200
MAX_TAG = 64

EXPERT_TAG = Annotated[
    str | None,
    strawberry.argument(description="The subject: questions with this tag (and their answers)."),
]
EXPERT_TEXT = Annotated[
    str | None,
    strawberry.argument(
        description="The subject: questions whose title or body contains this text, literally "
        f"and case-insensitively (1 to {MAX_EXPERT_TEXT} characters), and their answers."
    ),
]


class _BestAnswers:
    """The best answers of every expert on one page, fetched on first use: one statement
    per store for the whole page, however many experts ask."""

    def __init__(
        self, ctx: Context, page: list[RankedExpert], tag: str | None, text: str | None
    ) -> None:
        self._ctx, self._page, self._tag, self._text = ctx, page, tag, text
        self._task: asyncio.Task[dict[tuple[StoreName, str], list[domain.Answer]]] | None = None

    async def of(self, expert: RankedExpert) -> list[domain.Answer]:
        if self._task is None:
            self._task = asyncio.ensure_future(self._fetch())
        # Shielded: one expert's field being cancelled must not cancel the page's fetch.
        found = await asyncio.shield(self._task)
        answers = [a for profile in expert.profiles for a in found.get(profile, [])]
        answers.sort(key=lambda a: (a.accepted, a.created_at), reverse=True)
        return answers[:BEST_ANSWERS]

    async def _fetch(self) -> dict[tuple[StoreName, str], list[domain.Answer]]:
        ctx = self._ctx
        wanted: dict[StoreName, list[str]] = {}
        for expert in self._page:
            for store, native in expert.profiles:
                wanted.setdefault(store, []).append(native)
        names = [n for n in STORE_ORDER if n in wanted and n in ctx.stores]
        results = await asyncio.gather(
            *(
                guarded(
                    n,
                    ctx.stores[n].best_answers(
                        ctx.read_scope.for_store(n),
                        wanted[n],
                        tag=self._tag,
                        text=self._text,
                        limit=BEST_ANSWERS,
                    ),
                )
                for n in names
            ),
            return_exceptions=True,
        )
        found: dict[tuple[StoreName, str], list[domain.Answer]] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, StoreDown):
                ctx.report([result], None)
                continue
            if isinstance(result, BaseException):
                raise result
            found.update({(name, author): answers for author, answers in result.items()})
        return found


@strawberry.type(
    description="Someone who knows about a subject, by what they wrote on it that you may "
    "read: content you may not read never counts."
)
class Expert:
    accepted_answers: int = strawberry.field(description="Their accepted answers on it.")
    answers: int = strawberry.field(description="Their answers on it, accepted ones included.")
    questions: int = strawberry.field(description="The questions they asked on it.")
    _ranked: strawberry.Private[RankedExpert]
    _best: strawberry.Private[_BestAnswers]

    @classmethod
    def of(cls, ranked: RankedExpert, best: _BestAnswers) -> Expert:
        return cls(
            accepted_answers=ranked.accepted_answers,
            answers=ranked.answers,
            questions=ranked.questions,
            _ranked=ranked,
            _best=best,
        )

    def cursor(self) -> str:
        return self._ranked.position().encode()

    @strawberry.field(
        description="Who they are (one person across stores); null when their profile is gone."
    )
    async def person(self, info: Info) -> Person | None:
        store, native = self._ranked.person
        return await person_view(info, store, native)

    @strawberry.field(
        description=f"Up to {BEST_ANSWERS} of their answers on it that you may read: accepted "
        "ones first, then the newest."
    )
    async def best_answers(self) -> list[Answer]:
        return [Answer.of(a) for a in await self._best.of(self._ranked)]


def _subject(tag: str | None, text: str | None) -> tuple[str | None, str | None]:
    """The subject's tag (lower-cased, as tags are stored) and text, checked."""
    if tag is not None:
        tag = tag.strip().lower()
        if not tag or len(tag) > MAX_TAG:
            raise InvalidArgument(f"tag must be 1 to {MAX_TAG} characters")
    if text is not None:
        text = text.strip()
        if not text or len(text) > MAX_EXPERT_TEXT:
            raise InvalidArgument(f"text must be 1 to {MAX_EXPERT_TEXT} characters")
    return tag, text


async def _contributions(
    ctx: Context, tag: str | None, text: str | None
) -> tuple[list[Contribution], list[StoreDown]]:
    """Every store's counts in the caller's scope (a store outside it is not asked)."""
    names = [n for n in STORE_ORDER if n in ctx.stores and not ctx.read_scope.for_store(n).empty]
    results = await asyncio.gather(
        *(
            guarded(n, ctx.stores[n].expert_counts(ctx.read_scope.for_store(n), tag=tag, text=text))
            for n in names
        ),
        return_exceptions=True,
    )
    found: list[Contribution] = []
    failures: list[StoreDown] = []
    for result in results:
        if isinstance(result, StoreDown):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            found.extend(result)
    if failures and len(failures) == len(names):
        raise failures[0]
    return found, failures


@strawberry.type
class ExpertQueries:
    @strawberry.field(
        description="Who knows about a subject: people ranked by accepted answers, then "
        "answers, then questions on it, across both stores, counted only from what you may "
        "read. With neither tag nor text, over everything you may read."
    )
    async def experts(
        self,
        info: Info,
        tag: EXPERT_TAG = None,
        text: EXPERT_TEXT = None,
        first: FIRST = None,
        after: AFTER = None,
    ) -> relay.Connection[Expert]:  # type: ignore[type-var]  # see gateway.schema.pagination.N
        ctx = context_of(info)
        tag, text = _subject(tag, text)
        limit = page_size(first, ctx.settings)
        position = ExpertPosition.decode(after) if after else None
        found, failures = await _contributions(ctx, tag, text)
        ctx.report(failures, info.path.as_list())
        rest = ranked_after(rank(found), position)
        page = rest[:limit]
        best = _BestAnswers(ctx, page, tag, text)
        nodes = [Expert.of(r, best) for r in page]
        more = len(rest) > limit
        return connection(nodes, more, Expert.cursor, has_previous=position is not None)
