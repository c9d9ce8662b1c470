"""A principal's memberships are read whole on every call, and made into objects only when
their rows changed (adapters._base.RowsMemo): a change another system makes in the store
counts on the very next read, and an unchanged read hands back the objects made before, so
the compiled scope keyed by them is found again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from adapters._base import RowsMemo
from adapters.community._tables import group_users, users
from adapters.internal._tables import community_memberships, profiles
from gateway.domain.model import StoreName

if TYPE_CHECKING:
    from collections.abc import Sequence


def test_equal_rows_give_back_what_was_made_and_changed_rows_make_anew() -> None:
    made: list[Sequence[Any]] = []

    def make(rows: Sequence[Any]) -> list[int]:
        made.append(rows)
        return [r[0] for r in rows]

    memo: RowsMemo[list[int]] = RowsMemo(size=2)
    first = memo.made("a", [(1, "x"), (2, "y")], make)
    assert memo.made("a", [(1, "x"), (2, "y")], make) is first
    assert memo.made("a", [(1, "x")], make) == [1]  # a row gone
    assert memo.made("a", [(1, "z")], make) == [1]  # a value changed
    assert len(made) == 3
    assert memo.made("b", [(1, "z")], make) == [1]  # another key never shares
    memo.made("c", [], make)  # past its size, the oldest key is forgotten
    memo.made("a", [(1, "z")], make)
    assert len(made) == 6


ERIN = "erin@corp.example"
LATER = datetime(2031, 1, 1, tzinfo=UTC)


async def _change_erins_memberships(store: Any, *, remove: bool) -> None:
    """What an administrator of the store would do there, without the gateway."""
    async with store.engine.begin() as conn:
        if store.name is StoreName.INTERNAL:
            table, person = community_memberships, community_memberships.c.profile_id
            who = select(profiles.c.id).where(profiles.c.email == ERIN).scalar_subquery()
        else:
            table, person = group_users, group_users.c.user_id
            who = select(users.c.id).where(users.c.email == ERIN).scalar_subquery()
        if remove:
            await conn.execute(delete(table).where(person == who))
        else:
            await conn.execute(update(table).where(person == who).values(expires_at=LATER))


async def test_memberships_changed_in_the_store_count_on_the_next_read(store: Any) -> None:
    first = await store.memberships_for(ERIN)
    again = await store.memberships_for(ERIN)
    assert first and again == first
    assert all(a is b for a, b in zip(again, first, strict=True))  # made once
    await _change_erins_memberships(store, remove=False)
    later = await store.memberships_for(ERIN)
    assert {m.expires_at for m in later} == {LATER}
    await _change_erins_memberships(store, remove=True)
    assert await store.memberships_for(ERIN) == []
    assert await store.memberships_for("") == []
