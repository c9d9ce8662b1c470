"""What both adapters' expert search shares: each writes its two native statements (the
grouped counts, the windowed best answers) and how a best-answer row maps; running them
and shaping the answers is the same for both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters._base import SqlStore
from adapters._sql import native_ids
from gateway.domain.experts import Contribution

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Select

    from gateway.domain.model import Answer
    from gateway.stores.scope import StoreScope


class ExpertSearch(SqlStore):
    """The store's part of expert search (see gateway.stores.interface.StoreReads)."""

    def _counts(self, scope: StoreScope, tag: str | None, text: str | None) -> Select[Any]:
        """Per author on the subject in scope: ``id, email, accepted, answers, questions``."""
        raise NotImplementedError

    def _best(
        self, scope: StoreScope, wanted: list[int], tag: str | None, text: str | None, limit: int
    ) -> Select[Any]:
        """Each of ``wanted``'s replies on the subject in scope, best first, ranked per author
        (``row_rank``)."""
        raise NotImplementedError

    def _best_of(self, row: Any) -> tuple[str, Answer]:
        """A best-answer row: its author's native id and the answer."""
        raise NotImplementedError

    async def expert_counts(
        self, scope: StoreScope, *, tag: str | None, text: str | None
    ) -> list[Contribution]:
        """Per author, what they wrote on the subject in scope: one grouped statement."""
        if scope.empty:
            return []
        return [
            Contribution(
                store=self.name,
                person_id=str(row.id),
                email=row.email.lower() if row.email else None,
                accepted_answers=int(row.accepted),
                answers=int(row.answers),
                questions=int(row.questions),
            )
            for row in await self._all(self._counts(scope, tag, text))
        ]

    async def best_answers(
        self,
        scope: StoreScope,
        author_ids: Sequence[str],
        *,
        tag: str | None,
        text: str | None,
        limit: int,
    ) -> dict[str, list[Answer]]:
        """Each author's best replies on the subject in scope: one windowed statement."""
        wanted = native_ids(author_ids)
        if scope.empty or not wanted or limit <= 0:
            return {}
        found: dict[str, list[Answer]] = {}
        for row in await self._all(self._best(scope, wanted, tag, text, limit)):
            if row.row_rank <= limit:
                author, found_answer = self._best_of(row)
                found.setdefault(author, []).append(found_answer)
        return found
