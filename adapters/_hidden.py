"""A space's hidden posts (the moderation queue's): two statements, questions and answers,
each in the queue's order (when hidden, questions before answers, native id), merged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_

from gateway.domain.errors import InvalidCursor
from gateway.stores.admin_rows import HiddenPost

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.stores.admin_rows import HiddenPost as After


def after(hidden_at: Any, id_: Any, *, answer: bool, cursor: After | None) -> ColumnElement[bool]:
    """The rows of one kind (questions or answers) that come after ``cursor``."""
    if cursor is None:
        return hidden_at.is_not(None)
    try:
        native = int(cursor.id)
    except ValueError:
        raise InvalidCursor(cursor.id) from None
    later = hidden_at > cursor.hidden_at
    same = hidden_at == cursor.hidden_at
    if answer == cursor.answer:
        return or_(later, and_(same, id_ > native))
    if answer:  # every answer hidden then comes after a question hidden then
        return or_(later, same)
    return later


async def merged(
    conn: AsyncConnection, questions: Select[Any], answers: Select[Any], limit: int
) -> list[HiddenPost]:
    """Up to ``limit + 1`` hidden posts in the queue's order from the two statements (each
    selecting ``id`` and ``hidden_at``, already filtered by :func:`after`)."""
    found: list[tuple[Any, bool, int]] = []
    for answer, stmt in ((False, questions), (True, answers)):
        order = stmt.selected_columns
        rows = await conn.execute(stmt.order_by(order.hidden_at, order.id).limit(limit + 1))
        found += [(r.hidden_at, answer, int(r.id)) for r in rows]
    found.sort()
    return [HiddenPost(a, str(i), at) for at, a, i in found[: limit + 1]]
