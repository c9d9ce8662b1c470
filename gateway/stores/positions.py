"""Positions in a store's own list orders, as adapters read them (the opaque cursors a
client holds are :mod:`gateway.stores.cursors`, which decode into these)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime  # noqa: TC003  (dataclass fields)


class AtTime(enum.Enum):
    """Which rows with ``created_at`` equal to a cursor's time still come after it."""

    NONE = "none"  # only strictly older rows
    ALL = "all"  # every row at that time, and older
    BELOW_ID = "below_id"  # rows at that time whose native id is smaller, and older


@dataclass(frozen=True, slots=True)
class TimeCursor:
    """A position in ``created_at DESC, id DESC`` order. As ``after``, the rows strictly
    after it are wanted; as ``before``, those strictly before it: every other row but the
    one at the position itself (``at_time`` says which rows at its time come after it)."""

    created_at: datetime
    at_time: AtTime = AtTime.NONE
    id: str | None = None  # the native id, with AtTime.BELOW_ID


@dataclass(frozen=True, slots=True)
class NameCursor:
    """A position in ``name ASC, id ASC`` order; rows strictly after (as ``after``) or
    before (as ``before``) ``(name, id)`` are wanted."""

    name: str
    id: str
